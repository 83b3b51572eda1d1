//! The proxy's integration tests as one test binary (one link, one set of debug info):
//! the public API over real HTTP against local-everos, identity, idempotency and EverOS
//! faults (also across a hard kill), replies and hand-offs, the operational surface and the
//! binary itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod api;
mod binary;
mod crash;
mod embedding;
mod idempotency;
mod identity;
mod operations;
mod rate_limits;
mod replies;
