//! local-everos's integration tests as one test binary (one link, one set of debug info):
//! the EverOS Cloud v1 contract and its validation rules over real HTTP, extraction,
//! persistence, concurrency, the test controls and the binary; the EverOS v2 API
//! (`v2_*`: errors, writes, reads, operations) over the same store; and recall by
//! meaning with the real embedding model (which `scripts/setup` fetches), on v1
//! (`embeddings`) and v2 (`v2_embeddings`), with the vectors pinned (`pinned_vectors`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod contract_read;
mod contract_write;
mod embeddings;
mod extraction;
mod operations;
mod pinned_vectors;
mod validation_read;
mod validation_write;

mod v2_common;
mod v2_embeddings;
mod v2_errors;
mod v2_ops;
mod v2_read;
mod v2_write;
