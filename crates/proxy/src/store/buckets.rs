//! Rate-limit token buckets in the database, so a limit holds across replicas (not N
//! times it): one atomic upsert refills the bucket by the time since its last use, takes
//! a token when there is one, and answers whether it did.

use super::{Backend, Store, StoreError, Val};
use crate::params;

/// The answer of [`Store::take`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A token was taken.
    Ok,
    /// None left: retry after this many seconds.
    Wait(u64),
}

const SQLITE: &str = "INSERT INTO rate_buckets (bucket, tokens, updated_ms, last_ok)
    VALUES ($1, CAST($3 AS DOUBLE PRECISION) - 1.0, $4, 1)
    ON CONFLICT (bucket) DO UPDATE SET
      tokens = CASE WHEN MIN($3, rate_buckets.tokens + MAX($4 - rate_buckets.updated_ms, 0) * $2) >= 1.0
        THEN MIN($3, rate_buckets.tokens + MAX($4 - rate_buckets.updated_ms, 0) * $2) - 1.0
        ELSE MIN($3, rate_buckets.tokens + MAX($4 - rate_buckets.updated_ms, 0) * $2) END,
      last_ok = CASE WHEN MIN($3, rate_buckets.tokens + MAX($4 - rate_buckets.updated_ms, 0) * $2) >= 1.0
        THEN 1 ELSE 0 END,
      updated_ms = MAX($4, rate_buckets.updated_ms)
    RETURNING tokens, last_ok";

const POSTGRES: &str = "INSERT INTO rate_buckets (bucket, tokens, updated_ms, last_ok)
    VALUES ($1, CAST($3 AS DOUBLE PRECISION) - 1.0, CAST($4 AS BIGINT), 1)
    ON CONFLICT (bucket) DO UPDATE SET
      tokens = CASE WHEN LEAST(CAST($3 AS DOUBLE PRECISION), rate_buckets.tokens
            + GREATEST(CAST($4 AS BIGINT) - rate_buckets.updated_ms, 0) * CAST($2 AS DOUBLE PRECISION)) >= 1.0
        THEN LEAST(CAST($3 AS DOUBLE PRECISION), rate_buckets.tokens
            + GREATEST(CAST($4 AS BIGINT) - rate_buckets.updated_ms, 0) * CAST($2 AS DOUBLE PRECISION)) - 1.0
        ELSE LEAST(CAST($3 AS DOUBLE PRECISION), rate_buckets.tokens
            + GREATEST(CAST($4 AS BIGINT) - rate_buckets.updated_ms, 0) * CAST($2 AS DOUBLE PRECISION)) END,
      last_ok = CASE WHEN LEAST(CAST($3 AS DOUBLE PRECISION), rate_buckets.tokens
            + GREATEST(CAST($4 AS BIGINT) - rate_buckets.updated_ms, 0) * CAST($2 AS DOUBLE PRECISION)) >= 1.0
        THEN 1 ELSE 0 END,
      updated_ms = GREATEST(CAST($4 AS BIGINT), rate_buckets.updated_ms)
    RETURNING tokens, last_ok";

impl Store {
    /// Takes a token from bucket `key` (refilled at `per_sec`, holding at most `burst`)
    /// as of `now_ms`, atomically.
    pub async fn take(
        &self,
        key: &str,
        per_sec: f64,
        burst: f64,
        now_ms: i64,
    ) -> Result<Taken, StoreError> {
        let sql = match &*self.backend {
            Backend::Sqlite(_) => SQLITE,
            Backend::Postgres(_) => POSTGRES,
        };
        let per_ms = per_sec / 1000.0;
        let row = self
            .query_one(sql, params![key, per_ms, burst.max(1.0), now_ms])
            .await?
            .ok_or_else(|| StoreError::Decode("rate bucket upsert returned nothing".into()))?;
        let tokens = row.first().and_then(Val::float).unwrap_or(0.0);
        if row.get(1).and_then(Val::int) == Some(1) {
            return Ok(Taken::Ok);
        }
        let wait = ((1.0 - tokens) / per_sec.max(f64::MIN_POSITIVE)).ceil();
        Ok(Taken::Wait(if wait.is_finite() {
            wait.max(1.0) as u64
        } else {
            u64::MAX
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    #[tokio::test]
    async fn burst_then_refill_per_key() {
        for s in stores("buckets").await {
            let take = |key: &'static str, at: i64| {
                let s = s.clone();
                async move { s.take(key, 1.0, 2.0, at).await.unwrap() }
            };
            assert_eq!(take("a", 1_000).await, Taken::Ok);
            assert_eq!(take("a", 1_000).await, Taken::Ok);
            assert_eq!(take("a", 1_000).await, Taken::Wait(1));
            assert_eq!(take("b", 1_000).await, Taken::Ok, "keys are independent");
            assert_eq!(take("a", 2_100).await, Taken::Ok, "refilled");
            assert_eq!(take("a", 2_100).await, Taken::Wait(1));
            assert_eq!(
                take("a", 500).await,
                Taken::Wait(1),
                "a clock behind refills nothing"
            );
        }
    }

    #[tokio::test]
    async fn concurrent_takes_never_exceed_the_burst() {
        for s in stores("buckets_race").await {
            let tasks: Vec<_> = (0..20)
                .map(|_| {
                    let s = s.clone();
                    tokio::spawn(async move { s.take("k", 0.001, 5.0, 1_000).await.unwrap() })
                })
                .collect();
            let mut ok = 0;
            for t in tasks {
                if t.await.unwrap() == Taken::Ok {
                    ok += 1;
                }
            }
            assert_eq!(ok, 5);
        }
    }
}
