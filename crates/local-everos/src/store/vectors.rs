//! Sentence vectors beside the rows they embed: `episode_vectors` and `profile_vectors`,
//! keyed by the row's `seq`, each a BLOB of f32 little-endian. Triggers delete a vector
//! with its row, so every delete path (by id, by user, a reset) removes them too.

use std::collections::HashMap;

use rusqlite::{params, Connection, Transaction};

use crate::embed::{from_blob, to_blob};
use crate::error::Error;

/// The vector tables and their clean-up triggers, idempotent.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS episode_vectors (seq INTEGER PRIMARY KEY, vec BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS episode_vectors_gc AFTER DELETE ON episodes
  BEGIN DELETE FROM episode_vectors WHERE seq = OLD.seq; END;
CREATE TABLE IF NOT EXISTS profile_vectors (seq INTEGER PRIMARY KEY, vec BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS profile_vectors_gc AFTER DELETE ON profile_items
  BEGIN DELETE FROM profile_vectors WHERE seq = OLD.seq; END;
";

/// The text an episode is embedded from: subject, summary, then the narrative (the
/// model reads the first 256 tokens, so the most telling parts come first).
pub fn episode_text(subject: &str, summary: &str, episode: &str) -> String {
    format!("{subject}. {summary}\n{episode}")
}

/// A row that has no vector yet: its `seq` and the text to embed.
pub type Missing = (i64, String);

/// Stores the vector of the episode with this id (in the transaction that inserts it).
pub fn put_episode_by_id(tx: &Transaction<'_>, id: &str, v: &[f32]) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO episode_vectors (seq, vec) SELECT seq, ?2 FROM episodes WHERE id=?1",
    )?
    .execute(params![id, to_blob(v)])?;
    Ok(())
}

/// Stores the vector of a user's latest profile row for `key` (in the transaction that
/// upserts it).
pub fn put_profile_by_key(
    tx: &Transaction<'_>,
    user_id: &str,
    key: &str,
    v: &[f32],
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO profile_vectors (seq, vec) SELECT seq, ?3 FROM profile_items \
         WHERE user_id=?1 AND key=?2 ORDER BY seq DESC LIMIT 1",
    )?
    .execute(params![user_id, key, to_blob(v)])?;
    Ok(())
}

/// Stores vectors computed for [`missing`] rows; a row deleted meanwhile gets none.
pub fn put_missing(
    c: &Connection,
    episodes: &[(i64, Vec<f32>)],
    profiles: &[(i64, Vec<f32>)],
) -> Result<(), Error> {
    let mut ep = c.prepare_cached(
        "INSERT OR REPLACE INTO episode_vectors (seq, vec) SELECT seq, ?2 FROM episodes WHERE seq=?1",
    )?;
    for (seq, v) in episodes {
        ep.execute(params![seq, to_blob(v)])?;
    }
    let mut pr = c.prepare_cached(
        "INSERT OR REPLACE INTO profile_vectors (seq, vec) SELECT seq, ?2 FROM profile_items WHERE seq=?1",
    )?;
    for (seq, v) in profiles {
        pr.execute(params![seq, to_blob(v)])?;
    }
    Ok(())
}

/// Rows of the named owners without a usable vector (written before embeddings were
/// on, or when embedding failed): episodes of the users and groups, and profile rows of
/// the users.
pub fn missing(
    c: &Connection,
    users: &[String],
    groups: &[String],
) -> Result<(Vec<Missing>, Vec<Missing>), Error> {
    let blob_len = i64::try_from(crate::embed::DIM * 4).unwrap_or(i64::MAX);
    let mut episodes: Vec<Missing> = Vec::new();
    for (col, owners) in [("user_id", users), ("group_id", groups)] {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT e.seq, e.subject, e.summary, e.episode FROM episodes e \
             LEFT JOIN episode_vectors v ON v.seq = e.seq \
             WHERE e.{col} = ?1 AND (v.seq IS NULL OR length(v.vec) != ?2)"
        ))?;
        for owner in owners {
            let rows = stmt.query_map(params![owner, blob_len], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    episode_text(
                        &r.get::<_, String>(1)?,
                        &r.get::<_, String>(2)?,
                        &r.get::<_, String>(3)?,
                    ),
                ))
            })?;
            for row in rows {
                let row = row?;
                if !episodes.iter().any(|(s, _)| *s == row.0) {
                    episodes.push(row);
                }
            }
        }
    }
    let mut profiles = Vec::new();
    let mut stmt = c.prepare_cached(
        "SELECT p.seq, p.label, p.value FROM profile_items p \
         LEFT JOIN profile_vectors v ON v.seq = p.seq \
         WHERE p.user_id = ?1 AND (v.seq IS NULL OR length(v.vec) != ?2)",
    )?;
    for user in users {
        let rows = stmt.query_map(params![user, blob_len], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                format!("{}: {}", r.get::<_, String>(1)?, r.get::<_, String>(2)?),
            ))
        })?;
        for row in rows {
            profiles.push(row?);
        }
    }
    Ok((episodes, profiles))
}

/// The vectors of the named owners' episodes, by episode id.
pub fn episodes_of(
    c: &Connection,
    users: &[String],
    groups: &[String],
) -> Result<HashMap<String, Vec<f32>>, Error> {
    let mut out = HashMap::new();
    for (col, owners) in [("user_id", users), ("group_id", groups)] {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT e.id, v.vec FROM episodes e JOIN episode_vectors v ON v.seq = e.seq WHERE e.{col} = ?1"
        ))?;
        for owner in owners {
            let rows = stmt.query_map([owner], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            for row in rows {
                let (id, blob) = row?;
                if let Some(v) = from_blob(&blob) {
                    out.insert(id, v);
                }
            }
        }
    }
    Ok(out)
}

/// The vectors of a user's profile rows, by item id.
pub fn profiles_of(c: &Connection, user_id: &str) -> Result<HashMap<String, Vec<f32>>, Error> {
    let mut stmt = c.prepare_cached(
        "SELECT p.id, v.vec FROM profile_items p JOIN profile_vectors v ON v.seq = p.seq WHERE p.user_id = ?1",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, blob) = row?;
        if let Some(v) = from_blob(&blob) {
            out.insert(id, v);
        }
    }
    Ok(out)
}

/// How many episode and profile vectors are stored (tests and diagnostics).
pub fn counts(c: &Connection) -> Result<(i64, i64), Error> {
    Ok(c.query_row(
        "SELECT (SELECT COUNT(*) FROM episode_vectors), (SELECT COUNT(*) FROM profile_vectors)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
