//! The SQLite backend: one connection (WAL, `synchronous=NORMAL`, foreign keys on) behind
//! an async mutex, used in place (no blocking thread). One connection is one
//! writer, which is all SQLite allows anyway; reads are short index lookups. The file is
//! created owner-only (0600): it holds customers' messages.

use std::{collections::HashMap, path::Path, sync::Arc};

use tokio::sync::Mutex;

use rusqlite::{
    types::{ToSqlOutput, ValueRef},
    Connection, ToSql,
};

use super::{migrate, Row, Statement, StoreError, Val};

/// The open database.
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    /// Every customer fence (`customer_fences`), kept in memory and written through: the
    /// file is locked exclusively by this one process (see [`Sqlite::open`]), so nobody
    /// else can change a fence behind its back, and a fence check costs no statement.
    /// Only on SQLite: on PostgreSQL replicas share the fences and each check reads them.
    pub(super) fences: std::sync::Mutex<HashMap<String, i64>>,
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Val::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

impl Sqlite {
    /// A fresh database in memory, migrated.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    /// The database file at `path`, created owner-only when missing, migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            // Created empty with owner-only permissions before SQLite opens it.
            crate::data_dir::private_file_options()
                .write(true)
                .open(path)
                .map_err(|e| StoreError::Task(format!("{}: {e}", path.display())))?;
        }
        let conn = Connection::open(path)?;
        // One process owns the file (see `prepare`): it keeps its locks instead of taking
        // and dropping file locks around every statement (half the system calls a message
        // cost), and a second proxy started on the same data dir cannot open it.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::prepare(conn)
    }

    fn prepare(mut conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate_sync(&mut conn)?;
        // One process owns an SQLite file: claims left in it are a dead process's.
        conn.execute(
            "UPDATE ledger SET claim_owner = NULL, claim_until = NULL WHERE claim_owner IS NOT NULL",
            [],
        )?;
        let fences = {
            let mut stmt = conn.prepare("SELECT customer, forgotten_at FROM customer_fences")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            rows.collect::<Result<HashMap<_, _>, _>>()?
        };
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            fences: std::sync::Mutex::new(fences),
        })
    }

    /// Runs `f` on the connection on a blocking thread, once it is this caller's turn:
    /// for statements that may touch many rows (forget-me, sweeps, pruning, imports), so
    /// they never hold up a runtime worker (the other tasks on it keep running; other
    /// statements wait for the connection asynchronously).
    pub(super) async fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut conn))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` on the connection in place (see [`Sqlite::run`]), for a few short
    /// statements that must run together (the caller opens the transaction).
    pub(super) async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.run(f).await
    }

    /// As [`Sqlite::exec`], on a blocking thread (see [`Sqlite::run_blocking`]).
    pub async fn exec_long(&self, sql: &'static str, params: Vec<Val>) -> Result<u64, StoreError> {
        self.run_blocking(move |conn| exec_on(conn, sql, &params))
            .await
    }

    /// As [`Sqlite::batch`], on a blocking thread (see [`Sqlite::run_blocking`]).
    pub async fn batch_long(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        self.run_blocking(move |conn| batch_on(conn, &statements))
            .await
    }

    /// Runs `f` on the connection, in place, once it is this caller's turn (others wait
    /// asynchronously, in order). The proxy's statements are index lookups and single-row
    /// writes of some ten microseconds: handing each to a blocking thread and back cost
    /// more than the statement (two thread switches per statement made SQLite much
    /// slower than the JSON Lines journals it replaced; `store_bench`).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().await;
        f(&mut conn)
    }

    /// See [`super::Store::exec`].
    pub async fn exec(&self, sql: &'static str, params: Vec<Val>) -> Result<u64, StoreError> {
        self.run(move |conn| exec_on(conn, sql, &params)).await
    }

    /// See [`super::Store::query`].
    pub async fn query(&self, sql: &'static str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        self.run(move |conn| query_on(conn, sql, &params)).await
    }

    /// See [`super::Store::batch`].
    pub async fn batch(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        self.run(move |conn| batch_on(conn, &statements)).await
    }
}

fn batch_on(conn: &mut Connection, statements: &[Statement]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for (sql, params) in statements {
        exec_on(&tx, sql, params)?;
    }
    tx.commit()?;
    Ok(())
}

/// Runs one query on `conn`; returns its rows.
pub(super) fn query_on(
    conn: &Connection,
    sql: &str,
    params: &[Val],
) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(&numbered(sql))?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(i) => Val::Int(i),
                ValueRef::Real(f) => Val::Float(f),
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Val::Text(String::from_utf8_lossy(t).into_owned())
                }
            });
        }
        out.push(values);
    }
    Ok(out)
}

pub(super) fn exec_on(conn: &Connection, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(&numbered(sql))?;
    let n = stmt.execute(rusqlite::params_from_iter(params.iter()))?;
    Ok(n as u64)
}

/// `$1`-style parameters as SQLite's `?1` (the SQL never holds a `$` otherwise).
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Applies the migrations this database has not seen yet.
fn migrate_sync(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(migrate::CREATE_TABLE)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for m in migrate::MIGRATIONS.iter().filter(|m| m.version > applied) {
        tx.execute_batch(m.sqlite)?;
        exec_on(
            &tx,
            migrate::RECORD,
            &[
                m.version.into(),
                m.name.into(),
                crate::clock::now_ms().into(),
            ],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_for_sqlite() {
        assert_eq!(numbered("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
    }

    #[test]
    fn one_process_owns_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("everdesk.db");
        let first = Sqlite::open(&path).unwrap();
        assert!(
            Sqlite::open(&path).is_err(),
            "a second opener is refused while the first holds the file"
        );
        drop(first);
        Sqlite::open(&path).unwrap();
    }

    #[test]
    fn a_database_of_migration_4_keeps_its_rows_through_005_and_006() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("everdesk.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(migrate::CREATE_TABLE).unwrap();
            for m in migrate::MIGRATIONS.iter().filter(|m| m.version <= 4) {
                conn.execute_batch(m.sqlite).unwrap();
                exec_on(
                    &conn,
                    migrate::RECORD,
                    &[m.version.into(), m.name.into(), 0.into()],
                )
                .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO conversations (session_id, customer, customer_json, ticket, updated_ms)
                   VALUES ('s', 'c', '{}', 't', 1);
                 INSERT INTO live_events (customer, ticket, session_id, kind, at_ms)
                   VALUES ('c', 't', 's', 'message', 5), ('c', 't', 's', 'message', 9);",
            )
            .unwrap();
        }
        let db = Sqlite::open(&path).unwrap();
        let conn = db.conn.blocking_lock();
        let gone: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema
                 WHERE name IN ('conversations_queue', 'live_events_at', 'ledger_customer_born')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gone, 0, "005 and 006 drop the three indexes");
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT MIN(born_ms) FROM ledger WHERE customer = 'c'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(
            plan.contains("(customer=?)"),
            "a customer's rows are found by the key's prefix: {plan}"
        );
        let rows: i64 = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM conversations) + (SELECT COUNT(*) FROM live_events)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 3, "the rows are kept");
        // The pruning by age still finds its rows without the index.
        let pruned = exec_on(
            &conn,
            crate::store::events::PRUNE_EVENTS,
            &[0.into(), 6.into()],
        )
        .unwrap();
        assert_eq!(pruned, 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_owner_only_and_migrated_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("everdesk.db");
        drop(Sqlite::open(&path).unwrap());
        let again = Sqlite::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let conn = again.conn.blocking_lock();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, migrate::MIGRATIONS.len() as i64);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
