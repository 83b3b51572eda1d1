//! The profile_items table: upserted facts per user, visible only after the profile delay.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, Transaction};

use crate::error::Error;
use crate::ids::object_id;
use crate::model::{ItemType, ProfileFact, ProfileItem};

/// The engine keeps at most this many items per profile.
pub const MAX_ITEMS: usize = 25;

/// Records facts for a user, becoming visible at `visible_ms` (later rows win per key).
pub fn upsert(
    tx: &Transaction<'_>,
    user_id: &str,
    group_id: &str,
    facts: &[ProfileFact],
    visible_ms: i64,
) -> Result<(), Error> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO profile_items (id, user_id, group_id, item_type, key, label, value, visible_ms) \
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
    )?;
    for f in facts {
        stmt.execute(params![
            object_id(),
            user_id,
            group_id,
            f.item_type.as_str(),
            f.key,
            f.label,
            f.value,
            visible_ms
        ])?;
    }
    Ok(())
}

/// The visible profile of a user: the latest visible row per key, oldest key first, capped.
pub fn visible(c: &Connection, user_id: &str, now_ms: i64) -> Result<Vec<ProfileItem>, Error> {
    let mut stmt = c.prepare_cached(
        "SELECT id, group_id, item_type, key, label, value FROM profile_items \
         WHERE user_id=?1 AND visible_ms <= ?2 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map(params![user_id, now_ms], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<String> = Vec::new();
    let mut latest: BTreeMap<String, ProfileItem> = BTreeMap::new();
    for (id, group_id, item_type, key, label, value) in rows {
        let Some(item_type) = ItemType::parse(&item_type) else {
            continue;
        };
        if !latest.contains_key(&key) {
            order.push(key.clone());
        }
        let fact = ProfileFact {
            item_type,
            key: key.clone(),
            label,
            value,
        };
        latest.insert(
            key,
            ProfileItem {
                id,
                user_id: user_id.to_owned(),
                group_id,
                fact,
            },
        );
    }
    Ok(order
        .into_iter()
        .filter_map(|k| latest.remove(&k))
        .take(MAX_ITEMS)
        .collect())
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
