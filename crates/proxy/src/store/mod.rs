//! The one storage layer for what the proxy keeps: the idempotency ledger, tickets (with
//! their exchanges and close feedback), conversations and their transcripts, live events
//! (with the PostgreSQL listener that tells replicas of new ones), identity fences and
//! revocations, and rate-limit buckets. Two backends behind one small API
//! ([`Store::exec`], [`Store::query`], [`Store::batch`]): SQLite (embedded default: `everdesk.db` in the data
//! dir, WAL; or in memory) and PostgreSQL (several replicas on one database). SQL is
//! written once with `$1`-style parameters (SQLite reads them as `?1`); the schema comes
//! from versioned migrations per backend (`migrations/{sqlite,postgres}/NNN_name.sql`),
//! applied at start.

mod buckets;
mod events;
mod fences;
pub mod import;
mod listen;
mod migrate;
mod postgres;
mod sqlite;
#[cfg(test)]
pub(crate) mod testing;
mod transcripts;

use std::{path::Path, sync::Arc};

pub use buckets::Taken;
pub use events::StoredEvent;
pub use listen::Notice;
pub use transcripts::TranscriptWrite;

/// File name of the SQLite database inside the data dir.
pub const SQLITE_FILE: &str = "everdesk.db";

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// The database URL is not usable.
    #[error("database url: {0}")]
    Url(String),
    /// A blocking database task did not finish.
    #[error("database task: {0}")]
    Task(String),
    /// A stored value could not be read back.
    #[error("stored value unreadable: {0}")]
    Decode(String),
}

/// One SQL parameter or column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// NULL.
    Null,
    /// An integer (BIGINT).
    Int(i64),
    /// A float (DOUBLE PRECISION / REAL).
    Float(f64),
    /// Text.
    Text(String),
}

impl Val {
    /// The integer, if this is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    /// The float, if this is a number.
    pub fn float(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            Self::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The text, owned; empty for anything else.
    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// A result row: its columns in order.
pub type Row = Vec<Val>;

/// Builds a parameter list: `params![a, b]`.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::Val::from($v)),*] };
}

/// One statement of a [`Store::batch`].
pub type Statement = (&'static str, Vec<Val>);

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// The database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    /// An SQLite database in memory (tests, and a proxy without a data dir), migrated.
    pub fn in_memory() -> Result<Self, StoreError> {
        let db = sqlite::Sqlite::in_memory()?;
        Ok(Self::from_backend(Backend::Sqlite(db)))
    }

    /// The SQLite database at `path` (created owner-only if missing; WAL), migrated.
    /// Blocking I/O: call it at start-up or from a blocking task.
    pub fn sqlite_file(path: &Path) -> Result<Self, StoreError> {
        let db = sqlite::Sqlite::open(path)?;
        Ok(Self::from_backend(Backend::Sqlite(db)))
    }

    /// The PostgreSQL database at `url` (`postgres://…`), migrated.
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        Self::postgres_in_schema(url, None).await
    }

    /// As [`Store::postgres`], every connection using `schema` (created if missing) as
    /// its search path: tests run side by side in one database.
    pub async fn postgres_in_schema(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let db = postgres::Postgres::connect(url, schema).await?;
        Ok(Self::from_backend(Backend::Postgres(db)))
    }

    fn from_backend(backend: Backend) -> Self {
        Self {
            backend: Arc::new(backend),
        }
    }

    /// "sqlite" or "postgres".
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether several processes may share this database (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(&*self.backend, Backend::Postgres(_))
    }

    /// Runs one statement; returns the rows it changed.
    pub async fn exec(&self, sql: &'static str, params: Vec<Val>) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.exec(sql, params).await,
            Backend::Postgres(db) => db.exec(sql, params).await,
        }
    }

    /// Runs one query; returns its rows.
    pub async fn query(&self, sql: &'static str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.query(sql, params).await,
            Backend::Postgres(db) => db.query(sql, params).await,
        }
    }

    /// The first row of a query, if any.
    pub async fn query_one(
        &self,
        sql: &'static str,
        params: Vec<Val>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// As [`Store::exec`], for a statement that may touch many rows (a sweep, a prune):
    /// on SQLite it runs on a blocking thread, so it never holds up a runtime worker.
    pub async fn exec_long(&self, sql: &'static str, params: Vec<Val>) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.exec_long(sql, params).await,
            Backend::Postgres(db) => db.exec(sql, params).await,
        }
    }

    /// As [`Store::batch`], for statements that may touch many rows (forget-me, sweeps,
    /// imports): on SQLite they run on a blocking thread, so they never hold up a
    /// runtime worker.
    pub async fn batch_long(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.batch_long(statements).await,
            Backend::Postgres(db) => db.batch(statements).await,
        }
    }

    /// Runs the statements in one transaction: all or none.
    pub async fn batch(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.batch(statements).await,
            Backend::Postgres(db) => db.batch(statements).await,
        }
    }
}
