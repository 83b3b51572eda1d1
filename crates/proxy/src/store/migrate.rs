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

/// One [`Migration`] from its version, name and file stem (the same under both
/// backends' directories).
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $file, ".sql")),
        }
    };
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "init", "001_init"),
    migration!(2, "ticket_expiry", "002_ticket_expiry"),
    migration!(3, "conversations_live", "003_conversations_live"),
    migration!(4, "ticket_claims", "004_ticket_claims"),
    migration!(5, "fewer_pages", "005_fewer_pages"),
    migration!(6, "ledger_customer_index", "006_ledger_customer_index"),
];

/// The bookkeeping table, the same on both backends.
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";

/// Records one applied migration.
pub const RECORD: &str =
    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)";
