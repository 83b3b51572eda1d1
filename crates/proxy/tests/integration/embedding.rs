//! Who may embed the widget, over real HTTP: the frame page carries
//! `frame-ancestors` with `--allowed-hosts` and the same list in its `everdesk-hosts`
//! meta (also when the browser accepts the precompressed page, which still has the
//! placeholder); without a list any site may embed, and the binary says so at start.

use std::{
    io::Read,
    path::Path,
    process::{Command, Stdio},
};

use everdesk_proxy::Config;

use crate::common::{listening_base, serve};

/// The frame page as `scripts/build-widget` leaves it (minified, its own meta CSP),
/// with a stale precompressed copy next to it, and one hashed asset.
fn widget_dir(root: &Path) {
    let widget = root.join("widget");
    std::fs::create_dir_all(&widget).unwrap();
    let page = concat!(
        r#"<!doctype html><html lang=en><head><meta charset=utf-8>"#,
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'">"#,
        r#"<meta name=everdesk-hosts content=*><title>EverDesk</title></head><body></body></html>"#
    );
    std::fs::write(widget.join("index.html"), page).unwrap();
    // Any bytes: the proxy must never send this copy of the page.
    std::fs::write(widget.join("index.html.gz"), b"stale placeholder copy").unwrap();
    std::fs::write(widget.join("everdesk-0123456789abcdef.js"), "/*glue*/").unwrap();
}

async fn frame_page(base: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap()
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_frame_page_may_be_framed_only_by_the_allowed_hosts() {
    let dir = tempfile::tempdir().unwrap();
    widget_dir(dir.path());
    let mut config = Config::for_tests();
    config.widget_dir = Some(dir.path().to_owned());
    config.allowed_hosts = vec![
        "https://Shop.Example.com".to_owned(),
        "http://127.0.0.1:8787".to_owned(),
    ];
    assert!(config.validate().is_ok());
    let base = serve(config).await;

    for path in [
        "/widget/?host=https%3A%2F%2Fshop.example.com",
        "/widget/index.html",
    ] {
        let resp = frame_page(&base, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(
            header(&resp, "content-security-policy"),
            Some("frame-ancestors https://shop.example.com http://127.0.0.1:8787"),
            "{path}"
        );
        assert_eq!(header(&resp, "content-encoding"), None, "{path}");
        assert_eq!(header(&resp, "cache-control"), Some("public, max-age=300"));
        assert!(header(&resp, "content-type")
            .unwrap()
            .starts_with("text/html"));
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(r#"<meta name="everdesk-hosts" content="https://shop.example.com http://127.0.0.1:8787">"#),
            "{html}"
        );
        assert_eq!(html.matches("everdesk-hosts").count(), 1, "{html}");
        // The frame's own policy is untouched: both policies apply.
        assert!(html.contains(r#"content="default-src 'none'; script-src 'self'""#));
    }

    // HEAD carries the policy too; other methods are the typed 404.
    let http = reqwest::Client::new();
    let head = http.head(format!("{base}/widget/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(header(&head, "content-security-policy").is_some());
    let post = http.post(format!("{base}/widget/")).send().await.unwrap();
    assert_eq!(post.status(), 404);

    // The rest of the widget is served from disk as before.
    let glue = frame_page(&base, "/widget/everdesk-0123456789abcdef.js").await;
    assert_eq!(glue.status(), 200);
    assert_eq!(glue.text().await.unwrap(), "/*glue*/");
}

#[tokio::test]
async fn without_allowed_hosts_any_site_may_embed_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    widget_dir(dir.path());
    let mut config = Config::for_tests();
    config.widget_dir = Some(dir.path().to_owned());
    let base = serve(config).await;
    let resp = frame_page(&base, "/widget/").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-security-policy"), None);
    assert_eq!(header(&resp, "x-frame-options"), None);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"<meta name="everdesk-hosts" content="*">"#),
        "{html}"
    );

    // No frame page built: the typed 404.
    std::fs::remove_file(dir.path().join("widget/index.html")).unwrap();
    assert_eq!(frame_page(&base, "/widget/").await.status(), 404);
}

/// Starts the binary on a widget dir with `args`, waits until it listens, stops it
/// and returns what it logged.
async fn start_up_log(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    widget_dir(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .args(["--listen", "127.0.0.1:0", "--widget-dir"])
        .arg(dir.path())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        // A remote EverOS (never called here) keeps the start quick.
        .args([
            "--everos-base-url",
            "http://127.0.0.1:9",
            "--everos-api-key",
            "k",
        ])
        .args(args)
        .env_remove("EVERDESK_ALLOWED_HOSTS")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    listening_base(&mut child).await;
    child.kill().unwrap();
    let _ = child.wait();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

#[tokio::test]
async fn the_binary_warns_at_start_when_any_site_may_embed() {
    let log = start_up_log(&[]).await;
    assert!(log.contains("any site may embed the widget"), "{log}");
    let log = start_up_log(&["--allowed-hosts", "https://shop.example.com"]).await;
    assert!(!log.contains("any site may embed"), "{log}");
}
