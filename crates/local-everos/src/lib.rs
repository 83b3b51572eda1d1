//! local-everos: an EverOS Cloud v1–compatible memory server. It is EverDesk's embedded
//! default backend and the fake EverOS every test talks to over real HTTP.
//!
//! What it does (see `/work/shared/everos-cloud-v1.md` §3, §6, §9):
//!
//! * Routes `POST /api/v1/memories{,/flush,/search,/get,/delete}` and
//!   `GET /api/v1/tasks/{id}` behind `Authorization: Bearer <key>`; anything else is 404.
//!   Success bodies are `{"data": …}`; errors use the engine shape
//!   `{"code","message","request_id","timestamp","path"}` (400 bad JSON, 422 validation).
//! * Adds are **buffered** per `(user_id, session_id)`; buffered messages are not episodes.
//!   A flush, or the §6.1 hard limits (500 messages / 65,536 tokens ≈ chars/4), cut one
//!   episode per cut. `async_mode: true` answers 202 and buffers after `async_delay`.
//! * Episodes are extracted deterministically (or by an optional OpenAI-compatible LLM,
//!   falling back to the deterministic extractor on any failure).
//! * Profile facts come only from user turns and become visible `profile_delay` after the
//!   cut, only in `data.profiles`.
//! * **Recall by meaning** (with `--embedding-model`, see [`embed`] and [`recall`]):
//!   episodes and profile facts are embedded with all-MiniLM-L6-v2 when a cut stores
//!   them; `vector` ranks the owner's episodes by cosine to the query (every episode,
//!   `radius` a floor), `hybrid`/`agentic` fuse the cosine with BM25 coverage
//!   ([`recall::fusion`]), profile items rank by cosine. `keyword` is BM25: FTS5's
//!   formula (k1 1.2, b 0.75, subject weighted 2) with document frequencies read from
//!   the SQLite FTS5 index, applied to the owner's episodes (see [`store::rank`] for why
//!   not `bm25()` itself); an episode matching no query term is not a keyword hit.
//!   **Without a model** every method ranks episodes by BM25, `radius` is ignored and
//!   profile items rank by token overlap (every visible item returned up to `top_k`).
//!   Scores are higher-is-better, ties broken by id. Profiles are dropped for
//!   `method: "keyword"` or without a `user_id` filter, as in the engine.
//! * Search visibility lags a cut by `index_lag`; `get` sees episodes at once.
//! * Storage is SQLite: in memory, or a WAL database in a data directory.
//! * With `test_controls`, `/_test/` offers fault injection, a request log and reset.

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

pub use config::{Config, LlmConfig, Storage};
pub use error::{ApiError, Error};
pub use server::{app, spawn, Running};
pub use state::AppState;
