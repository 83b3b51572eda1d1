//! The LLM's SSE stream read across network chunks: a fake OpenAI-compatible server
//! sends its answer in tiny chunks that cut Arabic letters and an emoji in half; the
//! reply and the deltas arrive whole, without U+FFFD.

use std::time::Duration;

use axum::{body::Body, response::IntoResponse, routing::post, Router};
use bytes::Bytes;
use serde_json::json;

use crate::common::start_with;

/// The answer, in three deltas.
const PIECES: [&str; 3] = ["مرحبا بك", " 👋🏽 ", "تم الحل"];

/// A server streaming `PIECES` as SSE, three bytes per network chunk.
async fn chunking_llm() -> String {
    async fn chat() -> axum::response::Response {
        let mut sse = String::new();
        for piece in PIECES {
            let chunk = json!({"choices": [{"delta": {"content": piece}}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        sse.push_str("data: [DONE]\n\n");
        let bytes = sse.into_bytes();
        let chunks: Vec<Bytes> = bytes.chunks(3).map(Bytes::copy_from_slice).collect();
        // A pause between chunks so they leave as separate writes.
        let stream = futures::stream::unfold(chunks.into_iter(), |mut rest| async move {
            let next = rest.next()?;
            tokio::time::sleep(Duration::from_millis(2)).await;
            Some((Ok::<_, std::io::Error>(next), rest))
        });
        (
            [("content-type", "text/event-stream")],
            Body::from_stream(stream),
        )
            .into_response()
    }
    let app = Router::new().route("/v1/chat/completions", post(chat));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn characters_split_across_network_chunks_arrive_whole() {
    let url = chunking_llm().await;
    let h = start_with(|c| {
        c.llm_base_url = Some(url);
        c.llm_model = Some("m".into());
    })
    .await;
    let t = h.verified("cust_utf8").await;
    h.ticket(&t, "T", "Arabic").await;
    let whole = PIECES.concat();

    let r = h.say(&t, "T", "j1", "مرحبا").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["reply"]["content"], whole.trim());

    let resp = h
        .http
        .post(format!("{}/v1/tickets/T/messages", h.base))
        .bearer_auth(&t)
        .header("accept", "text/event-stream")
        .json(&json!({"id": "s1", "content": "مرحبا مرة أخرى", "sent_at": 1}))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let deltas: Vec<String> = text
        .split("\n\n")
        .filter(|block| block.contains("event: delta"))
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data:")))
        .map(|data| {
            let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
            v["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(deltas, PIECES, "{text}");
    assert!(!text.contains('\u{FFFD}'));
}
