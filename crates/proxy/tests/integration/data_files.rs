//! The data dir: created owner-only, with owner-only files (signing key, journals); a
//! signing key file that is too short or unreadable stops the start with a clear error
//! and is left as it is, never silently replaced.

use std::{path::Path, process::Command};

use everdesk_proxy::{AppState, Config, StartError};
use serde_json::json;

use crate::common::{start_persisted_on_sqlite, EVEROS_KEY};

/// A config on `data_dir` with an (unused) EverOS URL, so nothing is embedded.
fn config(data_dir: &Path) -> Config {
    let mut c = Config::for_tests();
    c.data_dir = data_dir.to_owned();
    c.everos_base_url = Some("http://127.0.0.1:9".into());
    c.everos_api_key = Some(EVEROS_KEY.into());
    c
}

#[tokio::test]
async fn a_bad_signing_key_file_stops_the_start_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    for bad in [b"short-key\n".to_vec(), vec![0xff, 0xfe, 0xfd, 0x41]] {
        std::fs::write(&key, &bad).unwrap();
        let err = AppState::start(config(dir.path())).await.unwrap_err();
        assert!(matches!(err, StartError::SigningKey(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("signing.key"), "{text}");
        assert_eq!(
            std::fs::read(&key).unwrap(),
            bad,
            "the file is not replaced"
        );

        // The binary says so and exits non-zero.
        let out = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--everos-base-url",
                "http://127.0.0.1:9",
            ])
            .args(["--everos-api-key", EVEROS_KEY, "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("signing.key"), "{stderr}");
        assert_eq!(std::fs::read(&key).unwrap(), bad);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // About the data dir's files: SQLite's `everdesk.db` is one of them, so this test
    // stays on SQLite when the suite runs on PostgreSQL.
    let h = start_persisted_on_sqlite(&data).await;
    let t = h.verified("cust_files").await;
    h.ticket(&t, "T", "Files").await;
    assert_eq!(h.say(&t, "T", "m1", "hello").await.status, 200);
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.status, 200);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data dir");
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    for name in ["signing.key", "everdesk.db"] {
        assert!(data.join(name).is_file(), "{name} was created");
    }
    assert!(files >= 2);
}
