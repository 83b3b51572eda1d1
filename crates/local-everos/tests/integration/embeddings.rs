//! Recall by meaning with the real all-MiniLM-L6-v2 (fetched by `scripts/setup`): a
//! paraphrase outranks a ticket that only shares a stray word, the cookbook's hand-off
//! query finds the customer's episodes, profile facts rank by meaning, vectors survive
//! a restart and go with their rows. These tests FAIL without the model: a missing model
//! must not pass as "embeddings work".

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{convo, test_config, Srv};
use local_everos::{AppState, Config, Storage};
use serde_json::{json, Value};

/// The model directory: `$LOCAL_EVEROS_EMBEDDING_MODEL`, else the cache `scripts/setup`
/// fills. Panics (failing the test) when neither holds the model.
pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("LOCAL_EVEROS_EMBEDDING_MODEL")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(local_everos::embed::default_model_dir)
        .expect("no LOCAL_EVEROS_EMBEDDING_MODEL and no home directory for the model cache");
    assert!(
        local_everos::embed::looks_like_model(&dir),
        "the all-MiniLM-L6-v2 model is not in {}: run scripts/setup (it fetches it), \
         or point LOCAL_EVEROS_EMBEDDING_MODEL at a model directory",
        dir.display()
    );
    dir
}

pub fn with_model(mut c: Config) -> Config {
    c.embedding_model = Some(model_dir());
    c
}

pub fn in_dir(dir: &Path) -> Config {
    let mut c = with_model(test_config());
    c.storage = Storage::DataDir(dir.to_path_buf());
    c.profile_delay = Duration::ZERO;
    c
}

pub const RELATED: &[&str] = &[
    "I asked to reset my password three times but the reset email does not arrive.",
    "I re-sent the password reset message and whitelisted our sender domain.",
];
pub const STRAY: &[&str] = &[
    "The referral link on my dashboard gives a 404 error.",
    "The referral page was moved; I sent you the new link.",
];
pub const FOLLOW_UP: &str = "the recovery link never reached my inbox";

async fn ticket(s: &Srv, user: &str, session: &str, turns: &[&str]) {
    s.add(user, session, convo(user, turns)).await;
    assert_eq!(s.flush(user, session).await, "extracted");
}

