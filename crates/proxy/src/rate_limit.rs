//! Token-bucket rate limits, keyed by customer or by client IP. A refusal says how many
//! seconds until a token is back (`Retry-After`). In memory for one proxy; with a shared
//! database (PostgreSQL, [`RateLimiter::shared`]) the buckets live there, so a limit
//! holds across replicas instead of N times over (a database failure falls back to this
//! process's buckets).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Instant,
};

use crate::store::{Store, Taken};

/// Database buckets idle this long are full again and deleted (every so many takes).
const SHARED_IDLE_MS: i64 = 3_600_000;
const SHARED_SWEEP_EVERY: u64 = 1_000;

/// Buckets above this count trigger a sweep of full (idle) buckets.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One family of buckets (e.g. "per customer") sharing a rate and burst.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// The shared database and this family's key prefix, when buckets live there.
    shared: Option<(Store, &'static str)>,
    takes: AtomicU64,
}

impl RateLimiter {
    /// `per_min` sustained, `burst` at once.
    pub fn new(per_min: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_min.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            shared: None,
            takes: AtomicU64::new(0),
        }
    }

    /// Keeps the buckets in `store` when several replicas share it, under `family`
    /// (e.g. "customer"); otherwise in memory.
    pub fn shared(mut self, store: &Store, family: &'static str) -> Self {
        if store.is_shared() {
            self.shared = Some((store.clone(), family));
        }
        self
    }

    /// Takes a token for `key`; `Err(seconds)` to wait when there is none.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        if let Some((store, family)) = &self.shared {
            let now = crate::clock::now_ms();
            if self
                .takes
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(SHARED_SWEEP_EVERY)
            {
                let swept = store
                    .exec(
                        "DELETE FROM rate_buckets WHERE updated_ms < $1",
                        crate::params![now - SHARED_IDLE_MS],
                    )
                    .await;
                if let Err(e) = swept {
                    tracing::warn!(error = %e, "could not sweep idle rate buckets");
                }
            }
            let bucket = format!("{family}:{key}");
            match store.take(&bucket, self.per_sec, self.burst, now).await {
                Ok(Taken::Ok) => return Ok(()),
                Ok(Taken::Wait(secs)) => return Err(secs),
                Err(e) => {
                    tracing::warn!(error = %e, "shared rate limit unavailable; limiting here")
                }
            }
        }
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_AT {
            let (per_sec, burst) = (self.per_sec, self.burst);
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < burst);
        }
        let b = map.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * self.per_sec;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let l = RateLimiter::new(60, 2);
        let t = Instant::now();
        assert!(l.check_at("a", t).is_ok());
        assert!(l.check_at("a", t).is_ok());
        assert_eq!(l.check_at("a", t), Err(1));
        assert!(l.check_at("b", t).is_ok(), "keys are independent");
        assert!(l.check_at("a", t + Duration::from_millis(1100)).is_ok());
    }
}
