//! An OpenAI-compatible chat-completions client: streams `choices[0].delta.content`
//! pieces to a callback (and accepts a non-streamed JSON answer too). Every request
//! carries `max_tokens` and runs under a timeout, so one answer's cost is bounded. The
//! stream is split into lines as bytes and each line decoded whole, so a character whose
//! bytes arrive in two network chunks is never mangled. Callers pass only redacted text.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

/// How the LLM call failed (details logged, not returned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// Transport failure or timeout.
    #[error("LLM unreachable or timed out")]
    Transport,
    /// Non-success status.
    #[error("LLM answered {0}")]
    Status(u16),
    /// Nothing usable came back.
    #[error("LLM returned no content")]
    Empty,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system` or `user`.
    pub role: &'static str,
    /// Text.
    pub content: String,
}

/// Where and how to ask: the endpoint, its key and model, and the bounds of one answer.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// Base URL; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// Bearer key.
    pub api_key: Option<String>,
    /// Model name.
    pub model: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// `max_tokens` of every request.
    pub max_tokens: u32,
}

/// Client for one endpoint and model.
#[derive(Debug, Clone)]
pub struct Llm {
    http: reqwest::Client,
    url: String,
    api_key: Option<String>,
    model: String,
    max_tokens: u32,
}

impl Llm {
    /// A client for `settings`.
    pub fn new(settings: LlmSettings) -> Self {
        let LlmSettings {
            base_url,
            api_key,
            model,
            timeout,
            max_tokens,
        } = settings;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            http,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key,
            model,
            max_tokens,
        }
    }

    /// Runs the chat, calling `on_delta` with each piece; returns the whole text.
    pub async fn complete(
        &self,
        messages: &[ChatMessage],
        mut on_delta: impl FnMut(&str) + Send,
    ) -> Result<String, LlmError> {
        let msgs: Vec<Value> = messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let body = json!({
            "model": self.model,
            "messages": msgs,
            "stream": true,
            "temperature": 0.3,
            "max_tokens": self.max_tokens,
        });
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "LLM request failed");
            LlmError::Transport
        })?;
        if !resp.status().is_success() {
            tracing::warn!(status = %resp.status(), "LLM refused the request");
            return Err(LlmError::Status(resp.status().as_u16()));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut full = String::new();
        if !is_sse {
            let v: Value = resp.json().await.map_err(|_| LlmError::Empty)?;
            let text = v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default();
            on_delta(text);
            full.push_str(text);
        } else {
            let mut stream = resp.bytes_stream();
            let mut lines = LineSplitter::default();
            'read: while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|_| LlmError::Transport)?;
                lines.push(&chunk);
                while let Some(line) = lines.next_line() {
                    let Some(data) = line.trim().strip_prefix("data:") else {
                        continue;
                    };
                    let data = data.trim();
                    if data == "[DONE]" {
                        break 'read;
                    }
                    if let Ok(v) = serde_json::from_str::<Value>(data) {
                        if let Some(piece) = v["choices"][0]["delta"]["content"].as_str() {
                            if !piece.is_empty() {
                                on_delta(piece);
                                full.push_str(piece);
                            }
                        }
                    }
                }
            }
        }
        let trimmed = full.trim();
        if trimmed.is_empty() {
            return Err(LlmError::Empty);
        }
        Ok(trimmed.to_owned())
    }
}

/// Splits a byte stream into lines: bytes are kept until their `\n` arrives, and only a
/// whole line is decoded, so a multi-byte character split across chunks stays whole
/// (`\n` never occurs inside one).
#[derive(Debug, Default)]
struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Adds the next chunk.
    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line (without its `\n`), if one has arrived.
    fn next_line(&mut self) -> Option<String> {
        let nl = self.buf.iter().position(|b| *b == b'\n')?;
        let line: Vec<u8> = self.buf.drain(..=nl).collect();
        Some(String::from_utf8_lossy(&line[..nl]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::LineSplitter;

    #[test]
    fn characters_split_between_chunks_stay_whole() {
        let text = "data: مرحبا 👋 ok\n\ndata: [DONE]\n";
        let bytes = text.as_bytes();
        // Every split point, including the middle of each multi-byte character.
        for cut in 0..=bytes.len() {
            let mut s = LineSplitter::default();
            let mut lines = Vec::new();
            for chunk in [&bytes[..cut], &bytes[cut..]] {
                s.push(chunk);
                while let Some(line) = s.next_line() {
                    lines.push(line);
                }
            }
            assert_eq!(
                lines,
                ["data: مرحبا 👋 ok", "", "data: [DONE]"],
                "cut at {cut}"
            );
        }
    }
}
