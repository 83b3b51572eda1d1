//! The reply gate: bounds how many replies (LLM calls, EverOS searches and adds) run at
//! once — one per customer, and `--max-concurrent-replies` over all customers. A message
//! waits up to `--reply-wait-ms` for its turn; then the customer's own earlier reply still
//! running is `429 rate_limited`, a full proxy is `503 upstream_unavailable`, both with
//! `Retry-After`.
//!
//! The routes take a permit for every message POST, before they know whether the flow
//! will generate a new reply or replay the ledger's stored one: a replay holds the permit
//! only for the moment it takes to answer from the ledger.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ProxyError;

/// Seconds a refused client is told to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// The right to generate one reply; the slot is freed when it is dropped.
#[derive(Debug)]
pub struct Permit {
    _customer: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
    waited: bool,
}

impl Permit {
    /// Whether the slots were busy when asked for (the caller waited for them).
    pub fn waited(&self) -> bool {
        self.waited
    }
}

/// One slot per customer, `max` slots in all.
#[derive(Debug)]
pub struct ReplyGate {
    global: Arc<Semaphore>,
    customers: Mutex<HashMap<String, Arc<Semaphore>>>,
    wait: Duration,
}

impl ReplyGate {
    /// A gate letting `max` replies run at once, one per customer, each waiting at most `wait`.
    pub fn new(max: usize, wait: Duration) -> Self {
        Self {
            global: Arc::new(Semaphore::new(max.max(1))),
            customers: Mutex::default(),
            wait,
        }
    }

    /// The customer's one slot (created on first use; idle ones are dropped here too).
    fn customer_slot(&self, customer: &str) -> Arc<Semaphore> {
        let mut map = self.customers.lock().unwrap_or_else(|e| e.into_inner());
        // Held or awaited slots have a clone outside the map; the rest are idle.
        map.retain(|_, s| Arc::strong_count(s) > 1);
        map.entry(customer.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }

    /// Waits (at most the configured time) for `customer`'s slot, then for a global one.
    /// The customer's slot comes first, so one customer's queued messages never occupy
    /// global slots others could use.
    pub async fn acquire(&self, customer: &str) -> Result<Permit, ProxyError> {
        let deadline = Instant::now() + self.wait;
        let slot = self.customer_slot(customer);
        let mut waited = false;
        let customer_permit = match slot.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                waited = true;
                match tokio::time::timeout(self.wait, slot.acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => return Err(ProxyError::RateLimited(RETRY_AFTER_SECS)),
                }
            }
        };
        let global = match self.global.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                waited = true;
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, self.global.clone().acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => return Err(ProxyError::Busy(RETRY_AFTER_SECS)),
                }
            }
        };
        Ok(Permit {
            _customer: customer_permit,
            _global: global,
            waited,
        })
    }

    /// Waits (at most the configured time) until none of `customer`'s messages is being
    /// handled, and keeps it so while the returned guard lives: a close or hand-off
    /// flushes the ticket's EverOS session only after a reply on its way has been stored
    /// (else the reply would land in the buffer of a flushed session and never become
    /// memory). Takes no global slot: closing costs no LLM call. 429 after the wait.
    pub async fn quiet(&self, customer: &str) -> Result<OwnedSemaphorePermit, ProxyError> {
        let slot = self.customer_slot(customer);
        match tokio::time::timeout(self.wait, slot.acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(ProxyError::RateLimited(RETRY_AFTER_SECS)),
        }
    }

    /// Customers with a slot in the map (held, awaited or not yet swept).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.customers.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_reply_per_customer_and_a_global_cap() {
        let gate = ReplyGate::new(2, Duration::from_millis(50));
        let a = gate.acquire("a").await.unwrap();
        assert!(matches!(
            gate.acquire("a").await,
            Err(ProxyError::RateLimited(_))
        ));
        let b = gate.acquire("b").await.unwrap();
        assert!(matches!(gate.acquire("c").await, Err(ProxyError::Busy(_))));
        drop(a);
        let c = gate.acquire("c").await.unwrap();
        drop((b, c));
        gate.acquire("a").await.unwrap();
        assert!(gate.tracked() <= 1, "idle customers are forgotten");
    }

    #[tokio::test]
    async fn a_waiting_message_gets_the_slot_when_it_frees() {
        let gate = Arc::new(ReplyGate::new(1, Duration::from_secs(5)));
        let first = gate.acquire("a").await.unwrap();
        let g = gate.clone();
        let second = tokio::spawn(async move { g.acquire("a").await.map(|_| ()) });
        tokio::task::yield_now().await;
        drop(first);
        assert!(second.await.unwrap().is_ok());
    }
}
