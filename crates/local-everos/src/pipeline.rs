//! The v1 write path shared by add and flush: buffer messages per `(user, session)`, cut
//! cells (hard limits or flush), extract episodes (LLM or deterministic) and schedule
//! profile facts. The v2 path (session buffers, per-sender fan-out) is [`crate::v2::pipeline`].

use crate::clock::now_ms;
use crate::error::Error;
use crate::extract::{self, participants};
use crate::ids::{object_id, solo_group_id};
use crate::model::{BufferedMessage, Episode, ProfileFact};
use crate::profile;
use crate::recall::CellVectors;
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};

/// How often a flush re-reads the buffer when a concurrent cut took part of what it read.
const FLUSH_ATTEMPTS: usize = 3;

/// Appends messages to their session buffer and cuts any cells the hard limits force.
/// Returns how many episodes were extracted. The messages stay buffered when a cut fails
/// (logged, not an error: they are stored), so a later add or flush retries it.
pub async fn buffer_messages(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    msgs: Vec<BufferedMessage>,
) -> Result<usize, Error> {
    let (u, s) = (user_id.to_owned(), session_id.to_owned());
    let cells = state
        .store()
        .call(move |c| {
            let tx = c.transaction()?;
            buffer::append(&tx, &msgs)?;
            let cells = buffer::over_limit_cells(&tx, &u, &s)?;
            tx.commit()?;
            Ok(cells)
        })
        .await?;
    // The messages are stored (committed above): a failed cut must not turn the add
    // into an error, or the client would add them again. They stay buffered, and the
    // next add or flush cuts them.
    let mut n = 0;
    for cell in cells {
        match store_cell(state, user_id, session_id, cell).await {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cutting a buffered cell failed; kept for the next flush")
            }
        }
    }
    Ok(n)
}

