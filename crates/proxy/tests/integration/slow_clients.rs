//! Clients that stall (slowloris) lose their connection: in the request head, while
//! idle between kept-alive requests, and in the middle of a body; and no more than
//! `--max-connections` are served at once. Raw TCP against the proxy's own server loop.

use std::time::{Duration, Instant};

use everdesk_proxy::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::common;

/// A proxy with short limits: 1 s for a request head, 1 s of silence in a body.
async fn strict(max_connections: usize) -> String {
    let mut config = Config::for_tests();
    config.header_timeout_secs = 1;
    config.body_timeout_secs = 1;
    config.max_connections = max_connections;
    common::serve(config).await
}

fn addr(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// Reads until the server closes the connection; fails after `secs`. Returns what was read.
async fn read_until_closed(stream: &mut TcpStream, secs: u64) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "still open after {secs} s; read so far: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let base = strict(16).await;
    let mut s = TcpStream::connect(addr(&base)).await.unwrap();
    let got = read_until_closed(&mut s, 30).await;
    assert!(!got.contains("200 OK"), "{got}");
}

#[tokio::test]
async fn a_request_head_that_stalls_is_closed() {
    let base = strict(16).await;
    let mut s = TcpStream::connect(addr(&base)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .await
        .unwrap();
    // Dribble a byte every 300 ms: each arrives well within any per-read timeout, the
    // head as a whole never completes.
    let dribble = async {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s.write_all(b"a").await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), dribble).await;
    let got = read_until_closed(&mut s, 5).await;
    assert!(!got.contains("200 OK"), "{got}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_its_request() {
    let base = strict(16).await;
    let mut s = TcpStream::connect(addr(&base)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut s, 30).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test]
async fn a_body_that_stalls_is_refused_and_closed() {
    let base = strict(16).await;
    let mut s = TcpStream::connect(addr(&base)).await.unwrap();
    s.write_all(
        b"POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"visitor",
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut s, 30).await;
    let status = got.lines().next().unwrap_or_default().to_owned();
    assert!(
        status.starts_with("HTTP/1.1 4"),
        "a stalled body gets a client error, then the connection closes: {got}"
    );
    assert!(
        got.contains("\"invalid_request\""),
        "the typed error body: {got}"
    );
}

#[tokio::test]
async fn no_more_connections_than_the_cap_are_served_at_once() {
    let mut config = Config::for_tests();
    config.header_timeout_secs = 30;
    config.max_connections = 2;
    let base = common::serve(config).await;
    // Two idle connections take both places.
    let idle_a = TcpStream::connect(addr(&base)).await.unwrap();
    let idle_b = TcpStream::connect(addr(&base)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let waited = health.get(format!("{base}/healthz")).send().await;
    assert!(
        waited.is_err(),
        "a third connection is not served while two are open"
    );
    // One leaves: the next client is served.
    drop(idle_a);
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    drop(idle_b);
}
