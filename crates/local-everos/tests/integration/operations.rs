//! Persistence across restart, concurrency, the test controls and the binary's contract.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{convo, test_config, user_msg, Srv, KEY, T0};
use local_everos::{Config, Storage};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn data_dir_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = test_config();
        c.storage = Storage::DataDir(dir.path().to_path_buf());
        c.profile_delay = Duration::ZERO;
        c
    };
    let s = Srv::start_with(config()).await;
    s.add(
        "u",
        "t1",
        convo(
            "u",
            &[
                "I'm Dana Whitfield and my router is broken.",
                "Let's reboot it.",
            ],
        ),
    )
    .await;
    s.flush("u", "t1").await;
    s.add("u", "t2", user_msg("still buffered", T0)).await;
    s.running.shutdown().await;

    let s = Srv::start_with(config()).await;
    assert_eq!(s.episodes("u", "router").await.len(), 1, "episode survived");
    assert_eq!(s.raw("u").await.len(), 1, "buffer survived");
    assert_eq!(
        s.profiles("u", "name").await[0]["profile_data"]["embed_text"],
        "Name: Dana Whitfield"
    );
    assert!(dir.path().join("local-everos.sqlite3").exists());
}

#[tokio::test]
async fn in_memory_does_not_survive_restart() {
    let s = Srv::start().await;
    s.add("u", "t1", user_msg("hello", T0)).await;
    s.running.shutdown().await;
    let s = Srv::start().await;
    assert!(s.raw("u").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_lose_nothing() {
    let s = std::sync::Arc::new(Srv::start().await);
    let mut tasks = Vec::new();
    for i in 0..50i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.add(
                "shared",
                "one-session",
                user_msg(&format!("shared message {i}"), T0 + i),
            )
            .await;
            s.add(
                &format!("user{i}"),
                "t",
                convo(&format!("user{i}"), &[&format!("private {i}"), "ok"]),
            )
            .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.raw("shared").await.len(), 50);
    let flushes: Vec<_> = (0..5)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.flush("shared", "one-session").await })
        })
        .collect();
    let mut extracted = 0;
    for f in flushes {
        if f.await.unwrap() == "extracted" {
            extracted += 1;
        }
    }
    assert_eq!(extracted, 1, "concurrent flushes cut exactly one episode");
    let ep = &s.get_episodes("shared").await["episodes"][0];
    assert_eq!(
        ep["episode"]
            .as_str()
            .unwrap()
            .matches("shared message")
            .count(),
        50
    );
    for i in 0..50 {
        assert_eq!(s.raw(&format!("user{i}")).await.len(), 1, "user{i}");
    }
}

#[tokio::test]
async fn controls_fault_with_status_is_not_processed_and_fifo() {
    let s = Srv::start().await;
    let admin = s.url("/_test/faults");
    s.http
        .post(&admin)
        .json(&json!({"route": "flush", "status": 500, "times": 2}))
        .send()
        .await
        .unwrap();
    s.http
        .post(&admin)
        .json(&json!({"route": "flush", "status": 429, "delay_ms": 50}))
        .send()
        .await
        .unwrap();
    s.add("u", "t", user_msg("hello", T0)).await;
    let body = json!({"user_id": "u", "session_id": "t"});
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(
                s.post("/api/v1/memories/flush", body.clone())
                    .await
                    .0
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(statuses, vec![500, 500, 429, 200]);
    s.http
        .post(&admin)
        .json(&json!({"route": "get", "status": 503}))
        .send()
        .await
        .unwrap();
    s.http.delete(&admin).send().await.unwrap();
    assert_eq!(
        s.get_episodes("u").await["total_count"],
        1,
        "faults cleared; only the 4th flush ran"
    );
}

#[tokio::test]
async fn controls_slow_then_succeed_stores_before_answering() {
    let s = Srv::start().await;
    s.http
        .post(s.url("/_test/faults"))
        .json(&json!({"route": "flush", "delay_ms": 300}))
        .send()
        .await
        .unwrap();
    s.add("u", "t", user_msg("hello", T0)).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(80))
        .build()
        .unwrap();
    let r = quick
        .post(s.url("/api/v1/memories/flush"))
        .bearer_auth(KEY)
        .json(&json!({"user_id": "u", "session_id": "t"}))
        .send()
        .await;
    assert!(r.is_err());
    let happened = crate::common::eventually(1000, || async {
        s.get_episodes("u").await["total_count"] == 1
    })
    .await;
    assert!(happened, "the timed-out flush did happen");
    assert_eq!(s.get_episodes("u").await["total_count"], 1, "exactly once");
}

