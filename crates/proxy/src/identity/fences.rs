//! Ended identities: when a customer is forgotten, the moment it happened. Session tokens
//! issued up to that moment are refused from then on, and a forgotten visitor's token no
//! longer resumes them (the visitor gets a new, empty identity). Kept in memory, bounded
//! (the oldest fence leaves first once [`MAX_FENCES`] are held).

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

/// Most fences kept; each is a few dozen bytes.
pub const MAX_FENCES: usize = 100_000;

/// Customer id → when they were forgotten (epoch ms).
#[derive(Debug, Default)]
pub struct Fences {
    inner: Mutex<(HashMap<String, i64>, VecDeque<String>)>,
}

impl Fences {
    /// When `customer` was last forgotten, if ever.
    pub fn since(&self, customer: &str) -> Option<i64> {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.get(customer).copied()
    }

    /// Records that `customer` is forgotten as of `at`; returns the fence it replaces (to
    /// put back with [`Fences::restore`] if the forgetting fails).
    pub fn fence(&self, customer: &str, at: i64) -> Option<i64> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        let prior = map.insert(customer.to_owned(), at);
        if prior.is_none() {
            order.push_back(customer.to_owned());
            while map.len() > MAX_FENCES {
                match order.pop_front() {
                    Some(old) => {
                        map.remove(&old);
                    }
                    None => break,
                }
            }
        }
        prior
    }

    /// Puts back the fence [`Fences::fence`] replaced (none: no fence at all).
    pub fn restore(&self, customer: &str, prior: Option<i64>) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        match prior {
            Some(at) => {
                map.insert(customer.to_owned(), at);
            }
            None => {
                map.remove(customer);
                order.retain(|c| c != customer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_is_kept_replaced_and_restored() {
        let f = Fences::default();
        assert_eq!(f.since("a"), None);
        assert_eq!(f.fence("a", 10), None);
        assert_eq!(f.since("a"), Some(10));
        assert_eq!(f.fence("a", 20), Some(10));
        f.restore("a", Some(10));
        assert_eq!(f.since("a"), Some(10));
        f.restore("a", None);
        assert_eq!(f.since("a"), None);
    }
}
