//! The `everdesk-proxy` binary as others' end-to-end tests use it: `--listen 127.0.0.1:0
//! --widget-dir DIR` prints `listening on http://ADDR`, serves DIR at `/` and the API on
//! the same origin with the embedded EverOS; invalid config refuses to start.
//! These start the binary themselves, as a user would, with the default store (SQLite in
//! the data dir, whose file they check), also when the suite runs on PostgreSQL.

use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::listening_base;

#[tokio::test]
async fn binary_serves_widget_and_api_with_embedded_everos() {
    let dir = tempfile::tempdir().unwrap();
    let widget = dir.path().join("widget");
    std::fs::create_dir_all(&widget).unwrap();
    std::fs::write(widget.join("loader.js"), "/*loader*/").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .args(["--listen", "127.0.0.1:0", "--widget-dir"])
        .arg(&widget)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("EVEROS_BASE_URL")
        .env_remove("EVEROS_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = listening_base(&mut child).await;
    let http = reqwest::Client::new();
    let file = http.get(format!("{base}/loader.js")).send().await.unwrap();
    assert_eq!(file.text().await.unwrap(), "/*loader*/");
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let s: Value = http
        .post(format!("{base}/v1/session"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = s["token"].as_str().unwrap();
    let r = http
        .post(format!("{base}/v1/tickets"))
        .bearer_auth(token)
        .json(&json!({"ticket_id": "bin-1", "subject": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    child.kill().unwrap();
    let _ = child.wait();
    assert!(dir.path().join("data/signing.key").exists());
    assert!(dir.path().join("data/everdesk.db").exists());
}

#[test]
fn invalid_config_refuses_to_start_naming_the_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .args(["--everos-base-url", "https://api.example.com"])
        .args(["--everos-api", "v1"])
        .env_remove("EVEROS_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--everos-api-key"));
    let help = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--widget-dir",
        "--identity-secret",
        "--llm-base-url",
        "--handoff-webhook-url",
        "--store-redaction",
        "--everos-api",
        "--embedding-model",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[tokio::test]
async fn credentials_in_the_everos_url_are_never_logged() {
    let mut ec = local_everos::Config::in_memory(crate::common::EVEROS_KEY);
    ec.test_controls = false;
    let everos = local_everos::spawn(ec).await.unwrap();
    let url = everos
        .base_url()
        .replacen("http://", "http://ops:s3cret-in-url@", 1);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .args(["--listen", "127.0.0.1:0", "--everos-api", "v2"])
        .args(["--everos-base-url", &url])
        .args(["--everos-api-key", crate::common::EVEROS_KEY])
        .args(["--identity-secret", crate::common::SECRET, "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _base = listening_base(&mut child).await;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("EverOS"),
        "the capability line is logged: {log}"
    );
    assert!(!log.contains("s3cret-in-url"), "{log}");
}

#[tokio::test]
async fn an_everos_down_at_start_is_said_in_the_log() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .args(["--listen", "127.0.0.1:0", "--everos-api", "v2"])
        .args(["--everos-base-url", &format!("http://127.0.0.1:{port}")])
        .args(["--identity-secret", crate::common::SECRET, "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _base = listening_base(&mut child).await;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("EverOS not reachable"), "{log}");
}
