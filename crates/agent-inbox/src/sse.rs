//! A small Server-Sent Events parser: bytes in (as they arrive from a fetch body),
//! complete events out. Pure, so it is tested natively; the stream reading itself is
//! in [`crate::live`].

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id:` in force when it was dispatched (the resume point).
    pub id: Option<String>,
    /// The `event:` type (`message` when absent).
    pub event: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// Incremental parser state: bytes of an unfinished line, the event being built.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
}

impl SseParser {
    /// A parser that resumes after `last_id` (what a reconnect sends as `Last-Event-ID`).
    pub fn new(last_id: Option<String>) -> Self {
        Self {
            last_id,
            ..Self::default()
        }
    }

    /// The last event id seen.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Feeds a chunk and returns the events it completed. Lines are split on `\n`
    /// (a `\r` before it is dropped); UTF-8 never has `\n` inside a character, so a
    /// character split across chunks is reassembled before it is decoded.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            let mut line = &self.pending[start..end];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            let line = String::from_utf8_lossy(line).into_owned();
            if let Some(event) = self.line(&line) {
                out.push(event);
            }
            start = end + 1;
        }
        self.pending.drain(..start);
        out
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            return Some(SseEvent {
                id: self.last_id.clone(),
                event: if event.is_empty() {
                    "message".to_owned()
                } else {
                    event
                },
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_dispatched_on_blank_lines_with_their_id_and_type() {
        let mut p = SseParser::new(None);
        let out = p.feed(b": keep-alive\n\nid: 7\nevent: message\ndata: {\"a\":1}\n\n");
        assert_eq!(
            out,
            vec![SseEvent {
                id: Some("7".into()),
                event: "message".into(),
                data: "{\"a\":1}".into()
            }]
        );
        assert_eq!(p.last_id(), Some("7"));
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_events() {
        let stream =
            "id: 1\r\nevent: claimed\r\ndata: é\r\n\r\nid: 2\ndata: a\ndata: b\n\n".as_bytes();
        let whole = SseParser::new(None).feed(stream);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].data, "é");
        assert_eq!(whole[0].event, "claimed");
        assert_eq!(whole[1].data, "a\nb");
        assert_eq!(whole[1].event, "message");
        for split in 1..stream.len() {
            let mut p = SseParser::new(None);
            let mut got = p.feed(&stream[..split]);
            got.extend(p.feed(&stream[split..]));
            assert_eq!(got, whole, "split at {split}");
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_the_id_carries_over() {
        let mut p = SseParser::new(Some("41".into()));
        assert!(p.feed(b"event: typing\n\n").is_empty());
        let out = p.feed(b"data: x\n\n");
        assert_eq!(out[0].id.as_deref(), Some("41"));
        assert_eq!(out[0].event, "message");
    }

    #[test]
    fn an_unfinished_event_waits_for_its_blank_line() {
        let mut p = SseParser::new(None);
        assert!(p.feed(b"id: 3\ndata: half").is_empty());
        assert!(p.feed(b"\n").is_empty());
        assert_eq!(p.feed(b"\n").len(), 1);
    }
}
