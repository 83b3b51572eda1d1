//! Recall by meaning on the v2 route with the real all-MiniLM-L6-v2: a paraphrase
//! outranks an unrelated ticket under `vector` and `hybrid` (keyword still misses it),
//! the v2 floors (`top_k: -1`'s 0.5 cosine, `radius`, `min_score`), the cookbook's
//! hand-off query finds the customer's episodes, profile items come nearest first, and
//! `/health` says `embed: true`; a v2 cut stores its vectors. Like `embeddings`, these
//! FAIL without the model.

use serde_json::{json, Value};

use crate::common::{test_config, Srv};
use crate::embeddings::{in_dir, vector_rows, with_model, FOLLOW_UP, RELATED, STRAY};
use crate::v2_common::m;

/// One closed v2 ticket: the user's turns answered by the bot, flushed into an episode.
async fn ticket(s: &Srv, user: &str, session: &str, at: i64, turns: &[&str]) {
    let messages: Vec<Value> = turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (sender, role) = if i % 2 == 0 {
                (user, "user")
            } else {
                ("everdesk_bot", "assistant")
            };
            m(
                sender,
                role,
                crate::common::T0 + at * 1000 + i as i64 * 1000,
                t,
            )
        })
        .collect();
    s.v2_add(session, Value::Array(messages), true).await;
    assert_eq!(s.v2_flush(session).await, "extracted");
}

