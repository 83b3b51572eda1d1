//! v2 write semantics over real HTTP: buffering and the session-filter leak, flush,
//! sender ownership and fan-out, episode ids, the same-millisecond drop and the duplicate
//! on resend, async adds and queued flushes, seconds timestamps, hard limits.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{eventually, Srv, T0};
use crate::v2_common::{data, m, ticket};

#[tokio::test]
async fn buffered_messages_show_only_by_session_filter_and_leak_to_anyone() {
    let s = Srv::start().await;
    let msgs = json!([
        {"sender_id": "cust_dana", "sender_name": "Dana", "role": "user", "timestamp": T0 + 123,
         "content": "My card 4111 1111 1111 1111 was charged twice."},
        m("everdesk_bot", "assistant", T0 + 1000, "Let me check."),
    ]);
    let d = s.v2_add("t-dana", msgs, true).await;
    assert_eq!(d, json!({"message_count": 2, "status": "accumulated"}));
    // Not a memory: no episode by search or get, no profile.
    let d = s
        .v2_search(json!({"user_id": "cust_dana", "query": "charged twice", "top_k": 10, "include_profile": true}))
        .await;
    assert_eq!(d["episodes"], json!([]));
    assert_eq!(d["profiles"], json!([]));
    assert_eq!(
        d["unprocessed_messages"],
        json!([]),
        "only with the session filter"
    );
    assert!(s.v2_get_episodes("cust_dana").await.is_empty());
    // With the session filter: the buffered turns, the owner's and the bot's…
    let own = s.v2_unprocessed("cust_dana", "t-dana").await;
    assert_eq!(own.len(), 2);
    assert_eq!(
        own[0],
        json!({"id": format!("m_t-dana_{}_000", T0 + 123), "app_id": "default", "project_id": "default",
               "session_id": "t-dana", "sender_id": "cust_dana", "sender_name": "Dana", "role": "user",
               "content": "My card 4111 1111 1111 1111 was charged twice.",
               "timestamp": "2026-11-11T12:26:40.123000Z", "tool_calls": null, "tool_call_id": null})
    );
    assert_eq!(own[1]["sender_name"], Value::Null);
    assert_eq!(own[1]["timestamp"], "2026-11-11T12:26:41Z");
    // …and to anyone who names the session: the real server's leak, reproduced.
    let leaked = s.v2_unprocessed("cust_mallory", "t-dana").await;
    assert_eq!(leaked, own);
    // Compound session filters do not trigger it.
    let d = s
        .v2_search(json!({"user_id": "cust_mallory", "query": "x", "top_k": 5,
                          "filters": {"session_id": {"eq": "t-dana"}}}))
        .await;
    assert_eq!(d["unprocessed_messages"], json!([]));

    assert_eq!(s.v2_flush("t-dana").await, "extracted");
    assert!(s.v2_unprocessed("cust_dana", "t-dana").await.is_empty());
    assert_eq!(s.v2_flush("t-dana").await, "no_extraction");
    assert_eq!(s.v2_flush("never-seen").await, "no_extraction");
    let eps = s.v2_get_episodes("cust_dana").await;
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["sender_ids"], json!(["cust_dana", "everdesk_bot"]));
}

#[tokio::test]
async fn user_turns_confer_ownership_and_co_senders_get_each_others_words() {
    let s = Srv::start().await;
    let msgs = json!([
        m("alice", "user", T0, "My zebracorn router reboots nightly."),
        m(
            "bob",
            "user",
            T0 + 1000,
            "My quokka printer jams on every page."
        ),
        m("bot", "assistant", T0 + 2000, "Both noted."),
    ]);
    s.v2_add("shared", msgs, true).await;
    assert_eq!(s.v2_flush("shared").await, "extracted");
    for (user, other) in [("alice", "quokka"), ("bob", "zebracorn")] {
        let eps = s.v2_get_episodes(user).await;
        assert_eq!(eps.len(), 1, "{user}");
        let text = eps[0]["episode"].as_str().unwrap();
        assert!(
            text.contains(other),
            "{user}'s episode holds the other's words: {text}"
        );
        assert_eq!(eps[0]["user_id"], user);
        assert_eq!(eps[0]["sender_ids"], json!(["alice", "bob", "bot"]));
        let hits = s.v2_episodes(user, other).await;
        assert_eq!(hits.len(), 1, "searchable by the other's words");
        assert_eq!(hits[0]["user_id"], user, "never another user's episode");
    }
    // The assistant owns nothing, whatever its sender id.
    assert!(s.v2_get_episodes("bot").await.is_empty());
    assert!(s.v2_episodes("bot", "zebracorn").await.is_empty());
    // An assistant-only buffer flushes as extracted but makes no episode.
    s.v2_add(
        "bot-only",
        json!([m("alice", "assistant", T0, "Hello?")]),
        true,
    )
    .await;
    assert_eq!(s.v2_flush("bot-only").await, "extracted");
    assert_eq!(s.v2_get_episodes("alice").await.len(), 1);
}

