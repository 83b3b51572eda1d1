//! `GET /health` (no key): `{"status": "ok", "version", "capabilities": {"llm", "embed",
//! "rerank", "multimodal_llm", "parser"}, "disabled_features", "cascade": null,
//! "memorize_queue": {…}}`, the real server's shape. `version` is the everos release the
//! delete switch emulates (`1.6.0` with delete, `1.5.1` without) with local-everos's own
//! version as build metadata, e.g. `1.6.0+local-everos.0.1.0`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;
use crate::v2::RequestId;

/// What this server can do, as `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Extraction works (an LLM, or the deterministic extractor standing in for one).
    pub llm: bool,
    /// Sentence embeddings are loaded (`--embedding-model`): vector and hybrid rank by
    /// meaning.
    pub embed: bool,
    /// A cross-encoder reranker.
    pub rerank: bool,
    /// A multimodal LLM for image/audio items.
    pub multimodal_llm: bool,
    /// The document parser.
    pub parser: bool,
}

/// The capabilities of `state`.
pub fn capabilities(state: &AppState) -> Capabilities {
    Capabilities {
        llm: true,
        embed: state.embeddings_enabled(),
        rerank: false,
        multimodal_llm: false,
        parser: false,
    }
}

/// The features the server refuses, derived like the real server's
/// `compute_disabled_features`; search methods count as disabled only when
/// `strict_capabilities` makes them refused (otherwise BM25 serves them).
pub fn disabled_features(caps: Capabilities, strict: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !caps.embed {
        if strict {
            out.extend(["vector_search", "hybrid_search"]);
        }
        out.extend(["reflection", "skill_extraction"]);
    }
    if !caps.rerank && strict {
        out.push("agentic_search");
    }
    out.push("knowledge");
    if !(caps.multimodal_llm && caps.parser) {
        out.push("multimodal_upload");
    }
    out
}

/// The everos version string this server answers with.
pub fn version(state: &AppState) -> String {
    let emulated = if state.config().delete_enabled {
        "1.6.0"
    } else {
        "1.5.1"
    };
    format!("{emulated}+local-everos.{}", env!("CARGO_PKG_VERSION"))
}

/// The health handler.
pub async fn health(State(state): State<AppState>, _rid: RequestId) -> Json<Value> {
    let caps = capabilities(&state);
    let queue = state.queue();
    Json(json!({
        "status": "ok",
        "version": version(&state),
        "capabilities": {
            "llm": caps.llm, "embed": caps.embed, "rerank": caps.rerank,
            "multimodal_llm": caps.multimodal_llm, "parser": caps.parser,
        },
        "disabled_features": disabled_features(caps, state.config().strict_capabilities),
        "cascade": null,
        "memorize_queue": {
            "healthy": true, "reasons": [], "loop_alive": true, "accepting": true,
            "pending": queue.total_pending(), "oldest_pending_age_s": null,
            "failed": queue.failed(), "loop_restarts": 0, "last_loop_error_at": null,
        },
    }))
}
