//! The message buffer table: append, read and remove cells (for a cut), list user turns
//! (raw_message), delete.

use rusqlite::{params, Connection, Row, Transaction};

use crate::error::Error;
use crate::model::BufferedMessage;

/// Hard limits of §6.1: a cell is cut when the buffer reaches either.
pub const HARD_MSG_LIMIT: i64 = 500;
/// Token limit (tokens approximated as chars / 4).
pub const HARD_TOKEN_LIMIT: i64 = 65_536;

const COLS: &str = "id, request_id, user_id, session_id, group_id, role, sender_id, sender_name, \
    message_id, content_items, text, timestamp_ms, created_ms";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(BufferedMessage, String)> {
    Ok((
        BufferedMessage {
            id: r.get(0)?,
            request_id: r.get(1)?,
            user_id: r.get(2)?,
            session_id: r.get(3)?,
            group_id: r.get(4)?,
            role: r.get(5)?,
            sender_id: r.get(6)?,
            sender_name: r.get(7)?,
            message_id: r.get(8)?,
            content_items: serde_json::Value::Null,
            text: r.get(10)?,
            timestamp_ms: r.get(11)?,
            created_ms: r.get(12)?,
        },
        r.get(9)?,
    ))
}

fn decode(rows: Vec<(BufferedMessage, String)>) -> Result<Vec<BufferedMessage>, Error> {
    rows.into_iter()
        .map(|(mut m, items)| {
            m.content_items = serde_json::from_str(&items)?;
            Ok(m)
        })
        .collect()
}

/// Appends messages inside a transaction.
pub fn append(tx: &Transaction<'_>, msgs: &[BufferedMessage]) -> Result<(), Error> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO buffer ({COLS}, tokens) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
    ))?;
    for m in msgs {
        stmt.execute(params![
            m.id,
            m.request_id,
            m.user_id,
            m.session_id,
            m.group_id,
            m.role,
            m.sender_id,
            m.sender_name,
            m.message_id,
            m.content_items.to_string(),
            m.text,
            m.timestamp_ms,
            m.created_ms,
            m.tokens()
        ])?;
    }
    Ok(())
}

/// A buffered message with its row number (what [`remove`] needs to take it).
pub type Buffered = (i64, BufferedMessage);

/// All buffered messages of a session, ordered by (timestamp, arrival): the flush cell.
/// Nothing is removed; [`remove`] does that once the episode is stored.
pub fn session(c: &Connection, user_id: &str, session_id: &str) -> Result<Vec<Buffered>, Error> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS}, seq, tokens FROM buffer WHERE user_id=?1 AND session_id=?2 ORDER BY timestamp_ms, seq"
    ))?;
    let rows = stmt
        .query_map(params![user_id, session_id], |r| {
            Ok((from_row(r)?, r.get::<_, i64>(13)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (msgs, seqs): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    Ok(seqs.into_iter().zip(decode(msgs)?).collect())
}

/// Removes the given rows inside the transaction that stores their episode. Returns
/// `false` (the caller must roll back) when any of them is already gone, i.e. a concurrent
/// cut or delete took it.
pub fn remove(tx: &Transaction<'_>, rows: &[Buffered]) -> Result<bool, Error> {
    let mut stmt = tx.prepare_cached("DELETE FROM buffer WHERE seq=?1")?;
    for (seq, _) in rows {
        if stmt.execute([seq])? != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The cells the hard limits force while the session buffer is at a limit; each cell is
/// the longest prefix that reaches (but stays within) the limits. Nothing is removed;
/// [`remove`] does that once each cell's episode is stored.
pub fn over_limit_cells(
    c: &Connection,
    user_id: &str,
    session_id: &str,
) -> Result<Vec<Vec<Buffered>>, Error> {
    let (count, tokens): (i64, i64) = c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(tokens),0) FROM buffer WHERE user_id=?1 AND session_id=?2",
        params![user_id, session_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count < HARD_MSG_LIMIT && tokens < HARD_TOKEN_LIMIT {
        return Ok(Vec::new());
    }
    let mut rows = session(c, user_id, session_id)?;
    let mut cells = Vec::new();
    loop {
        let total: i64 = rows.iter().map(|(_, m)| m.tokens()).sum();
        if (rows.len() as i64) < HARD_MSG_LIMIT && total < HARD_TOKEN_LIMIT {
            break;
        }
        let (mut n, mut t) = (0usize, 0i64);
        while n < rows.len() && (n as i64) < HARD_MSG_LIMIT && t < HARD_TOKEN_LIMIT {
            t += rows[n].1.tokens();
            n += 1;
        }
        cells.push(rows.drain(..n.max(1)).collect());
    }
    Ok(cells)
}

/// Buffered user turns sent by any of `users` (for `raw_message` search).
pub fn user_turns(c: &Connection, users: &[String]) -> Result<Vec<BufferedMessage>, Error> {
    let mut out = Vec::new();
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM buffer WHERE user_id=?1 AND role='user' AND sender_id=?1 ORDER BY timestamp_ms, seq"
    ))?;
    for u in users {
        let rows = stmt
            .query_map([u], from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        out.extend(decode(rows)?);
    }
    Ok(out)
}

/// Deletes buffered messages by owner (user or group) and optional session.
pub fn delete_scoped(
    c: &Connection,
    user_id: Option<&str>,
    group_id: Option<&str>,
    session_id: Option<&str>,
) -> Result<usize, Error> {
    let n = c.execute(
        "DELETE FROM buffer WHERE (?1 IS NULL OR user_id=?1) AND (?2 IS NULL OR group_id=?2) \
         AND (?3 IS NULL OR session_id=?3)",
        params![user_id, group_id, session_id],
    )?;
    Ok(n)
}

/// Appends v2 rows (unattributed: empty `user_id`) to their session buffer, dropping any
/// whose `message_id` the session already buffers or an earlier row of the batch has (the
/// real server keeps the first row per message id). Returns how many were stored.
pub fn append_new(tx: &Transaction<'_>, msgs: &[BufferedMessage]) -> Result<usize, Error> {
    let mut fresh: Vec<BufferedMessage> = Vec::new();
    {
        let mut known = tx.prepare_cached(
            "SELECT 1 FROM buffer WHERE user_id=?1 AND session_id=?2 AND message_id=?3 LIMIT 1",
        )?;
        for m in msgs {
            let buffered = known.exists(params![m.user_id, m.session_id, m.message_id])?;
            let repeated = fresh
                .iter()
                .any(|f| f.session_id == m.session_id && f.message_id == m.message_id);
            if !buffered && !repeated {
                fresh.push(m.clone());
            }
        }
    }
    append(tx, &fresh)?;
    Ok(fresh.len())
}

/// Deletes a sender's unattributed (v2) buffered messages, all or one session's.
pub fn delete_sender(
    c: &Connection,
    sender_id: &str,
    session_id: Option<&str>,
) -> Result<usize, Error> {
    Ok(c.execute(
        "DELETE FROM buffer WHERE user_id='' AND sender_id=?1 AND (?2 IS NULL OR session_id=?2)",
        params![sender_id, session_id],
    )?)
}
