//! The profile_items table: upserted facts per user, visible only after the profile delay
//! (both APIs) and, for the v2 profile document, only once the user has
//! `profile_lag_episodes` newer episodes than the one a fact came from.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, Transaction};

use crate::error::Error;
use crate::ids::object_id;
use crate::model::{ItemType, ProfileFact, ProfileItem};

/// The engine keeps at most this many items per profile.
pub const MAX_ITEMS: usize = 25;

/// Facts one episode contributed to one user's profile.
#[derive(Debug, Clone, Copy)]
pub struct NewFacts<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// `gen_solo_…` of the owner.
    pub group_id: &'a str,
    /// The facts (later rows win per key).
    pub facts: &'a [ProfileFact],
    /// One evidence sentence per fact (same order; missing entries are empty).
    pub evidence: &'a [String],
    /// When the facts become visible, epoch ms (the profile delay).
    pub visible_ms: i64,
    /// The owner's episode count including the episode these facts came from.
    pub ordinal: i64,
    /// The time of that episode, epoch ms (the document's `profile_timestamp_ms`).
    pub source_ts_ms: i64,
}

/// Records facts for a user (later rows win per key).
pub fn upsert(tx: &Transaction<'_>, batch: &NewFacts<'_>) -> Result<(), Error> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO profile_items (id, user_id, group_id, item_type, key, label, value, visible_ms, \
         ordinal, evidence, source_ts_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    )?;
    for (i, f) in batch.facts.iter().enumerate() {
        stmt.execute(params![
            object_id(),
            batch.user_id,
            batch.group_id,
            f.item_type.as_str(),
            f.key,
            f.label,
            f.value,
            batch.visible_ms,
            batch.ordinal,
            batch
                .evidence
                .get(i)
                .map(String::as_str)
                .unwrap_or_default(),
            batch.source_ts_ms,
        ])?;
    }
    Ok(())
}

/// The latest visible row per key of a user whose ordinal is at most `max_ordinal`,
/// oldest key first, capped at [`MAX_ITEMS`].
fn latest(
    c: &Connection,
    user_id: &str,
    now_ms: i64,
    max_ordinal: i64,
) -> Result<Vec<ProfileItem>, Error> {
    let mut stmt = c.prepare_cached(
        "SELECT id, group_id, item_type, key, label, value, evidence, source_ts_ms FROM profile_items \
         WHERE user_id=?1 AND visible_ms <= ?2 AND ordinal <= ?3 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map(params![user_id, now_ms, max_ordinal], |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ),
                (
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                ),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, ProfileItem> = BTreeMap::new();
    for ((id, group_id, item_type, key), (label, value, evidence, source_ts_ms)) in rows {
        let Some(item_type) = ItemType::parse(&item_type) else {
            continue;
        };
        if !by_key.contains_key(&key) {
            order.push(key.clone());
        }
        let fact = ProfileFact {
            item_type,
            key: key.clone(),
            label,
            value,
        };
        by_key.insert(
            key,
            ProfileItem {
                id,
                user_id: user_id.to_owned(),
                group_id,
                fact,
                evidence,
                source_ts_ms,
            },
        );
    }
    Ok(order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .take(MAX_ITEMS)
        .collect())
}

/// The visible profile of a user for the v1 API (no episode lag).
pub fn visible(c: &Connection, user_id: &str, now_ms: i64) -> Result<Vec<ProfileItem>, Error> {
    latest(c, user_id, now_ms, i64::MAX)
}

/// The items of a user's v2 profile document: visible facts from all but the user's
/// `lag` newest episodes (`episode_count` is how many the user has now).
pub fn document_items(
    c: &Connection,
    user_id: &str,
    now_ms: i64,
    episode_count: i64,
    lag: u32,
) -> Result<Vec<ProfileItem>, Error> {
    latest(c, user_id, now_ms, episode_count - i64::from(lag))
}

/// Deletes profile rows by owner.
pub fn delete_scoped(
    c: &Connection,
    user_id: Option<&str>,
    group_id: Option<&str>,
) -> Result<usize, Error> {
    Ok(c.execute(
        "DELETE FROM profile_items WHERE (?1 IS NULL OR user_id=?1) AND (?2 IS NULL OR group_id=?2)",
        params![user_id, group_id],
    )?)
}
