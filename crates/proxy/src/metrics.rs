//! Prometheus metrics, hand-rolled: requests and latency by route and status, EverOS
//! errors by operation, idempotency-ledger hits. Plus the middleware that records them.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

/// The methods that get a series of their own; any other token is counted as `other`,
/// so a client cannot create series at will.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// The `method` label for `method`: itself when standard, else `other`.
fn method_label(method: &str) -> &'static str {
    METHODS
        .into_iter()
        .find(|m| *m == method)
        .unwrap_or("other")
}

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// All counters of one proxy.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), Series>>,
    upstream_errors: Mutex<BTreeMap<&'static str, u64>>,
    ledger_hits: AtomicU64,
}

impl Metrics {
    /// Records one finished request. `route` must be a route template (or `other`), never
    /// a raw path; a non-standard `method` is counted as `other`.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let s = map
            .entry((method_label(method), route.to_owned(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// Counts a failed EverOS operation.
    pub fn upstream_error(&self, op: &'static str) {
        let mut map = self
            .upstream_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *map.entry(op).or_default() += 1;
    }

    /// Counts a request answered from the idempotency ledger.
    pub fn ledger_hit(&self) {
        self.ledger_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP everdesk_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE everdesk_requests_total counter\n");
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for ((method, route, status), s) in &requests {
            let _ = writeln!(
                out,
                "everdesk_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str(
            "# HELP everdesk_request_duration_seconds Request latency by route and status.\n",
        );
        out.push_str("# TYPE everdesk_request_duration_seconds histogram\n");
        for ((method, route, status), s) in &requests {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "everdesk_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "everdesk_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "everdesk_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "everdesk_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP everdesk_upstream_errors_total Failed EverOS calls by operation.\n");
        out.push_str("# TYPE everdesk_upstream_errors_total counter\n");
        for (op, n) in self
            .upstream_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "everdesk_upstream_errors_total{{op=\"{op}\"}} {n}");
        }
        out.push_str(
            "# HELP everdesk_ledger_hits_total Messages answered from the idempotency ledger.\n",
        );
        out.push_str("# TYPE everdesk_ledger_hits_total counter\n");
        let _ = writeln!(
            out,
            "everdesk_ledger_hits_total {}",
            self.ledger_hits.load(Ordering::Relaxed)
        );
        out
    }
}

/// Middleware: times every request and records it under its route template (`other`
/// for paths no route matched: files and 404s) and its method (`other` when not standard).
pub async fn layer(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".to_owned());
    let method = method_label(req.method().as_str());
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.request(
        method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("POST", "/v1/session", 200, 0.02);
        m.upstream_error("add");
        m.ledger_hit();
        let text = m.render();
        assert!(text.contains(
            r#"everdesk_requests_total{method="POST",route="/v1/session",status="200"} 1"#
        ));
        assert!(text.contains(r#"le="0.025"} 1"#));
        assert!(text.contains(r#"le="0.01"} 0"#));
        assert!(text.contains(r#"everdesk_upstream_errors_total{op="add"} 1"#));
        assert!(text.contains("everdesk_ledger_hits_total 1"));
    }

    #[test]
    fn unknown_methods_share_one_series() {
        let m = Metrics::default();
        for method in ["FOO1", "FOO2", "get", "PROPFIND"] {
            m.request(method, "other", 404, 0.001);
        }
        m.request("PATCH", "other", 404, 0.001);
        let text = m.render();
        assert!(
            text.contains(
                r#"everdesk_requests_total{method="other",route="other",status="404"} 4"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"method="PATCH""#));
        for raw in ["FOO1", "FOO2", "\"get\"", "PROPFIND"] {
            assert!(!text.contains(raw), "{raw}");
        }
    }
}