async fn hits(s: &Srv, body: Value) -> Vec<Value> {
    s.v2_search(body).await["episodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sessions(hits: &[Value]) -> Vec<&str> {
    hits.iter()
        .filter_map(|h| h["session_id"].as_str())
        .collect()
}

fn score(hit: &Value) -> f64 {
    hit["score"].as_f64().unwrap()
}

async fn seeded() -> Srv {
    let s = Srv::start_with(with_model(test_config())).await;
    ticket(&s, "u", "related", 0, RELATED).await;
    ticket(&s, "u", "stray", 60, STRAY).await;
    let contract = [
        "Can I get a paper copy of my contract?",
        "I mailed it to you.",
    ];
    ticket(&s, "u", "other", 120, &contract).await;
    s
}

#[tokio::test]
async fn v2_vector_and_hybrid_rank_a_paraphrase_first() {
    let s = seeded().await;
    let q = |method: &str, extra: Value| {
        let mut b = json!({"user_id": "u", "query": FOLLOW_UP, "method": method});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    // BM25 sees only the shared word "link".
    let keyword = hits(&s, q("keyword", json!({"top_k": 10}))).await;
    assert_eq!(sessions(&keyword), ["stray"], "{keyword:?}");

    for method in ["vector", "hybrid", "agentic"] {
        let got = hits(&s, q(method, json!({"top_k": 10}))).await;
        assert_eq!(
            sessions(&got).first(),
            Some(&"related"),
            "{method}: {got:?}"
        );
        assert_eq!(got.len(), 3, "{method}: every episode is a candidate");
        assert!(score(&got[0]) > score(&got[1]) && score(&got[0]) <= 1.0);
    }
    // The paraphrase shares no word with the query, yet hybrid's atomic facts are a list.
    let hybrid = hits(&s, q("hybrid", json!({"top_k": 1}))).await;
    assert!(hybrid[0]["atomic_facts"].is_array(), "{hybrid:?}");

    // top_k: -1 hides hits under a 0.5 cosine; an explicit top_k does not.
    let unlimited = hits(&s, q("vector", json!({"top_k": -1}))).await;
    assert!(unlimited.iter().all(|h| score(h) >= 0.5), "{unlimited:?}");
    assert!(unlimited.len() < 3, "{unlimited:?}");
    // radius is the floor: only the paraphrase is that close.
    let close = hits(&s, q("vector", json!({"top_k": 10, "radius": 0.3}))).await;
    assert_eq!(sessions(&close), ["related"], "{close:?}");
    // min_score cuts hybrid's fused scores.
    let fused = hits(&s, q("hybrid", json!({"top_k": 10}))).await;
    let cut = (score(&fused[0]) + score(&fused[1])) / 2.0;
    let strict = hits(&s, q("hybrid", json!({"top_k": 10, "min_score": cut}))).await;
    assert_eq!(sessions(&strict), ["related"], "{strict:?}");
    // Another customer's tickets are never candidates.
    let nobody =
        json!({"user_id": "someone-else", "query": FOLLOW_UP, "method": "vector", "top_k": 10});
    assert!(hits(&s, nobody).await.is_empty());
}

#[tokio::test]
async fn v2_the_cookbook_hand_off_query_returns_the_customers_episodes() {
    let s = Srv::start_with(with_model(test_config())).await;
    ticket(&s, "cust", "t1", 0, RELATED).await;
    let wifi = [
        "My router drops wifi every evening.",
        "I changed its channel.",
    ];
    ticket(&s, "cust", "t2", 60, &wifi).await;
    let billing = ["I was billed twice in October.", "I refunded one charge."];
    ticket(&s, "other", "t3", 0, &billing).await;
    let body = json!({"user_id": "cust", "query": "issue summary resolution attempts",
                      "method": "vector", "top_k": 10});
    let got = hits(&s, body).await;
    let mut names = sessions(&got);
    names.sort_unstable();
    assert_eq!(names, ["t1", "t2"], "{got:?}");
    assert!(got
        .iter()
        .all(|h| h["user_id"] == "cust" && h["summary"].is_string()));
}

#[tokio::test]
async fn v2_profile_items_come_nearest_first_and_health_says_embed() {
    let mut c = with_model(test_config());
    c.profile_delay = std::time::Duration::ZERO;
    c.profile_lag_episodes = 0;
    let s = Srv::start_with(c).await;
    let turns = [
        "I'm Dana Whitfield, I'm on the Pro plan. Please email me rather than calling.",
        "Noted, we will write to you.",
    ];
    ticket(&s, "u", "t1", 0, &turns).await;
    let profile = |query: &str| {
        json!({"user_id": "u", "query": query, "method": "vector", "top_k": 5,
               "include_profile": true})
    };
    let d = s.v2_search(profile("which subscription tier")).await;
    let explicit = &d["profiles"][0]["profile_data"]["explicit_info"];
    let summary = d["profiles"][0]["profile_data"]["summary"].clone();
    assert!(explicit.as_array().unwrap().len() >= 2, "{d}");
    assert!(
        explicit[0]["description"].as_str().unwrap().contains("Pro"),
        "{explicit}"
    );
    let d = s.v2_search(profile("customer full name")).await;
    let first = d["profiles"][0]["profile_data"]["explicit_info"][0]["description"].clone();
    assert_eq!(
        d["profiles"][0]["profile_data"]["summary"], summary,
        "the summary does not move"
    );
    assert!(
        first.as_str().unwrap().contains("Dana"),
        "{}",
        d["profiles"][0]
    );

    let (_, h) = s.get_path("/health").await;
    assert_eq!(h["capabilities"]["embed"], true, "{h}");
    let (_, h) = Srv::start().await.get_path("/health").await;
    assert_eq!(h["capabilities"]["embed"], false, "{h}");
}

#[tokio::test]
async fn v2_cuts_store_their_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let s = Srv::start_with(in_dir(dir.path())).await;
    let turns = ["I'm Dana Whitfield. Please email me.", "Sure."];
    ticket(&s, "dana", "t1", 0, &turns).await;
    ticket(&s, "dana", "t2", 60, RELATED).await;
    // Embedded at the cut, before any search asked for them.
    let (episodes, profile_items) = vector_rows(dir.path());
    assert_eq!(episodes, 2);
    assert!(
        profile_items >= 2,
        "the facts' vectors too: {profile_items}"
    );
    let body = json!({"user_id": "dana", "query": FOLLOW_UP, "method": "vector", "top_k": 10});
    assert_eq!(sessions(&hits(&s, body).await).first(), Some(&"t2"));
}
