//! local-everos's integration tests as one test binary (one link, one set of debug info):
//! the EverOS Cloud v1 contract and its validation rules over real HTTP, extraction,
//! persistence, concurrency, the test controls and the binary, and recall by meaning
//! with the real embedding model (which `scripts/setup` fetches).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod contract_read;
mod contract_write;
mod embeddings;
mod extraction;
mod operations;
mod validation_read;
mod validation_write;
