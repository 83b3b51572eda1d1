//! The episodes table and its FTS5 index: insert, BM25 search, listing, deletion.

use rusqlite::{params, Connection, Row, Transaction};

use crate::error::Error;
use crate::ids::md5_hex;
use crate::model::Episode;
use crate::store::rank::row_tokens;
use crate::store::Db;

const COLS: &str = "e.id, e.user_id, e.group_id, e.session_id, e.timestamp_ms, e.participants, \
    e.subject, e.summary, e.episode, e.parent_id, e.visible_ms";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(Episode, String)> {
    Ok((
        Episode {
            id: r.get(0)?,
            user_id: r.get(1)?,
            group_id: r.get(2)?,
            session_id: r.get(3)?,
            timestamp_ms: r.get(4)?,
            participants: Vec::new(),
            subject: r.get(6)?,
            summary: r.get(7)?,
            episode: r.get(8)?,
            parent_id: r.get(9)?,
            visible_ms: r.get(10)?,
        },
        r.get(5)?,
    ))
}

fn decode((mut e, participants): (Episode, String)) -> Result<Episode, Error> {
    e.participants = serde_json::from_str(&participants)?;
    Ok(e)
}

/// The FTS owner tokens of a user and of a group (one alphanumeric token each).
fn owner_token(prefix: char, id: &str) -> String {
    format!("{prefix}{}", md5_hex(id))
}

/// Inserts an episode and its FTS row.
pub fn insert(tx: &Transaction<'_>, e: &Episode) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO episodes (id, user_id, group_id, session_id, timestamp_ms, participants, subject, \
         summary, episode, parent_id, visible_ms, tokens) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    )?
    .execute(params![
        e.id, e.user_id, e.group_id, e.session_id, e.timestamp_ms,
        serde_json::to_string(&e.participants)?, e.subject, e.summary, e.episode, e.parent_id, e.visible_ms,
        row_tokens(e)
    ])?;
    let rowid = tx.last_insert_rowid();
    let owner = format!(
        "{} {}",
        owner_token('u', &e.user_id),
        owner_token('g', &e.group_id)
    );
    tx.prepare_cached("INSERT INTO episodes_fts (rowid, owner, subject, summary, episode) VALUES (?1,?2,?3,?4,?5)")?
        .execute(params![rowid, owner, e.subject, e.summary, e.episode])?;
    Ok(())
}

/// BM25 search among the named owners' visible episodes (see [`crate::store::rank`]).
/// `terms` are lower-case tokens. Scores are positive, higher = better.
pub fn search(
    db: &mut Db,
    users: &[String],
    groups: &[String],
    terms: &[String],
    now_ms: i64,
) -> Result<Vec<(Episode, f64)>, Error> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut candidates = list_owned(&db.conn, users, groups)?;
    candidates.retain(|e| e.visible_ms <= now_ms);
    db.rank.score(&db.conn, candidates, terms)
}

/// Every episode of the named owners (no index lag: `get` reads here), newest first.
pub fn list_owned(
    c: &Connection,
    users: &[String],
    groups: &[String],
) -> Result<Vec<Episode>, Error> {
    let mut out = Vec::new();
    let mut by_user =
        c.prepare_cached(&format!("SELECT {COLS} FROM episodes e WHERE e.user_id=?1"))?;
    for u in users {
        for row in by_user
            .query_map([u], from_row)?
            .collect::<Result<Vec<_>, _>>()?
        {
            out.push(decode(row)?);
        }
    }
    let mut by_group = c.prepare_cached(&format!(
        "SELECT {COLS} FROM episodes e WHERE e.group_id=?1"
    ))?;
    for g in groups {
        for row in by_group
            .query_map([g], from_row)?
            .collect::<Result<Vec<_>, _>>()?
        {
            let e = decode(row)?;
            if !out.iter().any(|x: &Episode| x.id == e.id) {
                out.push(e);
            }
        }
    }
    out.sort_by(|a, b| {
        b.timestamp_ms
            .cmp(&a.timestamp_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

/// Number of episodes a user has (the profile's `memcell_count`).
pub fn count_for_user(c: &Connection, user_id: &str) -> Result<i64, Error> {
    Ok(
        c.prepare_cached("SELECT COUNT(*) FROM episodes WHERE user_id=?1")?
            .query_row([user_id], |r| r.get(0))?,
    )
}

/// Deletes episodes (and their FTS rows) by episode id or memcell id.
pub fn delete_by_id(c: &Connection, id: &str) -> Result<usize, Error> {
    c.execute(
        "DELETE FROM episodes_fts WHERE rowid IN (SELECT seq FROM episodes WHERE id=?1 OR parent_id=?1)",
        [id],
    )?;
    Ok(c.execute("DELETE FROM episodes WHERE id=?1 OR parent_id=?1", [id])?)
}

/// Deletes the given episodes by id.
pub fn delete_ids(c: &Connection, ids: &[String]) -> Result<usize, Error> {
    let mut n = 0;
    for id in ids {
        n += delete_by_id(c, id)?;
    }
    Ok(n)
}

/// The next v2 episode id of a user on a day: `<user>_ep_<YYYYMMDD>_<NNNNNNNN>`, the
/// sequence one past the highest that user already has that day (as the real server's
/// daily episode log numbers its entries).
pub fn next_v2_id(c: &Connection, user_id: &str, compact_date: &str) -> Result<String, Error> {
    let prefix = format!("{user_id}_ep_{compact_date}_");
    let len = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
    let ids: Vec<String> = c
        .prepare_cached("SELECT id FROM episodes WHERE user_id=?1 AND substr(id, 1, ?3)=?2")?
        .query_map(params![user_id, prefix, len], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let highest = ids
        .iter()
        .filter_map(|id| id.get(prefix.len()..)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    Ok(format!("{prefix}{:08}", highest + 1))
}

/// Deletes the episodes with exactly these ids (and their FTS rows); returns how many.
pub fn delete_exact(c: &Connection, ids: &[String]) -> Result<usize, Error> {
    let mut n = 0;
    for id in ids {
        c.execute(
            "DELETE FROM episodes_fts WHERE rowid IN (SELECT seq FROM episodes WHERE id=?1)",
            [id],
        )?;
        n += c.execute("DELETE FROM episodes WHERE id=?1", [id])?;
    }
    Ok(n)
}

/// Deletes a user's episodes, all or one session's; returns how many.
pub fn delete_for_user(
    c: &Connection,
    user_id: &str,
    session_id: Option<&str>,
) -> Result<usize, Error> {
    c.execute(
        "DELETE FROM episodes_fts WHERE rowid IN (SELECT seq FROM episodes WHERE user_id=?1 \
         AND (?2 IS NULL OR session_id=?2))",
        params![user_id, session_id],
    )?;
    Ok(c.execute(
        "DELETE FROM episodes WHERE user_id=?1 AND (?2 IS NULL OR session_id=?2)",
        params![user_id, session_id],
    )?)
}