async fn ranked(s: &Srv, user: &str, query: &str, method: &str, extra: Value) -> Vec<Value> {
    let mut body = json!({"query": query, "method": method, "memory_types": ["episodic_memory"],
                          "filters": {"user_id": user}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    s.search(body).await["episodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sessions(hits: &[Value]) -> Vec<&str> {
    hits.iter()
        .filter_map(|h| h["session_id"].as_str())
        .collect()
}

/// Opens the server's database beside it (WAL allows a second reader).
pub fn vector_rows(dir: &Path) -> (i64, i64) {
    let c = rusqlite::Connection::open(dir.join("local-everos.sqlite3")).unwrap();
    c.query_row(
        "SELECT (SELECT COUNT(*) FROM episode_vectors), (SELECT COUNT(*) FROM profile_vectors)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[tokio::test]
async fn a_paraphrase_outranks_a_stray_shared_word() {
    let s = Srv::start_with(with_model(test_config())).await;
    ticket(&s, "u", "related", RELATED).await;
    ticket(&s, "u", "stray", STRAY).await;
    ticket(
        &s,
        "u",
        "other",
        &[
            "Can I get a paper copy of my contract?",
            "I mailed it to you.",
        ],
    )
    .await;

    // BM25 sees only the shared word "link": the paraphrase is not even a keyword hit.
    let keyword = ranked(&s, "u", FOLLOW_UP, "keyword", json!({})).await;
    assert_eq!(sessions(&keyword), ["stray"], "{keyword:?}");

    for method in ["vector", "hybrid", "agentic"] {
        let hits = ranked(&s, "u", FOLLOW_UP, method, json!({})).await;
        assert_eq!(
            sessions(&hits).first(),
            Some(&"related"),
            "{method}: {hits:?}"
        );
        assert_eq!(hits.len(), 3, "{method}: every episode has a vector");
        let (top, next) = (
            hits[0]["score"].as_f64().unwrap(),
            hits[1]["score"].as_f64().unwrap(),
        );
        assert!(top > next && top <= 1.0, "{method}: {top} vs {next}");
    }
    // radius is a similarity floor: only the paraphrase is that close.
    let close = ranked(&s, "u", FOLLOW_UP, "vector", json!({"radius": 0.3})).await;
    assert_eq!(sessions(&close), ["related"], "{close:?}");
    // The same text is its own nearest neighbour, at cosine 1.
    let same = ranked(&s, "u", STRAY[0], "vector", json!({"top_k": 1})).await;
    assert_eq!(sessions(&same), ["stray"]);
    // Another customer's tickets are never candidates.
    assert!(ranked(&s, "someone-else", FOLLOW_UP, "vector", json!({}))
        .await
        .is_empty());
}

#[tokio::test]
async fn the_cookbook_hand_off_query_returns_the_customers_episodes() {
    let s = Srv::start_with(with_model(test_config())).await;
    ticket(&s, "cust", "t1", RELATED).await;
    ticket(
        &s,
        "cust",
        "t2",
        &[
            "My router drops wifi every evening.",
            "I changed its channel.",
        ],
    )
    .await;
    ticket(
        &s,
        "other",
        "t3",
        &["I was billed twice in October.", "I refunded one charge."],
    )
    .await;
    let hits = ranked(
        &s,
        "cust",
        "issue summary resolution attempts",
        "vector",
        json!({"top_k": 10}),
    )
    .await;
    let mut got = sessions(&hits);
    got.sort_unstable();
    assert_eq!(got, ["t1", "t2"], "{hits:?}");
    assert!(hits
        .iter()
        .all(|h| h["user_id"] == "cust" && h["summary"].is_string()));
}

#[tokio::test]
async fn profile_items_rank_by_meaning() {
    let mut c = with_model(test_config());
    c.profile_delay = Duration::ZERO;
    let s = Srv::start_with(c).await;
    let turns = [
        "I'm Dana Whitfield, I'm on the Pro plan. Please email me rather than calling.",
        "Noted, we will write to you.",
    ];
    ticket(&s, "u", "t1", &turns).await;
    let items = s
        .profiles("u", "how does the customer want to be contacted")
        .await;
    assert!(items.len() >= 3, "{items:?}");
    let top = items[0]["profile_data"]["embed_text"].as_str().unwrap();
    assert!(top.starts_with("Preference: Please email me"), "{items:?}");
    let items = s.profiles("u", "which subscription tier").await;
    assert_eq!(
        items[0]["profile_data"]["embed_text"], "Plan: Pro plan",
        "{items:?}"
    );
}

#[tokio::test]
async fn vectors_survive_a_restart_and_go_with_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = Srv::start_with(in_dir(dir.path())).await;
    let turns = ["I'm Dana Whitfield. Please email me.", "Sure."];
    ticket(&s, "dana", "t1", &turns).await;
    ticket(&s, "dana", "t2", RELATED).await;
    ticket(&s, "sam", "t3", STRAY).await;
    let before = ranked(&s, "dana", FOLLOW_UP, "vector", json!({})).await;
    s.running.shutdown().await;
    let (episodes, profile_items) = vector_rows(dir.path());
    assert_eq!(episodes, 3, "one vector per episode, stored at the cut");
    assert!(
        profile_items >= 2,
        "the facts' vectors too: {profile_items}"
    );

    let s = Srv::start_with(in_dir(dir.path())).await;
    let after = ranked(&s, "dana", FOLLOW_UP, "vector", json!({})).await;
    assert_eq!(before, after, "same vectors, same ranking");
    assert_eq!(vector_rows(dir.path()).0, 3, "nothing re-embedded");

    // Deleting one episode removes its vector; deleting a user removes all of theirs.
    let id = after[0]["id"].as_str().unwrap().to_owned();
    s.expect("/api/v1/memories/delete", json!({"memory_id": id}), 204)
        .await;
    assert_eq!(vector_rows(dir.path()).0, 2);
    s.expect("/api/v1/memories/delete", json!({"user_id": "dana"}), 204)
        .await;
    assert_eq!(
        vector_rows(dir.path()),
        (1, 0),
        "only sam's episode vector is left"
    );
    assert_eq!(
        sessions(&ranked(&s, "sam", FOLLOW_UP, "vector", json!({})).await),
        ["t3"]
    );
}

#[tokio::test]
async fn rows_written_without_the_model_get_vectors_at_the_next_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut plain = in_dir(dir.path());
    plain.embedding_model = None;
    let s = Srv::start_with(plain).await;
    ticket(&s, "u", "related", RELATED).await;
    ticket(&s, "u", "stray", STRAY).await;
    // Without a model, vector search is BM25: the paraphrase is missed.
    let bm25 = ranked(&s, "u", FOLLOW_UP, "vector", json!({})).await;
    assert_eq!(sessions(&bm25), ["stray"]);
    s.running.shutdown().await;
    assert_eq!(vector_rows(dir.path()).0, 0);

    let s = Srv::start_with(in_dir(dir.path())).await;
    let hits = ranked(&s, "u", FOLLOW_UP, "vector", json!({})).await;
    assert_eq!(sessions(&hits), ["related", "stray"]);
    assert_eq!(vector_rows(dir.path()).0, 2);
}

#[test]
fn an_unloadable_model_leaves_embeddings_off() {
    let mut c = Config::in_memory("k");
    assert!(!AppState::new(c.clone()).unwrap().embeddings_enabled());
    c.embedding_model = Some(PathBuf::from("/nonexistent/all-MiniLM-L6-v2"));
    assert!(!AppState::new(c.clone()).unwrap().embeddings_enabled());
    c.embedding_model = Some(model_dir());
    assert!(AppState::new(c).unwrap().embeddings_enabled());
}

/// Requests that queue up behind a busy model thread are embedded together; each still
/// gets its own vectors, in order, the same (to rounding) as when embedded alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_embedded_together_get_their_own_vectors() {
    let embedder = local_everos::embed::Embedder::start(&model_dir()).unwrap();
    let texts: Vec<String> = [FOLLOW_UP, RELATED[0], STRAY[0], RELATED[1], STRAY[1]]
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    let mut alone = Vec::new();
    for t in &texts {
        alone.push(embedder.embed_one(t).await.unwrap());
    }
    // A long request first keeps the thread busy while the others queue behind it.
    let long = vec!["word ".repeat(200); 8];
    let busy = embedder.embed(long);
    let together = futures_join(embedder.clone(), texts.clone());
    let (busy, together) = tokio::join!(busy, together);
    assert_eq!(busy.unwrap().len(), 8);
    assert_eq!(together.len(), texts.len());
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        let cos = local_everos::embed::cosine(a, b);
        assert!(
            cos > 0.9999,
            "text {i}: cosine {cos} to its vector embedded alone"
        );
    }
    // And never another text's vector.
    assert!(local_everos::embed::cosine(&together[0], &alone[1]) < 0.99);
}

/// Embeds each text as its own concurrent request (single-text and two-text requests
/// mixed), returning one vector per text in order.
async fn futures_join(
    embedder: local_everos::embed::Embedder,
    texts: Vec<String>,
) -> Vec<Vec<f32>> {
    let first = {
        let e = embedder.clone();
        let t = texts[0].clone();
        tokio::spawn(async move { vec![e.embed_one(&t).await.unwrap()] })
    };
    let pair = {
        let e = embedder.clone();
        let t = texts[1..3].to_vec();
        tokio::spawn(async move { e.embed(t).await.unwrap() })
    };
    let rest: Vec<_> = texts[3..]
        .iter()
        .map(|t| {
            let e = embedder.clone();
            let t = t.clone();
            tokio::spawn(async move { vec![e.embed_one(&t).await.unwrap()] })
        })
        .collect();
    let mut out = first.await.unwrap();
    out.extend(pair.await.unwrap());
    for r in rest {
        out.extend(r.await.unwrap());
    }
    out
}
