//! Test controls (`--test-controls`): injected faults per route and the log of every
//! `/api/` (v1 and v2) and `/health` request. [`routes`] is the `/_test/` admin surface, [`middleware`] applies them.

pub mod middleware;
pub mod routes;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One queued fault for a route.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Fault {
    /// `add`, `flush`, `search`, `get`, `delete`, `delete_by_ids`, `tasks` or `health`
    /// (v1 and v2 routes of the same name share their faults; a fault applies to the
    /// route's own method only: GET for `health` and `tasks`, POST otherwise).
    pub route: String,
    /// Answer this status without processing; absent = process, then delay.
    #[serde(default)]
    pub status: Option<u16>,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
    /// Delay before answering.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Delay before processing: the request is handled late, as by a slow EverOS
    /// (an add then lands after a client that timed out has given up on it).
    #[serde(default)]
    pub delay_before_ms: Option<u64>,
    /// `Retry-After` seconds on the injected error.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

fn one() -> u32 {
    1
}

/// One logged `/api/` request.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// Arrival order, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Route name (`add`, `flush`, …, `unknown`).
    pub route: String,
    /// Final status (null while in flight).
    pub status: Option<u16>,
    /// JSON body, or null when absent or not JSON.
    pub body: Value,
}

#[derive(Debug, Default)]
struct Inner {
    faults: HashMap<String, VecDeque<Fault>>,
    log: Vec<LoggedRequest>,
    next_seq: u64,
}

/// Faults and the request log.
#[derive(Debug, Default)]
pub struct Controls {
    inner: Mutex<Inner>,
}

impl Controls {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Queues a fault (FIFO per route).
    pub fn push_fault(&self, fault: Fault) {
        self.with(|i| {
            i.faults
                .entry(fault.route.clone())
                .or_default()
                .push_back(fault)
        });
    }

    /// Consumes one use of the route's first fault.
    pub fn take_fault(&self, route: &str) -> Option<Fault> {
        self.with(|i| {
            let queue = i.faults.get_mut(route)?;
            let front = queue.front_mut()?;
            let fault = front.clone();
            front.times = front.times.saturating_sub(1);
            if front.times == 0 {
                queue.pop_front();
            }
            (fault.times > 0).then_some(fault)
        })
    }

    /// Drops all faults.
    pub fn clear_faults(&self) {
        self.with(|i| i.faults.clear());
    }

    /// Logs a request and returns its sequence number.
    pub fn log_request(&self, method: &str, path: &str, route: &str, body: Value) -> u64 {
        self.with(|i| {
            i.next_seq += 1;
            let seq = i.next_seq;
            i.log.push(LoggedRequest {
                seq,
                method: method.to_owned(),
                path: path.to_owned(),
                route: route.to_owned(),
                status: None,
                body,
            });
            seq
        })
    }

    /// Records the final status of a logged request.
    pub fn log_status(&self, seq: u64, status: u16) {
        self.with(|i| {
            if let Some(entry) = i.log.iter_mut().rev().find(|e| e.seq == seq) {
                entry.status = Some(status);
            }
        });
    }

    /// The log, optionally only one route.
    pub fn requests(&self, route: Option<&str>) -> Vec<LoggedRequest> {
        self.with(|i| {
            i.log
                .iter()
                .filter(|e| route.is_none_or(|r| e.route == r))
                .cloned()
                .collect()
        })
    }

    /// Clears the log (sequence numbers keep growing).
    pub fn clear_log(&self) {
        self.with(|i| i.log.clear());
    }

    /// Clears faults and the log.
    pub fn clear(&self) {
        self.with(|i| {
            i.faults.clear();
            i.log.clear();
        });
    }
}

/// The route name of an observed path; a v1 route and its v2 counterpart share the name,
/// so one fault applies to whichever API the client speaks (the log keeps the path).
pub fn route_name(path: &str) -> &'static str {
    match path.trim_end_matches('/') {
        "/api/v1/memories" | "/api/v2/memory/add" => "add",
        "/api/v1/memories/flush" | "/api/v2/memory/flush" => "flush",
        "/api/v1/memories/search" | "/api/v2/memory/search" => "search",
        "/api/v1/memories/get" | "/api/v2/memory/get" => "get",
        "/api/v1/memories/delete" | "/api/v2/memory/delete" => "delete",
        "/api/v2/memory/delete_by_ids" => "delete_by_ids",
        "/health" => "health",
        p if p.starts_with("/api/v1/tasks/") || p.starts_with("/api/v2/tasks/") => "tasks",
        _ => "unknown",
    }
}

/// The HTTP method of a route (faults apply to requests of that method only).
pub fn route_method(route: &str) -> &'static str {
    match route {
        "health" | "tasks" => "GET",
        _ => "POST",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(route: &str, status: u16, times: u32) -> Fault {
        Fault {
            route: route.into(),
            status: Some(status),
            times,
            delay_ms: None,
            delay_before_ms: None,
            retry_after: None,
        }
    }

    #[test]
    fn faults_are_fifo_and_counted() {
        let c = Controls::default();
        c.push_fault(fault("add", 429, 2));
        c.push_fault(fault("add", 500, 1));
        let got: Vec<Option<u16>> = (0..4)
            .map(|_| c.take_fault("add").and_then(|f| f.status))
            .collect();
        assert_eq!(got, vec![Some(429), Some(429), Some(500), None]);
        assert!(c.take_fault("search").is_none());
    }

    #[test]
    fn route_names() {
        assert_eq!(route_name("/api/v1/memories"), "add");
        assert_eq!(route_name("/api/v1/tasks/abc"), "tasks");
        assert_eq!(route_name("/api/v1/nope"), "unknown");
        assert_eq!(route_name("/api/v2/memory/add"), "add");
        assert_eq!(route_name("/api/v2/memory/delete_by_ids"), "delete_by_ids");
        assert_eq!(route_name("/api/v2/tasks/abc"), "tasks");
        assert_eq!(route_name("/health"), "health");
        assert_eq!(route_method("delete"), "POST");
        assert_eq!(route_method("tasks"), "GET");
    }
}
