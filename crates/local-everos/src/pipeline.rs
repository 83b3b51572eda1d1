//! The write path shared by add and flush: buffer messages, cut cells (hard limits or
//! flush), extract episodes (LLM or deterministic) and schedule profile facts.

use crate::clock::now_ms;
use crate::error::Error;
use crate::extract::{self, participants};
use crate::ids::{object_id, solo_group_id};
use crate::model::{BufferedMessage, Episode, ProfileFact};
use crate::profile;
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};

/// Appends messages to their session buffer and cuts any cells the hard limits force.
/// Returns how many episodes were extracted.
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
            let cells = buffer::take_over_limit(&tx, &u, &s)?;
            tx.commit()?;
            Ok(cells)
        })
        .await?;
    let n = cells.len();
    for cell in cells {
        store_cell(state, user_id, session_id, cell).await?;
    }
    Ok(n)
}

/// Flushes a session: one episode from everything buffered, or `false` when empty.
pub async fn flush(state: &AppState, user_id: &str, session_id: &str) -> Result<bool, Error> {
    let (u, s) = (user_id.to_owned(), session_id.to_owned());
    let msgs = state
        .store()
        .call(move |c| {
            let tx = c.transaction()?;
            let msgs = buffer::take_all(&tx, &u, &s)?;
            tx.commit()?;
            Ok(msgs)
        })
        .await?;
    if msgs.is_empty() {
        return Ok(false);
    }
    store_cell(state, user_id, session_id, msgs).await?;
    Ok(true)
}

/// Extracts and stores one cell: the episode (visible to search after the index lag) and
/// the profile facts from its user turns (visible after the profile delay).
async fn store_cell(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    msgs: Vec<BufferedMessage>,
) -> Result<(), Error> {
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
    state
        .store()
        .call_db(move |db| {
            let tx = db.conn.transaction()?;
            episodes::insert(&tx, &episode)?;
            profiles::upsert(&tx, &user, &group_id, &facts, now.saturating_add(delay))?;
            tx.commit()?;
            db.rank.on_insert(&episode);
            Ok(())
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
