//! The v2 write path. Messages are buffered per session, unattributed (empty `user_id`),
//! deduplicated by message id `m_<session>_<timestamp>_<index>` against what the session
//! still buffers. A cut (flush, or the hard limits on a non-deferred add once a user turn
//! is buffered) extracts one narrative and fans it out: every distinct `role: "user"`
//! sender gets an episode `<sender>_ep_<YYYYMMDD>_<NNNNNNNN>` with the whole cell's text
//! (so two customers in one session each get the other's words) and profile facts from
//! their own turns (with the embedding model, the episode and facts are embedded at the
//! cut and their vectors stored with them); assistant turns own nothing, and a cell
//! without a user turn makes no episode.

use crate::clock::{compact_date, now_ms};
use crate::error::Error;
use crate::extract::{self, participants, Extraction};
use crate::ids::{object_id, solo_group_id};
use crate::model::{BufferedMessage, Episode, ProfileFact};
use crate::profile;
use crate::recall::CellVectors;
use crate::state::AppState;
use crate::store::{buffer, episodes, profiles};

/// The buffer owner of v2 rows: none until a cut attributes them.
pub const UNATTRIBUTED: &str = "";

/// How often a flush re-reads the buffer when a concurrent cut took part of what it read.
const FLUSH_ATTEMPTS: usize = 3;

/// What an add did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// Buffered (duplicates silently dropped).
    Accumulated,
    /// A hard limit cut at least one cell.
    Extracted,
}

/// Buffers a batch in its session (dropping message ids the session already buffers) and,
/// unless `defer`, cuts the cells the hard limits force once a user turn is buffered.
pub async fn add(
    state: &AppState,
    session_id: &str,
    msgs: Vec<BufferedMessage>,
    defer: bool,
) -> Result<AddOutcome, Error> {
    let s = session_id.to_owned();
    let cells = state
        .store()
        .call(move |c| {
            let tx = c.transaction()?;
            buffer::append_new(&tx, &msgs)?;
            let cells = if defer {
                Vec::new()
            } else {
                let rows = buffer::session(&tx, UNATTRIBUTED, &s)?;
                if rows.iter().any(|(_, m)| m.role == "user") {
                    buffer::over_limit_cells(&tx, UNATTRIBUTED, &s)?
                } else {
                    Vec::new()
                }
            };
            tx.commit()?;
            Ok(cells)
        })
        .await?;
    let mut cut = false;
    for cell in cells {
        // The messages are stored: a failed cut keeps them for the next flush.
        match store_cell(state, session_id, cell).await {
            Ok(done) => cut |= done,
            Err(e) => {
                tracing::warn!(error = %e, "cutting a v2 cell failed; kept for the next flush")
            }
        }
    }
    Ok(if cut {
        AddOutcome::Extracted
    } else {
        AddOutcome::Accumulated
    })
}