/// Flushes a session: one episode from everything buffered, or `false` when empty. The
/// buffer is only emptied together with storing the episode, so a failed flush (storage
/// error, or a panic during extraction) leaves it for a retry.
pub async fn flush(state: &AppState, user_id: &str, session_id: &str) -> Result<bool, Error> {
    for _ in 0..FLUSH_ATTEMPTS {
        let (u, s) = (user_id.to_owned(), session_id.to_owned());
        let rows = state
            .store()
            .call(move |c| buffer::session(c, &u, &s))
            .await?;
        if rows.is_empty() {
            return Ok(false);
        }
        if store_cell(state, user_id, session_id, rows).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Extracts and stores one cell: the episode (visible to search after the index lag) and
/// the profile facts from its user turns (visible after the profile delay), with their
/// sentence vectors when embeddings are on, removing the
/// cell's messages from the buffer in the same transaction. Returns `false` (storing
/// nothing) when a concurrent cut or delete already took some of the messages.
async fn store_cell(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    rows: Vec<buffer::Buffered>,
) -> Result<bool, Error> {
    let msgs: Vec<BufferedMessage> = rows.iter().map(|(_, m)| m.clone()).collect();
    let (text, facts) = match state.llm() {
        Some(llm) => match llm.extract(user_id, &msgs).await {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(%err, "LLM extraction failed; falling back to deterministic");
                deterministic(user_id, &msgs)
            }
        },
        None => deterministic(user_id, &msgs),
    };
    let now = now_ms();
    let cfg = state.config();
    let lag = i64::try_from(cfg.index_lag.as_millis()).unwrap_or(i64::MAX);
    let delay = i64::try_from(cfg.profile_delay.as_millis()).unwrap_or(i64::MAX);
    let group_id = solo_group_id(user_id);
    let episode = Episode {
        id: object_id(),
        user_id: user_id.to_owned(),
        group_id: group_id.clone(),
        session_id: session_id.to_owned(),
        timestamp_ms: msgs.iter().map(|m| m.timestamp_ms).max().unwrap_or(now),
        participants: participants(&msgs),
        subject: text.subject,
        summary: text.summary,
        episode: text.episode,
        parent_id: object_id(),
        visible_ms: now.saturating_add(lag),
    };
    let user = user_id.to_owned();
    let turns: Vec<profile::Turn<'_>> = msgs
        .iter()
        .filter(|m| m.role == "user" && m.sender_id == user_id)
        .map(|m| profile::Turn {
            text: &m.text,
            timestamp_ms: m.timestamp_ms,
            speaker: m.sender_name.as_deref().unwrap_or(&m.sender_id),
        })
        .collect();
    let evidence: Vec<String> = facts.iter().map(|f| profile::evidence(f, &turns)).collect();
    let vectors = CellVectors::embed(state, &episode, &facts).await;
    state
        .store()
        .call_db(move |db| {
            let tx = db.conn.transaction()?;
            if !buffer::remove(&tx, &rows)? {
                // Dropping the transaction rolls the partial removal back.
                return Ok(false);
            }
            episodes::insert(&tx, &episode)?;
            let ordinal = episodes::count_for_user(&tx, &user)?;
            profiles::upsert(
                &tx,
                &profiles::NewFacts {
                    user_id: &user,
                    group_id: &group_id,
                    facts: &facts,
                    evidence: &evidence,
                    visible_ms: now.saturating_add(delay),
                    ordinal,
                    source_ts_ms: episode.timestamp_ms,
                },
            )?;
            if let Some(v) = &vectors {
                v.store(&tx, &episode.id, &user, &facts)?;
            }
            tx.commit()?;
            db.rank.on_insert(&episode);
            Ok(true)
        })
        .await
}

fn deterministic(
    user_id: &str,
    msgs: &[BufferedMessage],
) -> (extract::Extraction, Vec<ProfileFact>) {
    let user_turns: Vec<&str> = msgs
        .iter()
        .filter(|m| m.role == "user" && m.sender_id == user_id)
        .map(|m| m.text.as_str())
        .collect();
    (
        extract::extract(user_id, msgs),
        profile::extract(&user_turns),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn msg(user: &str, text: &str, ts: i64) -> BufferedMessage {
        BufferedMessage {
            id: object_id(),
            request_id: "r".into(),
            user_id: user.into(),
            session_id: "s".into(),
            group_id: solo_group_id(user),
            role: "user".into(),
            sender_id: user.into(),
            sender_name: None,
            message_id: object_id(),
            content_items: serde_json::Value::Null,
            text: text.into(),
            timestamp_ms: ts,
            created_ms: ts,
        }
    }

    async fn count(state: &AppState, table: &'static str) -> i64 {
        state
            .store()
            .call(move |c| {
                Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
            })
            .await
            .unwrap()
    }

    /// Makes every episode insert fail (true) or work again (false).
    async fn break_episodes(state: &AppState, broken: bool) {
        let sql = if broken {
            "ALTER TABLE episodes RENAME TO episodes_off"
        } else {
            "ALTER TABLE episodes_off RENAME TO episodes"
        };
        state
            .store()
            .call(move |c| Ok(c.execute_batch(sql)?))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn failed_cut_keeps_the_buffer_for_a_retry() {
        let state = AppState::new(Config::in_memory("k")).unwrap();
        let two = vec![
            msg("u", "My router drops wifi.", 1),
            msg("u", "Still broken.", 2),
        ];
        assert_eq!(buffer_messages(&state, "u", "s", two).await.unwrap(), 0);

        break_episodes(&state, true).await;
        assert!(flush(&state, "u", "s").await.is_err());
        assert_eq!(
            count(&state, "buffer").await,
            2,
            "flush failure lost the buffer"
        );
        // A hard-limit cut during add that fails keeps its messages too, and the add
        // still succeeds: they are stored, and a client retry would duplicate them.
        let huge = "word ".repeat(60_000);
        assert_eq!(
            buffer_messages(&state, "u", "s", vec![msg("u", &huge, 3)])
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            count(&state, "buffer").await,
            3,
            "add cut failure lost the buffer"
        );

        break_episodes(&state, false).await;
        assert!(flush(&state, "u", "s").await.unwrap());
        assert_eq!(count(&state, "buffer").await, 0);
        assert_eq!(count(&state, "episodes").await, 1);
        assert!(!flush(&state, "u", "s").await.unwrap());
    }
}
