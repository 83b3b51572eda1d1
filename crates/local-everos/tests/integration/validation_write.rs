//! One test per validation rule of §3.1–3.2 (add, flush), over real HTTP.
//! Each sends one invalid body and expects the status; a valid twin proves the rule is
//! what rejects it.

use crate::common::{check, with, without, T0};
use serde_json::{json, Value};

const ADD: &str = "/api/v1/memories";
const FLUSH: &str = "/api/v1/memories/flush";

fn add_body(msg: Value) -> Value {
    json!({"user_id": "u", "session_id": "s", "messages": [msg]})
}

fn msg() -> Value {
    json!({"role": "user", "timestamp": T0, "content": "hello"})
}

#[tokio::test]
async fn add_user_id_required() {
    check(
        ADD,
        without(add_body(msg()), "user_id"),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_user_id_non_empty() {
    check(
        ADD,
        with(add_body(msg()), "user_id", json!("")),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_messages_required() {
    check(
        ADD,
        without(add_body(msg()), "messages"),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_messages_at_least_one() {
    check(
        ADD,
        with(add_body(msg()), "messages", json!([])),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_messages_at_most_500() {
    let many = |n: i64| {
        Value::Array(
            (0..n)
                .map(|i| json!({"role": "user", "timestamp": T0 + i, "content": "x"}))
                .collect(),
        )
    };
    check(
        ADD,
        with(add_body(msg()), "messages", many(501)),
        422,
        with(add_body(msg()), "messages", many(500)),
    )
    .await;
}

#[tokio::test]
async fn add_role_user_or_assistant() {
    check(
        ADD,
        add_body(with(msg(), "role", json!("tool"))),
        422,
        add_body(with(msg(), "role", json!("assistant"))),
    )
    .await;
}

#[tokio::test]
async fn add_timestamp_required() {
    check(
        ADD,
        add_body(without(msg(), "timestamp")),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_timestamp_positive() {
    check(
        ADD,
        add_body(with(msg(), "timestamp", json!(0))),
        422,
        add_body(msg()),
    )
    .await;
    check(
        ADD,
        add_body(with(msg(), "timestamp", json!(-5))),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_timestamp_integer() {
    check(
        ADD,
        add_body(with(msg(), "timestamp", json!("1794400000000"))),
        422,
        add_body(msg()),
    )
    .await;
    check(
        ADD,
        add_body(with(msg(), "timestamp", json!(1.5))),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_content_non_empty_string() {
    check(
        ADD,
        add_body(with(msg(), "content", json!(""))),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_content_non_empty_array() {
    let good = add_body(with(
        msg(),
        "content",
        json!([{"type": "text", "text": "hi"}]),
    ));
    check(ADD, add_body(with(msg(), "content", json!([]))), 422, good).await;
}

#[tokio::test]
async fn add_content_required() {
    check(
        ADD,
        add_body(without(msg(), "content")),
        422,
        add_body(msg()),
    )
    .await;
}

#[tokio::test]
async fn add_content_item_type_known() {
    let good = add_body(with(
        msg(),
        "content",
        json!([{"type": "text", "text": "hi"}]),
    ));
    check(
        ADD,
        add_body(with(
            msg(),
            "content",
            json!([{"type": "video", "text": "hi"}]),
        )),
        422,
        good,
    )
    .await;
}

#[tokio::test]
async fn add_session_minus_one_reserved() {
    check(
        ADD,
        with(add_body(msg()), "session_id", json!("-1")),
        422,
        without(add_body(msg()), "session_id"),
    )
    .await;
}

#[tokio::test]
async fn add_gen_prefixed_ids_reserved() {
    check(
        ADD,
        with(add_body(msg()), "session_id", json!("gen_x")),
        422,
        add_body(msg()),
    )
    .await;
    check(
        ADD,
        add_body(with(msg(), "message_id", json!("gen_msg_1"))),
        422,
        add_body(with(msg(), "message_id", json!("m1"))),
    )
    .await;
    let asst = json!({"role": "assistant", "timestamp": T0, "content": "hi"});
    check(
        ADD,
        add_body(with(asst.clone(), "sender_id", json!("gen_sdr_1"))),
        422,
        add_body(with(asst, "sender_id", json!("agent_1"))),
    )
    .await;
}

#[tokio::test]
async fn add_user_sender_must_equal_user_id() {
    check(
        ADD,
        add_body(with(msg(), "sender_id", json!("other"))),
        422,
        add_body(with(msg(), "sender_id", json!("u"))),
    )
    .await;
}

#[tokio::test]
async fn add_assistant_sender_must_not_equal_user_id() {
    let asst = json!({"role": "assistant", "timestamp": T0, "content": "hi"});
    check(
        ADD,
        add_body(with(asst.clone(), "sender_id", json!("u"))),
        422,
        add_body(asst),
    )
    .await;
}

#[tokio::test]
async fn add_async_mode_boolean() {
    check(
        ADD,
        with(add_body(msg()), "async_mode", json!("yes")),
        422,
        with(add_body(msg()), "async_mode", json!(false)),
    )
    .await;
}

#[tokio::test]
async fn flush_user_id_required() {
    check(
        FLUSH,
        json!({"session_id": "s"}),
        422,
        json!({"user_id": "u", "session_id": "s"}),
    )
    .await;
}

#[tokio::test]
async fn flush_session_minus_one_reserved() {
    check(
        FLUSH,
        json!({"user_id": "u", "session_id": "-1"}),
        422,
        json!({"user_id": "u"}),
    )
    .await;
}
