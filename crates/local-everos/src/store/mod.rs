//! SQLite storage: one connection behind a mutex, used from `spawn_blocking`, shared by
//! the v1 and v2 APIs. Submodules hold the queries for each table.

pub mod buffer;
pub mod episodes;
pub mod profiles;
pub mod rank;
pub mod vectors;

use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::config::Storage;
use crate::error::Error;
use crate::store::rank::RankCache;

/// The schema, idempotent.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buffer (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, request_id TEXT NOT NULL,
  user_id TEXT NOT NULL, session_id TEXT NOT NULL, group_id TEXT NOT NULL, role TEXT NOT NULL,
  sender_id TEXT NOT NULL, sender_name TEXT, message_id TEXT NOT NULL, content_items TEXT NOT NULL,
  text TEXT NOT NULL, tokens INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS buffer_owner ON buffer(user_id, session_id, timestamp_ms, seq);
CREATE INDEX IF NOT EXISTS buffer_group ON buffer(group_id);
CREATE TABLE IF NOT EXISTS episodes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
  group_id TEXT NOT NULL, session_id TEXT NOT NULL, timestamp_ms INTEGER NOT NULL,
  participants TEXT NOT NULL, subject TEXT NOT NULL, summary TEXT NOT NULL, episode TEXT NOT NULL,
  parent_id TEXT NOT NULL, visible_ms INTEGER NOT NULL, tokens INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS episodes_user ON episodes(user_id, timestamp_ms);
CREATE INDEX IF NOT EXISTS episodes_group ON episodes(group_id, timestamp_ms);
CREATE INDEX IF NOT EXISTS episodes_parent ON episodes(parent_id);
CREATE VIRTUAL TABLE IF NOT EXISTS episodes_fts USING fts5(owner, subject, summary, episode);
CREATE VIRTUAL TABLE IF NOT EXISTS episodes_vocab USING fts5vocab(episodes_fts, 'row');
CREATE TABLE IF NOT EXISTS profile_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, user_id TEXT NOT NULL,
  group_id TEXT NOT NULL, item_type TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL,
  value TEXT NOT NULL, visible_ms INTEGER NOT NULL, ordinal INTEGER NOT NULL DEFAULT 0,
  evidence TEXT NOT NULL DEFAULT '', source_ts_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS profile_user ON profile_items(user_id, key, seq);
CREATE INDEX IF NOT EXISTS profile_group ON profile_items(group_id);
";

/// Columns added to `profile_items` after the first release (v2 profile documents); a
/// database from before gets them on open.
const PROFILE_COLUMNS: &[(&str, &str)] = &[
    ("ordinal", "INTEGER NOT NULL DEFAULT 0"),
    ("evidence", "TEXT NOT NULL DEFAULT ''"),
    ("source_ts_ms", "INTEGER NOT NULL DEFAULT 0"),
];

/// Adds the columns a database written by an older version lacks.
fn migrate(conn: &Connection) -> Result<(), Error> {
    let have: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('profile_items')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, decl) in PROFILE_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!(
                "ALTER TABLE profile_items ADD COLUMN {name} {decl}"
            ))?;
        }
    }
    Ok(())
}

/// The connection plus the ranking statistics that must change with it.
#[derive(Debug)]
pub struct Db {
    /// The SQLite connection.
    pub conn: Connection,
    /// BM25 corpus statistics.
    pub rank: RankCache,
}

/// The database handle shared by all requests.
#[derive(Clone)]
pub struct Store {
    db: Arc<Mutex<Db>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (and creates) the database.
    pub fn open(storage: &Storage) -> Result<Self, Error> {
        let conn = match storage {
            Storage::InMemory => Connection::open_in_memory()?,
            Storage::DataDir(dir) => {
                std::fs::create_dir_all(dir)?;
                let conn = Connection::open(dir.join("local-everos.sqlite3"))?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn
            }
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        conn.execute_batch(vectors::SCHEMA)?;
        Ok(Self {
            db: Arc::new(Mutex::new(Db {
                conn,
                rank: RankCache::default(),
            })),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
    {
        self.call_db(|db| f(&mut db.conn)).await
    }

    /// Runs `f` with the connection and ranking statistics on the blocking pool.
    pub async fn call_db<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut Db) -> Result<R, Error> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let mut guard = db.lock().map_err(|_| Error::Poisoned)?;
            f(&mut guard)
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))?
    }

    /// Deletes every row of every table (test reset).
    pub async fn wipe(&self) -> Result<(), Error> {
        self.call_db(|db| {
            db.conn.execute_batch(
                "DELETE FROM buffer; DELETE FROM episodes; DELETE FROM episodes_fts; DELETE FROM profile_items;",
            )?;
            db.rank.clear();
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_before_v2_gains_the_profile_columns() {
        let dir = tempfile::tempdir().unwrap();
        {
            let old = Connection::open(dir.path().join("local-everos.sqlite3")).unwrap();
            old.execute_batch(
                "CREATE TABLE profile_items (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, \
                 user_id TEXT NOT NULL, group_id TEXT NOT NULL, item_type TEXT NOT NULL, key TEXT NOT NULL, \
                 label TEXT NOT NULL, value TEXT NOT NULL, visible_ms INTEGER NOT NULL); \
                 INSERT INTO profile_items (id, user_id, group_id, item_type, key, label, value, visible_ms) \
                 VALUES ('i', 'u', 'g', 'explicit_info', 'name', 'Name', 'Dana', 0);",
            )
            .unwrap();
        }
        let store = Store::open(&Storage::DataDir(dir.path().to_path_buf())).unwrap();
        let db = store.db.lock().unwrap();
        let items = profiles::visible(&db.conn, "u", 1).unwrap();
        assert_eq!(items.len(), 1, "old rows survive");
        assert_eq!(items[0].evidence, "");
        assert_eq!(
            profiles::document_items(&db.conn, "u", 1, 0, 0)
                .unwrap()
                .len(),
            1
        );
        // Opening again is a no-op.
        drop(db);
        drop(store);
        Store::open(&Storage::DataDir(dir.path().to_path_buf())).unwrap();
    }
}