/// Flushes a session: one cell from everything buffered. `false` when nothing was.
pub async fn flush(state: &AppState, session_id: &str) -> Result<bool, Error> {
    for _ in 0..FLUSH_ATTEMPTS {
        let s = session_id.to_owned();
        let rows = state
            .store()
            .call(move |c| buffer::session(c, UNATTRIBUTED, &s))
            .await?;
        if rows.is_empty() {
            return Ok(false);
        }
        if store_cell(state, session_id, rows).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Distinct `role: "user"` senders in order of first appearance: the cell's owners.
fn owners(msgs: &[BufferedMessage]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in msgs.iter().filter(|m| m.role == "user") {
        if !out.contains(&m.sender_id) {
            out.push(m.sender_id.clone());
        }
    }
    out
}

/// One owner's share of a cell.
struct OwnerFacts {
    user_id: String,
    facts: Vec<ProfileFact>,
    evidence: Vec<String>,
}

/// Extracts one cell and stores an episode per owner, removing the cell's messages in the
/// same transaction. `false` (nothing stored) when a concurrent cut or delete took some.
async fn store_cell(
    state: &AppState,
    session_id: &str,
    rows: Vec<buffer::Buffered>,
) -> Result<bool, Error> {
    let msgs: Vec<BufferedMessage> = rows.iter().map(|(_, m)| m.clone()).collect();
    let owners = owners(&msgs);
    let (text, llm_facts) = extraction(state, &owners, &msgs).await;
    let per_owner: Vec<OwnerFacts> = owners
        .iter()
        .map(|u| {
            let turns: Vec<profile::Turn<'_>> = msgs
                .iter()
                .filter(|m| m.role == "user" && &m.sender_id == u)
                .map(|m| profile::Turn {
                    text: &m.text,
                    timestamp_ms: m.timestamp_ms,
                    speaker: m.sender_name.as_deref().unwrap_or(&m.sender_id),
                })
                .collect();
            let facts = match &llm_facts {
                Some(f) => f.clone(),
                None => profile::extract(&turns.iter().map(|t| t.text).collect::<Vec<_>>()),
            };
            let evidence = facts.iter().map(|f| profile::evidence(f, &turns)).collect();
            OwnerFacts {
                user_id: u.clone(),
                facts,
                evidence,
            }
        })
        .collect();
    let now = now_ms();
    let cfg = state.config();
    let lag = i64::try_from(cfg.index_lag.as_millis()).unwrap_or(i64::MAX);
    let delay = i64::try_from(cfg.profile_delay.as_millis()).unwrap_or(i64::MAX);
    let timestamp_ms = msgs.iter().map(|m| m.timestamp_ms).max().unwrap_or(now);
    let template = Episode {
        id: String::new(),
        user_id: String::new(),
        group_id: String::new(),
        session_id: session_id.to_owned(),
        timestamp_ms,
        participants: participants(&msgs),
        subject: text.subject,
        summary: text.summary,
        episode: text.episode,
        parent_id: object_id(),
        visible_ms: now.saturating_add(lag),
    };
    // Each owner's episode and facts are embedded before the lock, stored with the rows.
    let mut vectors = Vec::with_capacity(per_owner.len());
    for owner in &per_owner {
        vectors.push(CellVectors::embed(state, &template, &owner.facts).await);
    }
    state
        .store()
        .call_db(move |db| {
            let tx = db.conn.transaction()?;
            if !buffer::remove(&tx, &rows)? {
                return Ok(false);
            }
            let mut stored = Vec::new();
            for (owner, vectors) in per_owner.iter().zip(&vectors) {
                let user = owner.user_id.as_str();
                let group_id = solo_group_id(user);
                let episode = Episode {
                    id: episodes::next_v2_id(&tx, user, &compact_date(now))?,
                    user_id: user.to_owned(),
                    group_id: group_id.clone(),
                    ..template.clone()
                };
                episodes::insert(&tx, &episode)?;
                let ordinal = episodes::count_for_user(&tx, user)?;
                profiles::upsert(
                    &tx,
                    &profiles::NewFacts {
                        user_id: user,
                        group_id: &group_id,
                        facts: &owner.facts,
                        evidence: &owner.evidence,
                        visible_ms: now.saturating_add(delay),
                        ordinal,
                        source_ts_ms: timestamp_ms,
                    },
                )?;
                if let Some(v) = vectors {
                    v.store(&tx, &episode.id, user, &owner.facts)?;
                }
                stored.push(episode);
            }
            tx.commit()?;
            for e in &stored {
                db.rank.on_insert(e);
            }
            Ok(true)
        })
        .await
}

/// The cell's text (LLM when configured, deterministic otherwise or on failure) and, when
/// the LLM answered for a cell with exactly one owner, its profile facts.
async fn extraction(
    state: &AppState,
    owners: &[String],
    msgs: &[BufferedMessage],
) -> (Extraction, Option<Vec<ProfileFact>>) {
    let label = if owners.is_empty() {
        "(none)".to_owned()
    } else {
        owners.join(" and ")
    };
    if !owners.is_empty() {
        if let Some(llm) = state.llm() {
            match llm.extract(&label, msgs).await {
                Ok((text, facts)) => return (text, (owners.len() == 1).then_some(facts)),
                Err(err) => {
                    tracing::warn!(%err, "LLM extraction failed; falling back to deterministic")
                }
            }
        }
    }
    (extract::extract(&label, msgs), None)
}
