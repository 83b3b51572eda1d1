//! The proxy's integration tests as one test binary (one link, one set of debug info):
//! the public API over real HTTP against local-everos, identity, idempotency and EverOS
//! faults (also across a hard kill), replies and hand-offs, the bounds on replies and new
//! visitors, recall by meaning in the product (the embedded EverOS with the embedding
//! model), the LLM stream, close feedback, signed webhooks, the data dir's files, the
//! operational surface, the visitor cookie and the binary itself, two replicas on one
//! PostgreSQL, and conversations and live events kept across restarts and replicas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod abuse;
mod agents;
mod api;
mod binary;
mod close_feedback;
mod crash;
mod data_files;
mod embedding;
mod handled_by_agent;
mod idempotency;
mod identity;
mod live_store;
mod llm_stream;
mod operations;
mod rate_limits;
mod recall;
mod replicas;
mod replies;
mod reply_limits;
mod scenarios;
mod slow_clients;
mod v2_rules;
mod visitor_cookie;
mod webhooks;
