//! Extraction over HTTP: profile facts from user turns only, the whole-profile `get`
//! shape, and the optional LLM with its deterministic fallback.

use std::time::Duration;

use crate::common::{convo, test_config, user_msg, Srv, T0};
use axum::routing::post;
use axum::{Json, Router};
use local_everos::LlmConfig;
use serde_json::{json, Value};

fn instant_profiles() -> local_everos::Config {
    let mut c = test_config();
    c.profile_delay = Duration::ZERO;
    c
}

#[tokio::test]
async fn profile_items_come_from_user_turns_only() {
    let s = Srv::start_with(instant_profiles()).await;
    s.add("u", "t1", convo("u", &[
        "My printer is jammed.",
        "I'm Robert from support. Email me at robert@support.example if it happens again. I prefer short tickets.",
    ]))
    .await;
    s.flush("u", "t1").await;
    let texts: Vec<String> = s
        .profiles("u", "printer")
        .await
        .iter()
        .map(|p| p["profile_data"]["embed_text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        texts.contains(&"Product/device: printer".to_owned()),
        "{texts:?}"
    );
    assert!(
        texts.iter().all(|t| !t.contains("Robert")
            && !t.contains("robert@")
            && !t.contains("short tickets")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn get_profile_returns_the_whole_profile() {
    let s = Srv::start_with(instant_profiles()).await;
    s.add("u", "t1", user_msg("Hi, my name is Dana Whitfield. I'm on the Enterprise plan and I prefer email over phone.", T0)).await;
    s.flush("u", "t1").await;
    let (_, b) = s
        .post(
            "/api/v1/memories/get",
            json!({"memory_type": "profile", "filters": {"user_id": "u"}}),
        )
        .await;
    let d = &b["data"];
    assert_eq!(d["total_count"], 1);
    assert_eq!(d["episodes"], json!([]));
    let p = &d["profiles"][0];
    assert_eq!(p["user_id"], "u");
    assert_eq!(p["memcell_count"], 1);
    assert_eq!(p["profile_data"]["explicit_info"]["Name"], "Dana Whitfield");
    assert_eq!(
        p["profile_data"]["explicit_info"]["Plan"],
        "Enterprise plan"
    );
    assert!(
        p["profile_data"]["implicit_traits"]["Preference"]
            .as_str()
            .unwrap()
            .contains("prefer email"),
        "{p}"
    );
}

#[tokio::test]
async fn profiles_returned_even_without_overlap_ranked_by_overlap() {
    let s = Srv::start_with(instant_profiles()).await;
    s.add(
        "u",
        "t1",
        user_msg(
            "I'm Dana Whitfield, my email is dana@example.com and my iPad 9 is broken.",
            T0,
        ),
    )
    .await;
    s.flush("u", "t1").await;
    let all = s.profiles("u", "zzz unrelated").await;
    assert_eq!(all.len(), 3, "all items even with no overlap");
    assert_eq!(all[0]["memcell_count"], 1);
    assert_eq!(all[0]["scenario"], "solo");
    let ranked = s.profiles("u", "what is the email").await;
    assert!(
        ranked[0]["profile_data"]["embed_text"]
            .as_str()
            .unwrap()
            .starts_with("Email"),
        "{ranked:?}"
    );
    assert!(ranked.iter().all(|p| p["score"].as_f64().unwrap() > 0.0));
}

async fn fake_llm(answer: Value) -> std::io::Result<String> {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let content = answer.to_string();
            async move {
                Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1"))
}

#[tokio::test]
async fn llm_extraction_is_used_when_it_answers() {
    let base_url = fake_llm(json!({
        "subject": "Duplicate charge refunded", "summary": "Customer was charged twice; support refunded.",
        "episode": "The customer reported a duplicate charge.",
        "profile": [{"item_type": "explicit_info", "label": "Plan", "value": "Team plan"}]
    }))
    .await
    .unwrap();
    let mut c = instant_profiles();
    c.llm = Some(LlmConfig {
        base_url,
        api_key: "k".into(),
        model: "m".into(),
    });
    let s = Srv::start_with(c).await;
    s.add("u", "t1", convo("u", &["I was charged twice", "Refunded."]))
        .await;
    s.flush("u", "t1").await;
    let ep = s.get_episodes("u").await["episodes"][0].clone();
    assert_eq!(ep["subject"], "Duplicate charge refunded");
    assert_eq!(
        s.profiles("u", "plan").await[0]["profile_data"]["embed_text"],
        "Plan: Team plan"
    );
}

#[tokio::test]
async fn llm_failure_falls_back_to_deterministic() {
    let mut c = instant_profiles();
    c.llm = Some(LlmConfig {
        base_url: "http://127.0.0.1:1/v1".into(),
        api_key: "k".into(),
        model: "m".into(),
    });
    let s = Srv::start_with(c).await;
    s.add(
        "u",
        "t1",
        convo("u", &["My router keeps dropping wifi.", "Try a reboot."]),
    )
    .await;
    assert_eq!(s.flush("u", "t1").await, "extracted");
    let ep = s.get_episodes("u").await["episodes"][0].clone();
    assert!(
        ep["subject"]
            .as_str()
            .unwrap()
            .starts_with("My router keeps dropping wifi"),
        "{ep}"
    );
    let garbage = fake_llm(json!("not the object we asked for"))
        .await
        .unwrap();
    let mut c = instant_profiles();
    c.llm = Some(LlmConfig {
        base_url: garbage,
        api_key: "k".into(),
        model: "m".into(),
    });
    let s = Srv::start_with(c).await;
    s.add("u", "t1", user_msg("My iPhone 15 will not charge.", T0))
        .await;
    s.flush("u", "t1").await;
    assert!(s.get_episodes("u").await["episodes"][0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("My iPhone 15 will not charge"));
}

#[tokio::test]
async fn llm_closing_brace_before_opening_falls_back() {
    for content in ["} no object here {", "}{", "}"] {
        let odd = fake_llm(json!(content)).await.unwrap();
        let mut c = instant_profiles();
        c.llm = Some(LlmConfig {
            base_url: odd,
            api_key: "k".into(),
            model: "m".into(),
        });
        let s = Srv::start_with(c).await;
        s.add("u", "t1", user_msg("My printer jams on every page.", T0))
            .await;
        assert_eq!(s.flush("u", "t1").await, "extracted", "{content}");
        assert!(s.get_episodes("u").await["episodes"][0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("My printer jams on every page"));
    }
}
