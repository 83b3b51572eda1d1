//! Test stores: an in-memory SQLite one always, and a PostgreSQL one in a fresh schema
//! of its own when `EVERDESK_TEST_DATABASE_URL` is set (so tests run side by side).

use super::Store;

/// The environment variable naming the test database.
pub const TEST_DATABASE_URL: &str = "EVERDESK_TEST_DATABASE_URL";

/// The stores a test runs against; `name` prefixes the PostgreSQL schema.
pub async fn stores(name: &str) -> Vec<Store> {
    let mut out = vec![Store::in_memory().unwrap()];
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{name}_{}", uuid::Uuid::new_v4().simple());
            out.push(
                Store::postgres_in_schema(&url, Some(&schema))
                    .await
                    .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL}: {e}")),
            );
        }
        _ => {
            // `scripts/test` always starts PostgreSQL: under CI a skip would hide a failure.
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "{name}: {TEST_DATABASE_URL} is unset under CI"
            );
            eprintln!("NOTICE: {TEST_DATABASE_URL} unset: {name} ran on SQLite only");
        }
    }
    out
}