#[tokio::test]
async fn controls_request_log_filter_and_reset() {
    let s = Srv::start().await;
    s.add("u", "t", user_msg("hello", T0)).await;
    s.post(
        "/api/v1/memories/search",
        json!({"query": "", "filters": {"user_id": "u"}}),
    )
    .await;
    s.http
        .post(s.url("/api/v1/memories"))
        .body("garbage")
        .send()
        .await
        .unwrap();
    let log: Value = s.get_path("/_test/requests").await.1;
    let reqs = log["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0]["route"], "add");
    assert_eq!(reqs[0]["status"], 200);
    assert_eq!(reqs[0]["method"], "POST");
    assert_eq!(reqs[0]["path"], "/api/v1/memories");
    assert_eq!(reqs[0]["body"]["user_id"], "u");
    assert_eq!(reqs[1]["status"], 422);
    assert_eq!(reqs[2]["status"], 401);
    assert_eq!(reqs[2]["body"], Value::Null);
    assert!(reqs[0]["seq"].as_u64() < reqs[1]["seq"].as_u64());
    let adds: Value = s.get_path("/_test/requests?route=add").await.1;
    assert_eq!(adds["requests"].as_array().unwrap().len(), 2);
    s.http
        .delete(s.url("/_test/requests"))
        .send()
        .await
        .unwrap();
    let log: Value = s.get_path("/_test/requests").await.1;
    assert_eq!(log["requests"], json!([]));
    s.http
        .post(s.url("/_test/faults"))
        .json(&json!({"route": "add", "status": 500}))
        .send()
        .await
        .unwrap();
    let r = s.http.post(s.url("/_test/reset")).send().await.unwrap();
    assert!(r.status().is_success());
    assert!(s.raw("u").await.is_empty(), "data wiped");
    s.add("u", "t", user_msg("after reset", T0)).await; // the fault was wiped too
    let log: Value = s.get_path("/_test/requests").await.1;
    assert_eq!(
        log["requests"].as_array().unwrap().len(),
        2,
        "log restarted at reset"
    );
}

#[tokio::test]
async fn controls_absent_without_flag() {
    let s = Srv::start_with(Config::in_memory(KEY)).await;
    let r = s.http.get(s.url("/_test/requests")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .http
        .post(s.url("/_test/faults"))
        .json(&json!({"route": "add", "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dropping_running_stops_the_server() {
    let s = Srv::start().await;
    let url = s.url("/api/v1/tasks/x");
    drop(s);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
}

#[test]
fn binary_prints_listening_line_and_help_lists_flags() {
    let bin = env!("CARGO_BIN_EXE_local-everos");
    let help = Command::new(bin).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--api-key",
        "--data-dir",
        "--in-memory",
        "--profile-delay-ms",
        "--index-lag-ms",
        "--async-delay-ms",
        "--test-controls",
        "--llm-base-url",
        "--llm-api-key",
        "--llm-model",
        "LOCAL_EVEROS_API_KEY",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--in-memory"])
        .env("LOCAL_EVEROS_API_KEY", "k")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://127.0.0.1:")
        .expect(&line);
    assert_ne!(addr.parse::<u16>().unwrap(), 0, "real port printed");
}
