//! The idempotency ledger for customer messages, in the database: one row per (customer,
//! ticket, message id) with the content hash, the client (IP) that sent it, when it was
//! first seen, and how far the message got (user turn, reply, assistant turn, response).
//! Bounded in size and age. When full, making room never takes an id in use; a client
//! (customer or IP) holding more than a tenth of the ledger gives up its own oldest ids;
//! otherwise ids past the retry window go first, then the heaviest client's. So a full
//! ledger only ever refuses the client that filled it (`rate_limited`).
//!
//! Each entry is single-flight: in one process through a tokio mutex, across replicas
//! (PostgreSQL) through a claim on the row (owner = this replica's random id, with a
//! lease renewed while held). A request that cannot claim within a short wait is told
//! to come back (`503` with `Retry-After`); a claim of a replica that died expires and
//! another replica resumes from the row. The progress is written to the row before each
//! EverOS add is sent (write-ahead: "outcome unknown"), so a process killed mid-add leaves
//! behind what the retry needs to check instead of re-adding.

pub mod record;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use everdesk_api::{Context, SendMessageResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;

use crate::{
    clock::now_ms,
    params,
    store::{Row, Statement, Store, StoreError, Val},
};
use record::Saved;

/// Whether an EverOS add happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Not sent, or sent and definitely refused.
    Pending,
    /// Sent at this timestamp; the answer never came (timeout) — it may be stored.
    Unknown(i64),
    /// Stored at this timestamp.
    Done(i64),
}

/// The progress of one customer message.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The customer turn.
    pub user: Step,
    /// The reply text and the context it used, once generated (reused on retries).
    pub reply: Option<(String, Context)>,
    /// The assistant turn.
    pub assistant: Step,
    /// The full answer, once every step is done.
    pub response: Option<SendMessageResponse>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            user: Step::Pending,
            reply: None,
            assistant: Step::Pending,
            response: None,
        }
    }
}

type Key = (String, String, String);

/// A ledger entry: [`Ledger::claim`] it for the whole handling of the message.
#[derive(Debug, Clone)]
pub struct Entry {
    key: Key,
    content: String,
    client: String,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Entry {
    /// Whether two entries are the same message's (share one single-flight lock).
    pub fn same(&self, other: &Entry) -> bool {
        Arc::ptr_eq(&self.lock, &other.lock)
    }
}

/// Why a message id cannot get a ledger entry now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Same message id, different content.
    ContentMismatch,
    /// This client's share of the ledger is full of ids still in use or being retried:
    /// the new message waits this long instead.
    Full(Duration),
    /// The database failed (logged).
    Unavailable,
}

/// Why [`Ledger::admit`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitRefused {
    /// No entry (see [`Refused`]).
    Entry(Refused),
    /// No claim (see [`ClaimRefused`]).
    Claim(ClaimRefused),
}

/// Why an entry could not be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefused {
    /// Another replica is handling this message; retry after this many seconds.
    Busy(u64),
    /// The database failed (logged).
    Unavailable,
}

