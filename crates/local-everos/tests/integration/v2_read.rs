//! v2 read semantics over real HTTP: search shapes and methods, explicit `top_k`, the
//! filters DSL, get pagination, the profile document and its one-episode lag, index and
//! keyword lag, and v1/v2 over one store.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{convo, eventually, test_config, Srv, BILLING, T0};
use crate::v2_common::{m, ticket};

/// Two tickets of cust_1 (a billing one and a router one) and one of cust_2.
async fn seeded() -> Srv {
    let s = Srv::start().await;
    s.v2_add(
        "b1",
        ticket(
            "cust_1",
            0,
            "I was charged twice for my October invoice.",
            "I opened a refund for the duplicate charge.",
        ),
        true,
    )
    .await;
    s.v2_flush("b1").await;
    s.v2_add(
        "r1",
        ticket(
            "cust_1",
            3600,
            "My zebracorn router keeps rebooting.",
            "Please try a factory reset.",
        ),
        true,
    )
    .await;
    s.v2_flush("r1").await;
    s.v2_add(
        "c2",
        ticket("cust_2", 0, "I was charged twice as well.", "Refunded."),
        true,
    )
    .await;
    s.v2_flush("c2").await;
    s
}

fn ids(eps: &Value) -> Vec<String> {
    eps.as_array()
        .unwrap()
        .iter()
        .map(|e| e["session_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_answers_five_lists_with_the_episode_shape_per_method() {
    let s = seeded().await;
    let q = |method: &str| json!({"user_id": "cust_1", "query": "charged twice refund", "method": method, "top_k": 10});
    let hybrid = s.v2_search(q("hybrid")).await;
    assert_eq!(
        ids(&hybrid["episodes"]),
        vec!["b1"],
        "only the owner's matching episode"
    );
    let e = &hybrid["episodes"][0];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "user_id",
        "app_id",
        "project_id",
        "session_id",
        "timestamp",
        "sender_ids",
        "subject",
        "summary",
        "episode",
        "type",
        "score",
        "atomic_facts",
    ] {
        assert!(keys.contains(&k), "{k} missing in {e}");
    }
    let score = e["score"].as_f64().unwrap();
    assert!(
        score > 0.0 && score < 1.0,
        "fused scores are small: {score}"
    );
    let facts = e["atomic_facts"].as_array().unwrap();
    assert!(!facts.is_empty(), "hybrid nests atomic facts: {e}");
    for f in facts {
        assert!(
            f["id"].is_string() && f["content"].is_string() && f["score"].is_number(),
            "{f}"
        );
    }
    let keyword = s.v2_search(q("keyword")).await;
    assert_eq!(ids(&keyword["episodes"]), vec!["b1"]);
    assert_eq!(
        keyword["episodes"][0]["atomic_facts"],
        json!([]),
        "facts only with hybrid"
    );
    for method in ["vector", "agentic", "llm_multiround"] {
        let d = s.v2_search(q(method)).await;
        assert_eq!(ids(&d["episodes"]), vec!["b1"], "{method}");
        assert_eq!(d["episodes"][0]["atomic_facts"], json!([]), "{method}");
    }
    // An agent owner gets the agent lists (empty here) and never user episodes.
    let d = s
        .v2_search(
            json!({"agent_id": "cust_1", "query": "charged", "method": "keyword", "top_k": 5}),
        )
        .await;
    assert_eq!(d["episodes"], json!([]));
    assert_eq!(d["agent_cases"], json!([]));
}

#[tokio::test]
async fn top_k_cuts_and_unlimited_vector_applies_a_hidden_floor() {
    let s = Srv::start().await;
    // Unrelated episodes make "zebracorn" a rare term.
    for n in 0..20 {
        s.v2_add(
            &format!("o{n}"),
            ticket("cust_2", n, "My printer jams.", "Clean it."),
            true,
        )
        .await;
        s.v2_flush(&format!("o{n}")).await;
    }
    for n in 0..4 {
        let q = format!("Zebracorn zebracorn zebracorn issue {n}.");
        s.v2_add(
            &format!("t{n}"),
            ticket("cust_1", n * 60, &q, "Noted."),
            true,
        )
        .await;
        s.v2_flush(&format!("t{n}")).await;
    }
    let filler = "and then some more words about nothing in particular ".repeat(5);
    let weak = format!("Hello. {filler} and a zebracorn once.");
    s.v2_add("weak", ticket("cust_1", 999, &weak, "ok"), true)
        .await;
    s.v2_flush("weak").await;
    let q = |method: &str, top_k: i64| json!({"user_id": "cust_1", "query": "zebracorn", "method": method, "top_k": top_k});
    let eps = |d: Value| d["episodes"].as_array().cloned().unwrap();
    assert_eq!(eps(s.v2_search(q("hybrid", 2)).await).len(), 2);
    assert_eq!(eps(s.v2_search(q("hybrid", 100)).await).len(), 5);
    let all = eps(s.v2_search(q("vector", 100)).await);
    assert_eq!(all.len(), 5);
    let unlimited = eps(s.v2_search(q("vector", -1)).await);
    let above: Vec<&Value> = all
        .iter()
        .filter(|e| e["score"].as_f64().unwrap() >= 0.5)
        .collect();
    assert!(
        !above.is_empty() && above.len() < all.len(),
        "the data straddles the floor: {all:?}"
    );
    assert_eq!(
        unlimited.len(),
        above.len(),
        "top_k -1 keeps only scores >= 0.5"
    );
    assert!(unlimited.iter().all(|e| e["session_id"] != "weak"));
    let with_radius = s
        .v2_search(json!({"user_id": "cust_1", "query": "zebracorn", "method": "vector", "top_k": -1, "radius": 0.0}))
        .await;
    assert_eq!(eps(with_radius).len(), 5, "an explicit radius wins");
    let floor = s
        .v2_search(json!({"user_id": "cust_1", "query": "zebracorn", "method": "hybrid", "top_k": 10, "min_score": 0.99}))
        .await;
    assert!(eps(floor).is_empty(), "min_score floors hybrid");
    let keyword = eps(s.v2_search(q("keyword", 10)).await);
    assert!(
        keyword[0]["score"].as_f64().unwrap() > all[0]["score"].as_f64().unwrap(),
        "keyword scores are raw BM25, larger than the (0, 1) ones"
    );
}

#[tokio::test]
async fn filters_select_by_session_sender_and_time_with_and_or() {
    let s = seeded().await;
    let search = |filters: Value| json!({"user_id": "cust_1", "query": "charged router refund reset", "method": "keyword", "top_k": 10, "filters": filters});
    let mut all = ids(&s.v2_search(search(json!({}))).await["episodes"]);
    all.sort();
    assert_eq!(all, vec!["b1", "r1"]);
    assert_eq!(
        ids(&s.v2_search(search(json!({"session_id": "r1"}))).await["episodes"]),
        vec!["r1"]
    );
    assert_eq!(
        ids(&s
            .v2_search(search(json!({"session_id": {"in": ["b1", "zz"]}})))
            .await["episodes"]),
        vec!["b1"]
    );
    assert_eq!(
        ids(&s
            .v2_search(search(json!({"timestamp": {"gt": T0 + 60_000}})))
            .await["episodes"]),
        vec!["r1"]
    );
    assert_eq!(
        ids(&s
            .v2_search(search(json!({"timestamp": {"lt": "2026-11-11T13:00:00Z"}})))
            .await["episodes"]),
        vec!["b1"]
    );
    assert_eq!(
        s.v2_search(search(json!({"sender_id": "nobody"}))).await["episodes"],
        json!([])
    );
    let mut both = ids(&s
        .v2_search(search(json!({"sender_id": "everdesk_bot", "OR": [{"session_id": "b1"}, {"session_id": "r1"}]})))
        .await["episodes"]);
    both.sort();
    assert_eq!(both, vec!["b1", "r1"]);
    assert_eq!(
        s.v2_search(search(
            json!({"AND": [{"session_id": "b1"}, {"session_id": "r1"}]})
        ))
        .await["episodes"],
        json!([])
    );
    // The same DSL on get.
    let d = s
        .v2_get(json!({"user_id": "cust_1", "memory_type": "episode", "filters": {"session_id": {"ne": "b1"}}}))
        .await;
    assert_eq!(ids(&d["episodes"]), vec!["r1"]);
}

#[tokio::test]
async fn get_pages_sorts_and_counts() {
    let s = Srv::start().await;
    for n in 0..5 {
        s.v2_add(
            &format!("t{n}"),
            ticket("cust_1", n * 60, "Hello", "Hi"),
            true,
        )
        .await;
        s.v2_flush(&format!("t{n}")).await;
    }
    let page = |p: i64, order: &str| json!({"user_id": "cust_1", "memory_type": "episode", "page": p, "page_size": 2, "sort_order": order});
    let d = s.v2_get(page(1, "desc")).await;
    assert_eq!(
        (d["total_count"].as_i64(), d["count"].as_i64()),
        (Some(5), Some(2))
    );
    assert_eq!(ids(&d["episodes"]), vec!["t4", "t3"]);
    assert_eq!(d["profiles"], json!([]));
    assert!(
        d.get("unprocessed_messages").is_none(),
        "get has four lists: {d}"
    );
    let d = s.v2_get(page(3, "desc")).await;
    assert_eq!(ids(&d["episodes"]), vec!["t0"]);
    assert_eq!(d["count"], 1);
    let d = s.v2_get(page(1, "asc")).await;
    assert_eq!(ids(&d["episodes"]), vec!["t0", "t1"]);
    let e = &d["episodes"][0];
    assert!(
        e.get("score").is_none() && e.get("atomic_facts").is_none(),
        "{e}"
    );
    let d = s
        .v2_get(json!({"agent_id": "a1", "memory_type": "agent_skill"}))
        .await;
    assert_eq!(d["agent_skills"], json!([]));
    assert_eq!(d["total_count"], 0);
}

#[tokio::test]
async fn the_profile_is_one_document_one_episode_behind() {
    let mut c = test_config();
    c.profile_delay = Duration::ZERO;
    let s = Srv::start_with(c).await;
    let first = json!([
        {"sender_id": "cust_pat", "sender_name": "Pat", "role": "user", "timestamp": T0,
         "content": "Hello, my name is Pat Jones and I'm on the Starter plan. My email is pat@example.com."},
        m("bot", "assistant", T0 + 1000, "Welcome, Pat."),
    ]);
    s.v2_add("p1", first, true).await;
    s.v2_flush("p1").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.v2_profile("cust_pat").await,
        None,
        "no profile after the first episode"
    );
    s.v2_add(
        "p2",
        ticket(
            "cust_pat",
            3600,
            "I upgraded to the Business plan.",
            "Great.",
        ),
        true,
    )
    .await;
    s.v2_flush("p2").await;
    let doc = s
        .v2_profile("cust_pat")
        .await
        .expect("a profile after the second episode");
    assert_eq!(doc["id"], "cust_pat");
    assert_eq!(doc["user_id"], "cust_pat");
    let data = &doc["profile_data"];
    let explicit = data["explicit_info"].as_array().unwrap();
    let find = |cat: &str| {
        explicit
            .iter()
            .find(|i| i["category"] == cat)
            .map(|i| i["description"].clone())
    };
    assert_eq!(find("name"), Some(json!("Pat Jones")));
    assert_eq!(find("email"), Some(json!("pat@example.com")));
    assert_eq!(
        find("plan"),
        Some(json!("Starter plan")),
        "the first episode's facts only"
    );
    assert_eq!(data["summary"], "Pat Jones");
    assert_eq!(data["profile_timestamp_ms"], T0 + 1000);
    assert!(data["implicit_traits"].is_array());
    let ev = explicit[0]["evidence"].as_str().unwrap();
    assert!(
        ev.starts_with("On 2026-11-11 12:26:40 Pat said: \""),
        "{ev}"
    );
    // Search returns the same document only with include_profile.
    let q = json!({"user_id": "cust_pat", "query": "plan", "top_k": 5});
    assert_eq!(s.v2_search(q.clone()).await["profiles"], json!([]));
    let mut with = q;
    with["include_profile"] = json!(true);
    let d = s.v2_search(with).await;
    assert_eq!(d["profiles"].as_array().unwrap().len(), 1);
    assert_eq!(d["profiles"][0]["score"], Value::Null);
    assert_eq!(d["profiles"][0]["profile_data"], doc["profile_data"]);
    // A third episode folds in the second: the plan is now Business.
    s.v2_add(
        "p3",
        ticket("cust_pat", 7200, "Thanks again.", "Bye."),
        true,
    )
    .await;
    s.v2_flush("p3").await;
    let doc = s.v2_profile("cust_pat").await.unwrap();
    let plan = doc["profile_data"]["explicit_info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["category"] == "plan")
        .cloned()
        .unwrap();
    assert_eq!(plan["description"], "Business plan");
    // Another user never sees it.
    assert_eq!(s.v2_profile("cust_other").await, None);
}

#[tokio::test]
async fn profile_lag_zero_shows_facts_at_once() {
    let mut c = test_config();
    c.profile_delay = Duration::ZERO;
    c.profile_lag_episodes = 0;
    let s = Srv::start_with(c).await;
    s.v2_add(
        "p1",
        ticket("cust_1", 0, "My name is Dana Whitfield.", "Hi Dana."),
        true,
    )
    .await;
    s.v2_flush("p1").await;
    let doc = s.v2_profile("cust_1").await.expect("at once with lag 0");
    assert_eq!(doc["profile_data"]["summary"], "Dana Whitfield");
}

#[tokio::test]
async fn index_lag_hides_from_search_and_get_keyword_lag_only_from_keyword() {
    let mut c = test_config();
    c.index_lag = Duration::from_millis(500);
    c.keyword_lag = Duration::from_millis(2000);
    let s = Srv::start_with(c).await;
    s.v2_add(
        "t1",
        ticket("cust_1", 0, "Zebracorn router reboots.", "Reset it."),
        true,
    )
    .await;
    assert_eq!(s.v2_flush("t1").await, "extracted");
    let search = |method: &str| json!({"user_id": "cust_1", "query": "zebracorn", "method": method, "top_k": 5});
    let n = |d: Value| d["episodes"].as_array().unwrap().len();
    assert_eq!(n(s.v2_search(search("hybrid")).await), 0, "search lags");
    assert!(
        s.v2_get_episodes("cust_1").await.is_empty(),
        "the v2 get lags too"
    );
    assert!(
        eventually(3000, || async {
            s.v2_get_episodes("cust_1").await.len() == 1
        })
        .await
    );
    assert_eq!(n(s.v2_search(search("hybrid")).await), 1);
    assert_eq!(
        n(s.v2_search(search("keyword")).await),
        0,
        "keyword lags longer"
    );
    assert!(
        eventually(5000, || async {
            n(s.v2_search(search("keyword")).await) == 1
        })
        .await
    );
}

#[tokio::test]
async fn v1_and_v2_share_one_store() {
    let s = Srv::start().await;
    // A v1 add + flush is found by a v2 search and get…
    s.add("cust_1", "v1-ticket", convo("cust_1", BILLING)).await;
    assert_eq!(s.flush("cust_1", "v1-ticket").await, "extracted");
    let hits = s.v2_episodes("cust_1", "charged twice").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["session_id"], "v1-ticket");
    assert_eq!(s.v2_get_episodes("cust_1").await.len(), 1);
    // …and a v2 episode by the v1 search and get of the same user.
    s.v2_add(
        "v2-ticket",
        ticket("cust_1", 600, "My zebracorn router reboots.", "Reset it."),
        true,
    )
    .await;
    s.v2_flush("v2-ticket").await;
    let v1 = s.episodes("cust_1", "zebracorn").await;
    assert_eq!(v1.len(), 1);
    assert_eq!(v1[0]["session_id"], "v2-ticket");
    assert_eq!(s.get_episodes("cust_1").await["total_count"], 2);
    // Buffers stay apart: a v1 buffer is not a v2 session's unprocessed message.
    s.add(
        "cust_1",
        "shared-id",
        convo("cust_1", &["still buffered in v1"]),
    )
    .await;
    assert!(s.v2_unprocessed("cust_1", "shared-id").await.is_empty());
}