#[tokio::test]
async fn episode_ids_count_per_user_and_day() {
    let s = Srv::start().await;
    for n in 0..2 {
        s.v2_add(
            &format!("t{n}"),
            ticket("cust_1", n * 60, "Router broken.", "Reset it."),
            true,
        )
        .await;
        assert_eq!(s.v2_flush(&format!("t{n}")).await, "extracted");
    }
    let mut ids: Vec<String> = s
        .v2_get_episodes("cust_1")
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let date = ids[0]
        .strip_prefix("cust_1_ep_")
        .and_then(|r| r.split('_').next())
        .unwrap()
        .to_owned();
    assert_eq!(date.len(), 8, "{ids:?}");
    assert!(date.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        ids,
        vec![
            format!("cust_1_ep_{date}_00000001"),
            format!("cust_1_ep_{date}_00000002")
        ]
    );
    let e = &s.v2_get_episodes("cust_1").await[0];
    assert_eq!(
        e["timestamp"], "2026-11-11T12:27:41Z",
        "the last message, to the second"
    );
    assert_eq!(e["type"], "Conversation");
}

#[tokio::test]
async fn same_millisecond_resend_is_dropped_while_buffered_and_duplicated_after_flush() {
    let s = Srv::start().await;
    let first = json!([m("cust_1", "user", T0, "I was charged twice for October.")]);
    let same_ts = json!([m(
        "cust_1",
        "user",
        T0,
        "A different message, same millisecond."
    )]);
    s.v2_add("t1", first.clone(), true).await;
    let d = s.v2_add("t1", same_ts, true).await;
    assert_eq!(
        d,
        json!({"message_count": 1, "status": "accumulated"}),
        "answered 200…"
    );
    let buffered = s.v2_unprocessed("cust_1", "t1").await;
    assert_eq!(buffered.len(), 1, "…but silently dropped");
    assert_eq!(buffered[0]["content"], "I was charged twice for October.");
    // The index is part of the id: the same timestamp at another index is kept.
    s.v2_add(
        "t1",
        json!([
            m("cust_1", "user", T0 + 5, "x"),
            m("cust_1", "user", T0, "kept")
        ]),
        true,
    )
    .await;
    assert_eq!(s.v2_unprocessed("cust_1", "t1").await.len(), 3);
    assert_eq!(s.v2_flush("t1").await, "extracted");
    // Re-sending the first batch after the flush makes a second episode.
    s.v2_add("t1", first, true).await;
    assert_eq!(s.v2_flush("t1").await, "extracted");
    let eps = s.v2_get_episodes("cust_1").await;
    assert_eq!(eps.len(), 2, "duplicate episode");
    assert!(eps
        .iter()
        .all(|e| e["episode"].as_str().unwrap().contains("charged twice")));
}