/// Ids younger than this are never evicted to make room unless their own client is over
/// its share: a client retries within minutes, so evicting one could store it twice.
const RETRY_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a claim holds without renewal by default (a dead replica's claim expires
/// after this; `--ledger-lease-ms`).
pub const LEASE: Duration = Duration::from_secs(10);
/// How long a request waits for another replica's claim before `503`.
const CLAIM_WAIT: Duration = Duration::from_secs(3);
/// How often an unclaimed row is looked at again while waiting.
const CLAIM_POLL: Duration = Duration::from_millis(100);

/// Bounded map of message ids to their progress.
pub struct Ledger {
    store: Store,
    capacity: usize,
    ttl: Duration,
    retry_window: Duration,
    /// This process's claim owner id.
    replica: String,
    lease: Duration,
    claim_wait: Duration,
    local: Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>,
    /// The last counted number of ids, when, and this process's inserts since: far from
    /// full, new ids skip counting (a count reads every row) for [`RECOUNT_AFTER`].
    counted: Mutex<Option<(usize, Instant)>>,
}

/// How long a count of the ledger's ids is trusted while far from full.
const RECOUNT_AFTER: Duration = Duration::from_secs(1);

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("capacity", &self.capacity)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn digest(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable<T>(e: StoreError) -> Result<T, Refused> {
    tracing::warn!(error = %e, "idempotency ledger unavailable");
    Err(Refused::Unavailable)
}

/// What "not in use" means in SQL: no claim, or an expired one (`$N` = now).
macro_rules! free {
    ($n:literal) => {
        concat!("(claim_owner IS NULL OR claim_until < $", $n, ")")
    };
}

impl Ledger {
    /// A ledger in `store` keeping at most `capacity` ids for at most `ttl`.
    pub fn new(store: Store, capacity: usize, ttl: Duration) -> Self {
        Self {
            store,
            capacity: capacity.max(1),
            ttl,
            retry_window: RETRY_WINDOW.min(ttl),
            replica: uuid::Uuid::new_v4().simple().to_string(),
            lease: LEASE,
            claim_wait: CLAIM_WAIT,
            local: Mutex::default(),
            counted: Mutex::default(),
        }
    }

    /// As [`Ledger::new`] with another retry window (tests).
    pub fn with_retry_window(mut self, window: Duration) -> Self {
        self.retry_window = window.min(self.ttl);
        self
    }

    /// As [`Ledger::new`] with another claim lease; a request waits for another
    /// replica's claim at most [`CLAIM_WAIT`] and never longer than the lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self.claim_wait = CLAIM_WAIT.min(self.lease);
        self
    }

    /// As [`Ledger::new`] with another claim wait (tests).
    pub fn with_claim_wait(mut self, wait: Duration) -> Self {
        self.claim_wait = wait;
        self
    }

    fn local_entry(&self, key: Key, content: String, client: &str) -> Entry {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if local.len() > 1024 {
            local.retain(|_, w| w.strong_count() > 0);
        }
        let lock = match local.get(&key).and_then(Weak::upgrade) {
            Some(lock) => lock,
            None => {
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                local.insert(key.clone(), Arc::downgrade(&lock));
                lock
            }
        };
        Entry {
            key,
            content,
            client: client.to_owned(),
            lock,
        }
    }

    /// The entry for this message from `client` (its IP, or "" when unknown), created if
    /// new. Refused if the id was used for other content, or when the client's share is
    /// full of ids that may still be retried (see [`Refused::Full`]).
    pub async fn entry(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        content: &str,
        client: &str,
    ) -> Result<Entry, Refused> {
        let key = (
            customer.to_owned(),
            ticket.to_owned(),
            message_id.to_owned(),
        );
        let hash = digest(content);
        match self.insert_first(&key, &hash, client).await {
            Ok(true) => return Ok(self.local_entry(key, hash, client)),
            Ok(false) => {}
            Err(e) => return unavailable(e),
        }
        self.entry_of(key, hash, client).await
    }

    /// The entry for this message, claimed: [`Ledger::entry`] then [`Ledger::claim`]. A
    /// new id while the ledger is far from full costs one statement: it is inserted
    /// already claimed by this replica, while this process holds the id's lock, so no
    /// handler here or on another replica can have touched it (its progress is empty).
    pub async fn admit(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        content: &str,
        client: &str,
    ) -> Result<Claim, AdmitRefused> {
        let key = (
            customer.to_owned(),
            ticket.to_owned(),
            message_id.to_owned(),
        );
        let hash = digest(content);
        if self.roomy_now() {
            let entry = self.local_entry(key.clone(), hash.clone(), client);
            if let Ok(guard) = entry.lock.clone().try_lock_owned() {
                let now = now_ms();
                let (c, t, m) = &key;
                let inserted = self
                    .store
                    .exec(
                        "INSERT INTO ledger (customer, ticket, message_id, content_sha256, client,
                           born_ms, claim_owner, claim_until)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (customer, ticket, message_id) DO NOTHING",
                        params![
                            c,
                            t,
                            m,
                            &hash,
                            client,
                            now,
                            &self.replica,
                            now + millis(self.lease)
                        ],
                    )
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, "idempotency ledger unavailable");
                        AdmitRefused::Entry(Refused::Unavailable)
                    })?;
                if inserted == 1 {
                    return Ok(self.claimed(&entry, guard, vec![Val::Null]));
                }
            }
        }
        let entry = self
            .entry_of(key, hash, client)
            .await
            .map_err(AdmitRefused::Entry)?;
        self.claim(&entry).await.map_err(AdmitRefused::Claim)
    }

    /// [`Ledger::entry`] after the id was found in the ledger (or the ledger is not far
    /// from full): read, then inserted when missing or expired.
    async fn entry_of(&self, key: Key, hash: String, client: &str) -> Result<Entry, Refused> {
        for _ in 0..4 {
            match self.try_entry(&key, &hash, client).await {
                Ok(Some(Ok(()))) => return Ok(self.local_entry(key, hash, client)),
                Ok(Some(Err(refused))) => return Err(refused),
                Ok(None) => continue, // another replica inserted it meanwhile: read again
                Err(e) => return unavailable(e),
            }
        }
        Err(Refused::Unavailable)
    }

    /// The entry for this message if the ledger already holds it with this content (a
    /// retry), without making a new one: for requests refused unless they repeat an
    /// earlier message, so a refused message never takes a slot. `None` also when the
    /// database cannot say (the caller refuses then).
    pub async fn existing(
        &self,
        customer: &str,
        ticket: &str,
        message_id: &str,
        content: &str,
    ) -> Option<Entry> {
        let key = (
            customer.to_owned(),
            ticket.to_owned(),
            message_id.to_owned(),
        );
        let hash = digest(content);
        let row = self
            .store
            .query_one(
                "SELECT content_sha256, born_ms FROM ledger
                 WHERE customer = $1 AND ticket = $2 AND message_id = $3",
                params![&key.0, &key.1, &key.2],
            )
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "idempotency ledger unavailable"))
            .ok()??;
        let born = row.get(1).and_then(Val::int).unwrap_or(0);
        let fresh = now_ms().saturating_sub(born) < millis(self.ttl);
        let same = row.first().and_then(Val::text) == Some(hash.as_str());
        (fresh && same).then(|| self.local_entry(key, hash, ""))
    }

    /// A new id while the ledger is far from full (as counted lately, see
    /// [`Ledger::make_room`]): inserted straight away, one statement. `false` when that
    /// does not apply or the id is there already (then [`Ledger::try_entry`] reads it: a
    /// retry, other content, or an expired id).
    async fn insert_first(
        &self,
        (c, t, m): &Key,
        hash: &str,
        client: &str,
    ) -> Result<bool, StoreError> {
        if !self.roomy_now() {
            return Ok(false);
        }
        let inserted = self
            .store
            .exec(INSERT, params![c, t, m, hash, client, now_ms()])
            .await?;
        Ok(inserted == 1)
    }

    /// Whether the ledger is far from full as counted lately (5% headroom for other
    /// replicas' inserts), counting one more id when it is.
    fn roomy_now(&self) -> bool {
        let roomy = self.capacity - self.capacity / 20;
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        match counted.as_mut() {
            Some((n, at)) if at.elapsed() < RECOUNT_AFTER && *n + 1 < roomy => {
                *n += 1;
                true
            }
            _ => false,
        }
    }

    async fn try_entry(
        &self,
        (c, t, m): &Key,
        hash: &str,
        client: &str,
    ) -> Result<Option<Result<(), Refused>>, StoreError> {
        let now = now_ms();
        let found = self
            .store
            .query_one(
                "SELECT content_sha256, born_ms FROM ledger
                 WHERE customer = $1 AND ticket = $2 AND message_id = $3",
                params![c, t, m],
            )
            .await?;
        if let Some(row) = found {
            let born = row.get(1).and_then(Val::int).unwrap_or(0);
            if now.saturating_sub(born) < millis(self.ttl) {
                let same = row.first().and_then(Val::text) == Some(hash);
                return Ok(Some(if same {
                    Ok(())
                } else {
                    Err(Refused::ContentMismatch)
                }));
            }
            self.store
                .exec(
                    concat!(
                        "DELETE FROM ledger WHERE customer = $1 AND ticket = $2 AND message_id = $3 AND ",
                        free!("4")
                    ),
                    params![c, t, m, now],
                )
                .await?;
        }
        if let Err(wait) = self.make_room(c, client, now).await? {
            return Ok(Some(Err(Refused::Full(wait))));
        }
        let inserted = self
            .store
            .exec(INSERT, params![c, t, m, hash, client, now])
            .await?;
        Ok((inserted == 1).then_some(Ok(())))
    }

    async fn count(&self, sql: &'static str, params: Vec<Val>) -> Result<usize, StoreError> {
        let row = self.store.query_one(sql, params).await?;
        let n = row.and_then(|r| r.first().and_then(Val::int)).unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Frees a slot when the ledger is full (see the module docs); `Err(wait)` when only
    /// this client's own ids could go and none may.
    async fn make_room(
        &self,
        customer: &str,
        client: &str,
        now: i64,
    ) -> Result<Result<(), Duration>, StoreError> {
        const TOTAL: &str = "SELECT COUNT(*) FROM ledger";
        if self.roomy_now() {
            return Ok(Ok(()));
        }
        let total = self.count(TOTAL, vec![]).await?;
        *self.counted.lock().unwrap_or_else(|e| e.into_inner()) = Some((total + 1, Instant::now()));
        if total < self.capacity {
            return Ok(Ok(()));
        }
        self.store
            .exec(
                concat!("DELETE FROM ledger WHERE born_ms <= $1 AND ", free!("2")),
                params![now.saturating_sub(millis(self.ttl)), now],
            )
            .await?;
        if self.count(TOTAL, vec![]).await? < self.capacity {
            return Ok(Ok(()));
        }
        let share = (self.capacity / 10).max(1);
        let theirs = self
            .count(
                "SELECT COUNT(*) FROM ledger WHERE customer = $1",
                params![customer],
            )
            .await?;
        let victim = if theirs >= share {
            let v = self
                .victim(
                    concat!(
                        "SELECT customer, ticket, message_id, born_ms FROM ledger WHERE customer = $1 AND ",
                        free!("2"),
                        " ORDER BY born_ms LIMIT 1"
                    ),
                    params![customer, now],
                )
                .await?;
            v.map(Some).ok_or(())
        } else if !client.is_empty()
            && self
                .count(
                    "SELECT COUNT(*) FROM ledger WHERE client = $1",
                    params![client],
                )
                .await?
                >= share
        {
            let v = self
                .victim(
                    concat!(
                        "SELECT customer, ticket, message_id, born_ms FROM ledger WHERE client = $1 AND ",
                        free!("2"),
                        " ORDER BY born_ms LIMIT 1"
                    ),
                    params![client, now],
                )
                .await?;
            v.map(Some).ok_or(())
        } else {
            Ok(self.someone_elses(now).await?)
        };
        match victim {
            Ok(Some((c, t, m))) => {
                self.store
                    .exec(
                        concat!(
                            "DELETE FROM ledger WHERE customer = $1 AND ticket = $2 AND message_id = $3 AND ",
                            free!("4")
                        ),
                        params![c, t, m, now],
                    )
                    .await?;
                Ok(Ok(()))
            }
            Ok(None) => Ok(Err(Duration::from_secs(1))),
            Err(()) => Ok(Err(self.wait_for_own(customer, now).await?)),
        }
    }

    /// For a client under its share: the oldest id past the retry window, else the
    /// heaviest client's (IP, then customer) oldest id. `None` when every id is in use.
    async fn someone_elses(&self, now: i64) -> Result<Option<Key>, StoreError> {
        let old = self
            .victim(
                concat!(
                    "SELECT customer, ticket, message_id, born_ms FROM ledger WHERE born_ms <= $1 AND ",
                    free!("2"),
                    " ORDER BY born_ms LIMIT 1"
                ),
                params![now.saturating_sub(millis(self.retry_window)), now],
            )
            .await?;
        if old.is_some() {
            return Ok(old);
        }
        let heaviest_client = self
            .store
            .query_one(
                concat!(
                    "SELECT client FROM ledger WHERE client <> '' AND ",
                    free!("1"),
                    " GROUP BY client ORDER BY COUNT(*) DESC LIMIT 1"
                ),
                params![now],
            )
            .await?
            .and_then(|r| r.into_iter().next().and_then(Val::into_text));
        if let Some(client) = heaviest_client {
            return self
                .victim(
                    concat!(
                        "SELECT customer, ticket, message_id, born_ms FROM ledger WHERE client = $1 AND ",
                        free!("2"),
                        " ORDER BY born_ms LIMIT 1"
                    ),
                    params![client, now],
                )
                .await;
        }
        let heaviest_customer = self
            .store
            .query_one(
                concat!(
                    "SELECT customer FROM ledger WHERE ",
                    free!("1"),
                    " GROUP BY customer ORDER BY COUNT(*) DESC LIMIT 1"
                ),
                params![now],
            )
            .await?
            .and_then(|r| r.into_iter().next().and_then(Val::into_text));
        match heaviest_customer {
            Some(customer) => {
                self.victim(
                    concat!(
                        "SELECT customer, ticket, message_id, born_ms FROM ledger WHERE customer = $1 AND ",
                        free!("2"),
                        " ORDER BY born_ms LIMIT 1"
                    ),
                    params![customer, now],
                )
                .await
            }
            None => Ok(None),
        }
    }

    async fn victim(&self, sql: &'static str, params: Vec<Val>) -> Result<Option<Key>, StoreError> {
        let row = self.store.query_one(sql, params).await?;
        Ok(row.and_then(|r| {
            let mut it = r.into_iter().map(Val::into_text);
            Some((it.next()??, it.next()??, it.next()??))
        }))
    }

    /// How long until the customer's oldest id leaves the retry window (at least 1 s).
    async fn wait_for_own(&self, customer: &str, now: i64) -> Result<Duration, StoreError> {
        let oldest = self
            .store
            .query_one(
                "SELECT MIN(born_ms) FROM ledger WHERE customer = $1",
                params![customer],
            )
            .await?
            .and_then(|r| r.first().and_then(Val::int))
            .unwrap_or(now);
        let left = millis(self.retry_window).saturating_sub(now.saturating_sub(oldest));
        Ok(Duration::from_millis(u64::try_from(left).unwrap_or(0)).max(Duration::from_secs(1)))
    }

    /// Takes the entry for handling its message: waits for a handler in this process,
    /// then claims the row, waiting a little for another replica's claim.
    /// The claim reads the row's latest progress.
    pub async fn claim(&self, entry: &Entry) -> Result<Claim, ClaimRefused> {
        let guard = entry.lock.clone().lock_owned().await;
        let deadline = Instant::now() + self.claim_wait;
        let (c, t, m) = &entry.key;
        loop {
            let now = now_ms();
            let rows = self
                .store
                .query(
                    "UPDATE ledger SET claim_owner = $4, claim_until = $5
                     WHERE customer = $1 AND ticket = $2 AND message_id = $3
                       AND (claim_owner IS NULL OR claim_owner = $4 OR claim_until < $6)
                     RETURNING progress",
                    params![c, t, m, &self.replica, now + millis(self.lease), now],
                )
                .await
                .map_err(claim_unavailable)?;
            if let Some(row) = rows.into_iter().next() {
                return Ok(self.claimed(entry, guard, row));
            }
            let holder = self
                .store
                .query_one(
                    "SELECT claim_until FROM ledger
                     WHERE customer = $1 AND ticket = $2 AND message_id = $3",
                    params![c, t, m],
                )
                .await
                .map_err(claim_unavailable)?;
            match holder {
                // Forgotten or evicted meanwhile: back in (unclaimed), then claimed.
                None => {
                    self.store
                        .exec(INSERT, params![c, t, m, &entry.content, &entry.client, now])
                        .await
                        .map_err(claim_unavailable)?;
                }
                Some(row) => {
                    if Instant::now() >= deadline {
                        let until = row.first().and_then(Val::int).unwrap_or(now);
                        let secs = (until.saturating_sub(now) + 999) / 1000;
                        return Err(ClaimRefused::Busy(u64::try_from(secs).unwrap_or(1).max(1)));
                    }
                    tokio::time::sleep(CLAIM_POLL).await;
                }
            }
        }
    }

    fn claimed(&self, entry: &Entry, guard: OwnedMutexGuard<()>, row: Row) -> Claim {
        let progress = row
            .into_iter()
            .next()
            .and_then(Val::into_text)
            .and_then(|json| match serde_json::from_str::<Saved>(&json) {
                Ok(saved) => Some(saved.into_progress()),
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable ledger progress; starting over");
                    None
                }
            })
            .unwrap_or_default();
        let renew = Some({
            let store = self.store.clone();
            let (c, t, m) = entry.key.clone();
            let replica = self.replica.clone();
            let lease = self.lease;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let until = now_ms() + millis(lease);
                    let renewed = store
                        .exec(
                            "UPDATE ledger SET claim_until = $5
                             WHERE customer = $1 AND ticket = $2 AND message_id = $3 AND claim_owner = $4",
                            params![&c, &t, &m, &replica, until],
                        )
                        .await;
                    if let Err(e) = renewed {
                        tracing::warn!(error = %e, "could not renew a ledger claim");
                    }
                }
            })
        });
        Claim {
            progress,
            key: entry.key.clone(),
            store: self.store.clone(),
            replica: Some(self.replica.clone()),
            guard: Some(guard),
            renew,
        }
    }

    /// Writes how far the message got to its row; call before each EverOS add
    /// (write-ahead) and after each attempt, holding the claim. A no-op once the row is
    /// gone (forgotten) or claimed by another replica (this one stalled past its lease).
    pub async fn save(&self, claim: &Claim, progress: &Progress) {
        let json = Saved::of(progress).and_then(|s| serde_json::to_string(&s).ok());
        let unknown = i64::from(matches!(progress.user, Step::Unknown(_)));
        let (c, t, m) = &claim.key;
        let saved = self
            .store
            .exec(
                "UPDATE ledger SET progress = $4, user_unknown = $5
                 WHERE customer = $1 AND ticket = $2 AND message_id = $3
                   AND (claim_owner IS NULL OR claim_owner = $6)",
                params![c, t, m, json, unknown, claim.replica.clone()],
            )
            .await;
        if let Err(e) = saved {
            tracing::warn!(error = %e, "idempotency ledger write failed");
        }
    }

    /// The statement of [`Ledger::finish`], to run in the caller's transaction: the final
    /// progress of `claim`, and its release. After that transaction commits, hand the
    /// claim to [`Ledger::released`].
    pub fn finish_statement(&self, claim: &Claim, progress: &Progress) -> Statement {
        let json = Saved::of(progress).and_then(|s| serde_json::to_string(&s).ok());
        let unknown = i64::from(matches!(progress.user, Step::Unknown(_)));
        let (c, t, m) = &claim.key;
        (
            FINISH,
            params![c, t, m, json, unknown, claim.replica.clone()],
        )
    }

    /// Lets go of a claim whose release a committed [`Ledger::finish_statement`] wrote
    /// (no statement; the lease renewal stops, this process's lock of the id is freed).
    pub fn released(&self, mut claim: Claim) {
        if let Some(renew) = claim.renew.take() {
            renew.abort();
        }
        claim.replica = None;
    }

    /// Writes the attempt's final progress and releases the claim, in one statement:
    /// [`Ledger::save`] then [`Ledger::release`]. When the write fails the claim is
    /// released on its own (the progress written ahead stays, and so do its rules).
    pub async fn finish(&self, mut claim: Claim, progress: Progress) {
        if let Some(renew) = claim.renew.take() {
            renew.abort();
        }
        let json = Saved::of(&progress).and_then(|s| serde_json::to_string(&s).ok());
        let unknown = i64::from(matches!(progress.user, Step::Unknown(_)));
        *claim = progress;
        let Some(replica) = claim.replica.take() else {
            return;
        };
        let (c, t, m) = &claim.key;
        let saved = self
            .store
            .exec(FINISH, params![c, t, m, json, unknown, &replica])
            .await;
        if let Err(e) = saved {
            tracing::warn!(error = %e, "idempotency ledger write failed");
            if let Err(e) = self.store.exec(RELEASE, params![c, t, m, replica]).await {
                tracing::warn!(error = %e, "could not release a ledger claim (it expires)");
            }
        }
    }

    /// Whether a customer turn of this ticket is an add whose answer never came (and no
    /// retry is resolving it right now): it may be in EverOS's buffer, where a retry
    /// looks for it. A flush now would move it out of sight and the retry would add it
    /// a second time. A database failure answers `true` (the flush waits for the close).
    pub async fn has_unknown_user_turn(&self, customer: &str, ticket: &str) -> bool {
        let rows = self
            .store
            .query(
                "SELECT message_id FROM ledger WHERE customer = $1 AND ticket = $2
                 AND user_unknown = 1
                 AND (claim_owner IS NULL OR claim_owner = $4 OR claim_until < $3)",
                params![customer, ticket, now_ms(), &self.replica],
            )
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "idempotency ledger unavailable");
                return true;
            }
        };
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        rows.into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
            .any(|m| {
                let key = (customer.to_owned(), ticket.to_owned(), m);
                // Claimed here (or released, the release still on its way): unknown
                // unless a handler holds it right now.
                local
                    .get(&key)
                    .and_then(Weak::upgrade)
                    .is_none_or(|lock| lock.try_lock().is_ok())
            })
    }

    /// Releases a claim now (rather than on drop, in the background), so the next
    /// handler on any replica finds the row free at once.
    pub async fn release(&self, mut claim: Claim) {
        if let Some(renew) = claim.renew.take() {
            renew.abort();
        }
        if let Some(replica) = claim.replica.take() {
            let (c, t, m) = &claim.key;
            if let Err(e) = self.store.exec(RELEASE, params![c, t, m, replica]).await {
                tracing::warn!(error = %e, "could not release a ledger claim (it expires)");
            }
        }
    }

    /// How many of `customer`'s messages are being handled right now, on any replica (live
    /// claims): a forget waits for them, so nothing they add outlives the delete.
    pub async fn claims_held(&self, customer: &str) -> Result<usize, StoreError> {
        self.count(
            "SELECT COUNT(*) FROM ledger
             WHERE customer = $1 AND claim_owner IS NOT NULL AND claim_until >= $2",
            params![customer, now_ms()],
        )
        .await
    }

    /// How many ids are remembered (0 when the database fails).
    pub async fn count_ids(&self) -> usize {
        self.count("SELECT COUNT(*) FROM ledger", vec![])
            .await
            .unwrap_or(0)
    }
}

