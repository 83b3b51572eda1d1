//! Versioned migrations: one SQL file per version and backend under
//! `crates/proxy/migrations/{sqlite,postgres}/`, compiled in. Each is applied once, in a
//! transaction that also records it in `schema_migrations`; PostgreSQL replicas starting
//! together take an advisory lock first.

/// One schema version.
pub struct Migration {
    /// Applied in increasing order.
    pub version: i64,
    /// What it does, for the record.
    pub name: &'static str,
    /// The SQLite script.
    pub sqlite: &'static str,
    /// The PostgreSQL script.
    pub postgres: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../../migrations/sqlite/001_init.sql"),
        postgres: include_str!("../../migrations/postgres/001_init.sql"),
    },
    Migration {
        version: 2,
        name: "ticket_expiry",
        sqlite: include_str!("../../migrations/sqlite/002_ticket_expiry.sql"),
        postgres: include_str!("../../migrations/postgres/002_ticket_expiry.sql"),
    },
    Migration {
        version: 3,
        name: "conversations_live",
        sqlite: include_str!("../../migrations/sqlite/003_conversations_live.sql"),
        postgres: include_str!("../../migrations/postgres/003_conversations_live.sql"),
    },
    Migration {
        version: 4,
        name: "ticket_claims",
        sqlite: include_str!("../../migrations/sqlite/004_ticket_claims.sql"),
        postgres: include_str!("../../migrations/postgres/004_ticket_claims.sql"),
    },
    Migration {
        version: 5,
        name: "fewer_pages",
        sqlite: include_str!("../../migrations/sqlite/005_fewer_pages.sql"),
        postgres: include_str!("../../migrations/postgres/005_fewer_pages.sql"),
    },
    Migration {
        version: 6,
        name: "ledger_customer_index",
        sqlite: include_str!("../../migrations/sqlite/006_ledger_customer_index.sql"),
        postgres: include_str!("../../migrations/postgres/006_ledger_customer_index.sql"),
    },
];

/// The bookkeeping table, the same on both backends.
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";

/// Records one applied migration.
pub const RECORD: &str =
    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)";
