//! Claims on tickets being created, in the database, so that across replicas only one
//! adds the opening line to EverOS: the claim is a row in `ticket_claims` (never in
//! `tickets`, so listings, counts and expiry never see a half-created ticket). The
//! winner writes the ticket and deletes its claim in one transaction; a definite
//! failure deletes the claim (a retry tries again); a claim older than its lease (its
//! replica died) is taken over.

use super::{TicketRecord, TicketStore};
use crate::{params, store::StoreError};

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds a fresh claim (the token it writes the ticket with).
    Won(String),
    /// Another caller's claim had outlived its lease; this caller holds it now. Whether
    /// the opening line reached EverOS is unknown: the ticket is written without adding.
    TookOver(String),
    /// Another caller holds a live claim.
    Held,
}

impl TicketStore {
    /// Claims the creation of `ticket` at `now` (epoch ms); a claim made before
    /// `now - lease_ms` is taken over.
    pub async fn claim(
        &self,
        customer: &str,
        ticket: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<Claim, StoreError> {
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let inserted = self
            .store
            .exec(
                "INSERT INTO ticket_claims (customer, ticket, claimed_at, owner)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (customer, ticket) DO NOTHING",
                params![customer, ticket, now, &owner],
            )
            .await?;
        if inserted == 1 {
            return Ok(Claim::Won(owner));
        }
        let taken = self
            .store
            .exec(
                "UPDATE ticket_claims SET claimed_at = $3, owner = $4
                 WHERE customer = $1 AND ticket = $2 AND claimed_at <= $5",
                params![customer, ticket, now, &owner, now - lease_ms],
            )
            .await?;
        Ok(if taken == 1 {
            Claim::TookOver(owner)
        } else {
            Claim::Held
        })
    }

    /// Writes the new ticket if `owner` still holds its claim, then deletes that claim;
    /// `false` when the claim was lost (taken over by another request after the lease,
    /// which opened the ticket itself): then nothing is written, so a slow winner never
    /// overwrites a ticket the customer may already be using. The ticket is written
    /// only when absent; a new ticket has no exchanges yet.
    pub async fn open_claimed(
        &self,
        customer: &str,
        record: TicketRecord,
        owner: &str,
    ) -> Result<bool, StoreError> {
        let t = &record.ticket;
        let written = self
            .store
            .exec(
                "INSERT INTO tickets
                   (customer, ticket, session_id, subject, status, created_at, opening,
                    feedback, touched_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, NULL, $8
                 WHERE EXISTS (SELECT 1 FROM ticket_claims
                               WHERE customer = $1 AND ticket = $2 AND owner = $9)
                 ON CONFLICT (customer, ticket) DO NOTHING",
                params![
                    customer,
                    &t.id,
                    &t.session_id,
                    &t.subject,
                    super::status_name(t.status),
                    t.created_at,
                    super::json(&record.opening)?,
                    crate::clock::now_ms().max(t.created_at),
                    owner
                ],
            )
            .await?;
        // Deleted even when nothing was written: a claim this request lost is not its own
        // to delete (the owner check), and one it holds is done with either way.
        self.drop_claim(customer, &t.id, owner).await?;
        Ok(written == 1)
    }

    /// Makes every claim stale, so the next claim takes it over (at start on SQLite,
    /// where any claim left is a killed process's).
    pub async fn expire_claims(&self) -> Result<(), StoreError> {
        self.store
            .exec("UPDATE ticket_claims SET claimed_at = 0", params![])
            .await
            .map(drop)
    }

    /// Deletes the claim `owner` holds (a definite failure: a retry may claim again).
    pub async fn drop_claim(
        &self,
        customer: &str,
        ticket: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.store
            .exec(
                "DELETE FROM ticket_claims WHERE customer = $1 AND ticket = $2 AND owner = $3",
                params![customer, ticket, owner],
            )
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{store::testing::stores, tickets::tests::record};

    fn owner(c: Claim) -> String {
        match c {
            Claim::Won(o) | Claim::TookOver(o) => o,
            Claim::Held => panic!("expected a claim"),
        }
    }

    #[tokio::test]
    async fn one_claim_wins_until_it_opens_fails_or_outlives_its_lease() {
        for store in stores("ticket_claims").await {
            // Two replicas on one database.
            let (a, b) = (
                TicketStore::new(store.clone()),
                TicketStore::new(store.clone()),
            );
            let won = owner(a.claim("c", "t", 1_000, 500).await.unwrap());
            assert_eq!(b.claim("c", "t", 1_100, 500).await.unwrap(), Claim::Held);
            assert_eq!(a.claim("c", "t", 1_100, 500).await.unwrap(), Claim::Held);
            assert!(matches!(
                b.claim("d", "t", 1_100, 500).await.unwrap(),
                Claim::Won(_)
            ));
            assert!(b.get("c", "t").await.unwrap().is_none(), "no half ticket");
            // A definite failure lets a retry claim again; a stranger's drop does nothing.
            b.drop_claim("c", "t", "not-the-owner").await.unwrap();
            assert_eq!(b.claim("c", "t", 1_200, 500).await.unwrap(), Claim::Held);
            a.drop_claim("c", "t", &won).await.unwrap();
            let won = owner(b.claim("c", "t", 1_300, 500).await.unwrap());
            // Opening writes the ticket and frees the claim in one go.
            assert!(b.open_claimed("c", record("t"), &won).await.unwrap());
            assert_eq!(a.get("c", "t").await.unwrap().unwrap(), record("t"));
            let Claim::Won(slow) = a.claim("c", "u", 1_400, 500).await.unwrap() else {
                panic!("a fresh claim is won");
            };
            // That claim's replica died: past the lease, one taker only.
            assert_eq!(b.claim("c", "u", 1_899, 500).await.unwrap(), Claim::Held);
            let took = b.claim("c", "u", 1_900, 500).await.unwrap();
            let Claim::TookOver(taker) = took else {
                panic!("{took:?}");
            };
            assert_eq!(a.claim("c", "u", 1_900, 500).await.unwrap(), Claim::Held);
            // The taker opens it; the lapsed winner, slower than its lease, writes nothing
            // over the ticket the customer may already be using.
            let mut taken = record("u");
            taken.ticket.subject = "the taker's".into();
            assert!(b.open_claimed("c", taken.clone(), &taker).await.unwrap());
            assert!(!a.open_claimed("c", record("u"), &slow).await.unwrap());
            assert_eq!(a.get("c", "u").await.unwrap().unwrap(), taken);
            assert!(matches!(
                a.claim("c", "t", 1_950, 500).await.unwrap(),
                Claim::Won(_)
            ));
            let took = b.claim("c", "t", 2_600, 500).await.unwrap();
            assert!(matches!(took, Claim::TookOver(_)), "{took:?}");
            // A restart on SQLite: the claims left are a dead process's.
            a.expire_claims().await.unwrap();
            assert!(matches!(
                a.claim("c", "t", 1_901, 500).await.unwrap(),
                Claim::TookOver(_)
            ));
            // Forget-me takes claims too.
            store.forget_customer("c", 2_000).await.unwrap();
            assert!(matches!(
                a.claim("c", "t", 2_001, 500).await.unwrap(),
                Claim::Won(_)
            ));
        }
    }
}