/// Writes a message's final progress and clears this replica's (`$6`) claim.
const FINISH: &str = "UPDATE ledger SET progress = $4, user_unknown = $5,
       claim_owner = NULL, claim_until = NULL
     WHERE customer = $1 AND ticket = $2 AND message_id = $3
       AND (claim_owner IS NULL OR claim_owner = $6)";

/// Adds an id (unclaimed) unless the ledger holds it.
const INSERT: &str =
    "INSERT INTO ledger (customer, ticket, message_id, content_sha256, client, born_ms)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (customer, ticket, message_id) DO NOTHING";

/// Clears this replica's (`$4`) claim on a row.
const RELEASE: &str = "UPDATE ledger SET claim_owner = NULL, claim_until = NULL
    WHERE customer = $1 AND ticket = $2 AND message_id = $3 AND claim_owner = $4";

fn claim_unavailable(e: StoreError) -> ClaimRefused {
    tracing::warn!(error = %e, "idempotency ledger unavailable");
    ClaimRefused::Unavailable
}

/// A claimed entry: its progress (deref), held until dropped; dropping it releases the
/// claim (after which the next handler in this process may take it).
pub struct Claim {
    progress: Progress,
    key: Key,
    store: Store,
    /// This replica's id (the row's claim owner); taken by the release.
    replica: Option<String>,
    guard: Option<OwnedMutexGuard<()>>,
    renew: Option<tokio::task::JoinHandle<()>>,
}

impl Claim {
    /// Leaves the claim as a killed process would: no release, no renewal (tests).
    #[cfg(test)]
    pub fn abandon(mut self) {
        if let Some(renew) = self.renew.take() {
            renew.abort();
        }
        self.replica = None;
    }
}

impl std::ops::Deref for Claim {
    type Target = Progress;
    fn deref(&self) -> &Progress {
        &self.progress
    }
}

impl std::ops::DerefMut for Claim {
    fn deref_mut(&mut self) -> &mut Progress {
        &mut self.progress
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(renew) = self.renew.take() {
            renew.abort();
        }
        let (Some(replica), Ok(rt)) = (self.replica.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        // Released before the local lock goes, so the next handler here never has its
        // fresh claim cleared by this release.
        let guard = self.guard.take();
        let store = self.store.clone();
        let (c, t, m) = self.key.clone();
        rt.spawn(async move {
            let released = store.exec(RELEASE, params![c, t, m, replica]).await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release a ledger claim (it expires)");
            }
            drop(guard);
        });
    }
}

#[cfg(test)]
mod tests;
