//! Identity fences and revocations: when a customer was last forgotten (an add that
//! started before it must not put their words back), visitor ids revoked for good, and
//! the forget-me itself — every row of the customer, by indexed deletes, in one
//! transaction with the fence.

use super::{Backend, Store, StoreError};
use crate::params;

impl Store {
    /// Forgets everything kept about `customer` (ledger, tickets and their exchanges,
    /// conversations and transcripts, live events) and fences them at `at` (epoch ms). O(that customer's rows).
    /// Runs on a blocking thread on SQLite (see [`Store::batch_long`]).
    pub async fn forget_customer(&self, customer: &str, at: i64) -> Result<(), StoreError> {
        self.batch_long(vec![
            ("DELETE FROM ledger WHERE customer = $1", params![customer]),
            (
                "DELETE FROM ticket_exchanges WHERE customer = $1",
                params![customer],
            ),
            ("DELETE FROM tickets WHERE customer = $1", params![customer]),
            (
                "DELETE FROM ticket_claims WHERE customer = $1",
                params![customer],
            ),
            (
                "DELETE FROM transcript_messages WHERE customer = $1",
                params![customer],
            ),
            (
                "DELETE FROM conversations WHERE customer = $1",
                params![customer],
            ),
            (
                "DELETE FROM live_events WHERE customer = $1",
                params![customer],
            ),
            (
                "INSERT INTO customer_fences (customer, forgotten_at) VALUES ($1, $2)
                 ON CONFLICT (customer) DO UPDATE SET forgotten_at = excluded.forgotten_at",
                params![customer, at],
            ),
        ])
        .await?;
        self.remember_fence(customer, Some(at));
        Ok(())
    }

    /// Writes a fence through to the SQLite backend's copy in memory (`None`: lifted).
    fn remember_fence(&self, customer: &str, at: Option<i64>) {
        if let Backend::Sqlite(db) = &*self.backend {
            let mut fences = db.fences.lock().unwrap_or_else(|e| e.into_inner());
            match at {
                Some(at) => fences.insert(customer.to_owned(), at),
                None => fences.remove(customer),
            };
        }
    }

    /// When `customer` was last forgotten (epoch ms), if ever: work on their behalf that
    /// started before this must not store anything.
    /// On SQLite answered from memory: the one process that locks the file writes every
    /// fence through (see `sqlite::Sqlite::fences`); on PostgreSQL, which replicas share,
    /// always read from the database.
    pub async fn fenced_since(&self, customer: &str) -> Result<Option<i64>, StoreError> {
        if let Backend::Sqlite(db) = &*self.backend {
            let fences = db.fences.lock().unwrap_or_else(|e| e.into_inner());
            return Ok(fences.get(customer).copied());
        }
        let row = self
            .query_one(
                "SELECT forgotten_at FROM customer_fences WHERE customer = $1",
                params![customer],
            )
            .await?;
        Ok(row.and_then(|r| r.first().and_then(super::Val::int)))
    }

    /// Fences `customer` at `at` ahead of a forget (their tokens stop working at once, on
    /// every replica); returns the fence it replaced, for [`Store::restore_fence`].
    pub async fn set_fence(&self, customer: &str, at: i64) -> Result<Option<i64>, StoreError> {
        let prior = self.fenced_since(customer).await?;
        self.exec(
            "INSERT INTO customer_fences (customer, forgotten_at) VALUES ($1, $2)
             ON CONFLICT (customer) DO UPDATE SET forgotten_at = excluded.forgotten_at",
            params![customer, at],
        )
        .await?;
        self.remember_fence(customer, Some(at));
        Ok(prior)
    }

    /// Puts back the fence [`Store::set_fence`] replaced (the forget did not happen).
    pub async fn restore_fence(
        &self,
        customer: &str,
        prior: Option<i64>,
    ) -> Result<(), StoreError> {
        match prior {
            Some(at) => self.set_fence(customer, at).await.map(drop),
            None => self
                .exec(
                    "DELETE FROM customer_fences WHERE customer = $1",
                    params![customer],
                )
                .await
                .map(|_| self.remember_fence(customer, None)),
        }
    }

    /// Revokes a visitor id everywhere, for good.
    pub async fn revoke_visitor(&self, visitor_id: &str, at: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO revoked_visitors (visitor_id, revoked_at) VALUES ($1, $2)
             ON CONFLICT (visitor_id) DO NOTHING",
            params![visitor_id, at],
        )
        .await
        .map(drop)
    }

    /// Whether a visitor id was revoked.
    pub async fn is_visitor_revoked(&self, visitor_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .query_one(
                "SELECT 1 FROM revoked_visitors WHERE visitor_id = $1",
                params![visitor_id],
            )
            .await?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::stores;

    #[tokio::test]
    async fn a_forget_sets_the_fence_and_revocations_stick() {
        for s in stores("fences").await {
            assert_eq!(s.fenced_since("a").await.unwrap(), None);
            s.forget_customer("a", 10).await.unwrap();
            s.forget_customer("a", 20).await.unwrap();
            assert_eq!(s.fenced_since("a").await.unwrap(), Some(20));
            assert_eq!(s.fenced_since("b").await.unwrap(), None);
            assert!(!s.is_visitor_revoked("v1").await.unwrap());
            s.revoke_visitor("v1", 5).await.unwrap();
            s.revoke_visitor("v1", 6).await.unwrap();
            assert!(s.is_visitor_revoked("v1").await.unwrap());
            assert!(!s.is_visitor_revoked("v2").await.unwrap());
            assert_eq!(s.set_fence("c", 7).await.unwrap(), None);
            assert_eq!(s.set_fence("c", 9).await.unwrap(), Some(7));
            s.restore_fence("c", Some(7)).await.unwrap();
            assert_eq!(s.fenced_since("c").await.unwrap(), Some(7));
            s.restore_fence("c", None).await.unwrap();
            assert_eq!(s.fenced_since("c").await.unwrap(), None);
        }
    }
}