#[tokio::test]
async fn async_add_is_queued_and_queues_the_sessions_later_calls() {
    let mut c = crate::common::test_config();
    c.async_delay = Duration::from_millis(500);
    let s = Srv::start_with(c).await;
    let body = json!({"session_id": "t1", "async_mode": true, "defer_extraction": true,
                      "messages": ticket("cust_1", 0, "Refund my duplicate charge.", "Done.")});
    let (st, b) = s.post("/api/v2/memory/add", body).await;
    let d = data(st, &b, 202);
    assert_eq!(
        d,
        json!({"status": "queued", "message_count": 2, "pending": 1})
    );
    let task = b["request_id"].as_str().unwrap().to_owned();
    let (st, t) = s.get_path(&format!("/api/v2/tasks/{task}")).await;
    let t = data(st, &t, 200);
    assert_eq!(t["id"], task.as_str());
    assert_eq!(t["task_type"], "memory_add");
    assert!(
        ["queued", "processing"].contains(&t["status"].as_str().unwrap()),
        "{t}"
    );
    assert_eq!(t["finished_at"], Value::Null);
    assert!(
        s.v2_unprocessed("cust_1", "t1").await.is_empty(),
        "not buffered yet"
    );
    // A sync add of that session is queued behind it (never runs ahead)…
    let (st, b) = s
        .post(
            "/api/v2/memory/add",
            json!({"session_id": "t1", "defer_extraction": true,
                   "messages": [m("cust_1", "user", T0 + 5000, "One more thing.")]}),
        )
        .await;
    assert_eq!(data(st, &b, 202)["pending"], 2);
    // …and so is a flush.
    let (st, b) = s
        .post("/api/v2/memory/flush", json!({"session_id": "t1"}))
        .await;
    let d = data(st, &b, 202);
    assert_eq!(
        d,
        json!({"status": "queued", "message_count": 0, "pending": 3})
    );
    let flush_task = b["request_id"].as_str().unwrap().to_owned();
    // Another session is not held up.
    assert_eq!(
        s.v2_add("t2", ticket("cust_2", 0, "Hi", "Hello"), true)
            .await["status"],
        "accumulated"
    );
    let path = format!("/api/v2/tasks/{flush_task}");
    assert!(
        eventually(5000, || async {
            s.get_path(&path).await.1["data"]["status"] == "success"
        })
        .await
    );
    let (_, t) = s.get_path(&path).await;
    assert_eq!(t["data"]["task_type"], "memory_flush");
    assert!(t["data"]["finished_at"].is_string());
    let (_, t) = s.get_path(&format!("/api/v2/tasks/{task}")).await;
    assert_eq!(t["data"]["status"], "success");
    let eps = s.v2_get_episodes("cust_1").await;
    assert_eq!(eps.len(), 1, "the flush ran after both adds");
    assert!(eps[0]["episode"]
        .as_str()
        .unwrap()
        .contains("One more thing"));
    // With nothing pending, a sync flush answers inline again.
    assert_eq!(s.v2_flush("t1").await, "no_extraction");
}

#[tokio::test]
async fn seconds_timestamps_are_detected_and_keep_their_raw_id() {
    let s = Srv::start().await;
    let secs = T0 / 1000;
    s.v2_add(
        "t1",
        json!([m("cust_1", "user", secs, "Seconds, not ms.")]),
        true,
    )
    .await;
    let b = s.v2_unprocessed("cust_1", "t1").await;
    assert_eq!(b[0]["id"], format!("m_t1_{secs}_000"));
    assert_eq!(b[0]["timestamp"], "2026-11-11T12:26:40Z");
    s.v2_flush("t1").await;
    let d = s
        .v2_get(json!({"user_id": "cust_1", "memory_type": "episode",
                       "filters": {"timestamp": {"gte": T0, "lte": "2026-11-11T12:26:40Z"}}}))
        .await;
    assert_eq!(d["total_count"], 1);
}

#[tokio::test]
async fn a_non_deferred_add_cuts_at_the_hard_limit_and_needs_a_user_turn() {
    let s = Srv::start().await;
    let bot: Vec<Value> = (0..500)
        .map(|i| m("bot", "assistant", T0 + i, "note"))
        .collect();
    let d = s.v2_add("t1", Value::Array(bot), false).await;
    assert_eq!(d["status"], "accumulated", "no user turn: stays buffered");
    let user: Vec<Value> = (0..500)
        .map(|i| m("cust_1", "user", T0 + 1000 + i, "line"))
        .collect();
    let d = s.v2_add("t2", Value::Array(user.clone()), false).await;
    assert_eq!(d["status"], "extracted", "500 messages force a cut");
    assert_eq!(s.v2_get_episodes("cust_1").await.len(), 1);
    let d = s.v2_add("t3", Value::Array(user), true).await;
    assert_eq!(d["status"], "accumulated", "defer_extraction never cuts");
    let (st, _) = s
        .post(
            "/api/v2/memory/add",
            json!({"session_id": "t4", "messages": [m("c", "user", T0, "x")], "surprise": 1}),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::OK,
        "unknown add keys are ignored, as on the real server"
    );
}
