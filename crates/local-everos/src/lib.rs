//! local-everos: an EverOS-compatible memory server speaking **EverOS v2** (the API of the
//! self-hosted everos server and Cloud v2) and **EverOS Cloud v1** over one store. It is
//! EverDesk's embedded default backend and the fake EverOS every test talks to over real
//! HTTP.
//!
//! # v2 ([`v2`]; `/work/shared/everos-v2.md`)
//!
//! * `POST /api/v2/memory/{add,flush,search,get}`, `POST /api/v2/memory/{delete,
//!   delete_by_ids}` (unless `delete_enabled` is off: then a plain 404 like everos 1.5.1),
//!   `GET /api/v2/tasks/{request_id}` behind `Authorization: Bearer <key>`; `GET /health`
//!   without. Success `{"request_id": <32 hex>, "data": …}`; handled errors
//!   `{"request_id", "error": {"code", "message", "timestamp", "path"}}` with the real
//!   server's codes and pydantic-style messages (422 `INVALID_INPUT` for every validation
//!   error, malformed JSON included); unknown routes and wrong methods FastAPI's plain
//!   `{"detail": …}` 404/405. The request id is also sent as `X-Request-Id`.
//! * Adds carry no owner: messages are buffered per session, unattributed, keyed
//!   `m_<session>_<timestamp>_<index>`, and a message id the session still buffers is
//!   silently dropped (after a flush, a resend makes a duplicate episode). A cut (flush, or
//!   the hard limits on a non-deferred add) gives every `role: "user"` sender an episode
//!   `<user>_ep_<YYYYMMDD>_<NNNNNNNN>` with the whole cell's text; assistants own nothing.
//!   `async_mode`, and any add or flush of a session with queued work, answers 202 and
//!   runs in order after `async_delay` ([`v2::queue`]).
//! * Search needs exactly one of `user_id`/`agent_id` and answers five lists; buffered
//!   messages appear only as `unprocessed_messages` for a top-level `filters.session_id`,
//!   whoever's session it is (the real server's leak, kept so a proxy's protection can be
//!   tested). Get pages one memory type. The profile is one document per user, built from
//!   that user's own turns, `profile_lag_episodes` episodes behind.
//! * Lags: `index_lag` for search and the v2 get, `keyword_lag` on top for `keyword`.
//! * Not faithful: one app/project scope (`default`), no agent memory, no multimodal items,
//!   no embeddings (see ranking below; `strict_capabilities` refuses the methods that need
//!   them, as the real server does without an embedding provider).
//!
//! # Cloud v1 ([`routes`]; `/work/shared/everos-cloud-v1.md` §3, §6, §9)
//!
//! * Routes `POST /api/v1/memories{,/flush,/search,/get,/delete}` and
//!   `GET /api/v1/tasks/{id}` behind the bearer key; other `/api/v1` paths are 404.
//!   Success bodies are `{"data": …}`; errors use the engine shape
//!   `{"code","message","request_id","timestamp","path"}` (400 bad JSON, 422 validation).
//! * Adds are **buffered** per `(user_id, session_id)`; buffered messages are not episodes.
//!   A flush, or the §6.1 hard limits (500 messages / 65,536 tokens ≈ chars/4), cut one
//!   episode per cut. `async_mode: true` answers 202 and buffers after `async_delay`.
//! * Profile facts come only from user turns and become visible `profile_delay` after the
//!   cut, only in `data.profiles`. Search visibility lags a cut by `index_lag`; `get` sees
//!   episodes at once.
//!
//! # Shared
//!
//! * Episodes are extracted deterministically (or by an optional OpenAI-compatible LLM,
//!   falling back to the deterministic extractor on any failure).
//! * **Recall by meaning** (with `--embedding-model`, see [`embed`] and [`recall`]):
//!   episodes and profile facts are embedded with all-MiniLM-L6-v2 when a cut stores
//!   them; `vector` ranks the owner's episodes by cosine to the query (every episode,
//!   `radius` a floor), `hybrid`/`agentic` fuse the cosine with BM25 coverage
//!   ([`recall::fusion`]), profile items rank by cosine. `keyword` is BM25: FTS5's
//!   formula (k1 1.2, b 0.75, subject weighted 2) with document frequencies read from
//!   the SQLite FTS5 index, applied to the owner's episodes (see [`store::rank`] for why
//!   not `bm25()` itself); an episode matching no query term is not a keyword hit.
//!   **Without a model** every method ranks episodes by BM25 and profile items rank by
//!   token overlap (every visible item returned up to `top_k`). Scores are
//!   higher-is-better, ties broken by id. v1 returns raw scores; v2 returns raw BM25 for
//!   `keyword`, and applies the real server's `radius`/`min_score` floors. v1 profiles
//!   are dropped for `method: "keyword"` or without a `user_id` filter, as in the engine.
//! * Storage is SQLite: in memory, or a WAL database in a data directory.
//! * With `test_controls`, `/_test/` offers fault injection, a request log and reset for
//!   the v1 and v2 routes alike (a fault for `add` hits both adds).

pub mod auth;
pub mod clock;
pub mod config;
pub mod controls;
pub mod embed;
pub mod error;
pub mod extract;
pub mod filter;
pub mod ids;
pub mod llm;
pub mod model;
pub mod pipeline;
pub mod profile;
pub mod recall;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod tasks;
pub mod text;
pub mod v2;

pub use config::{Config, LlmConfig, Storage};
pub use error::{ApiError, Error};
pub use server::{app, spawn, Running};
pub use state::AppState;
