//! A small server-sent-events parser (the `text/event-stream` format): bytes in, in
//! chunks cut anywhere, complete events out. Only what the proxy's streams use:
//! `event`, `data` (several lines joined with `\n`), `id`; comments and `retry` are
//! skipped. Lines end with LF, CRLF or CR.

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// `event:` (empty when the event had none: "message").
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// `id:` of this event, if it had one.
    pub id: Option<String>,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// The event being built.
    frame: Frame,
    /// Whether a `data:` line was seen for it.
    has_data: bool,
    /// The previous chunk ended with CR: a LF starting this one belongs to it.
    after_cr: bool,
}

impl SseParser {
    /// Feeds a chunk; returns the events it completed, in order.
    #[inline(never)]
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        for &b in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    let line = std::mem::take(&mut self.line);
                    if let Some(frame) = self.line_done(&line) {
                        out.push(frame);
                    }
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    fn line_done(&mut self, line: &[u8]) -> Option<Frame> {
        if line.is_empty() {
            let frame = std::mem::take(&mut self.frame);
            return std::mem::take(&mut self.has_data).then_some(frame);
        }
        // Lines are whole, so their UTF-8 is too (the proxy sends nothing else).
        let line = std::str::from_utf8(line).unwrap_or_default();
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.frame.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.frame.data.push('\n');
                }
                self.frame.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.frame.id = Some(value.to_owned()),
            _ => {} // comments (empty field), retry, unknown fields
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut p = SseParser::default();
        chunks.iter().flat_map(|c| p.push(c)).collect()
    }

    fn frame(event: &str, data: &str, id: Option<&str>) -> Frame {
        Frame {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn reads_events_with_id_and_name() {
        let got = all(&[b"id: 3\nevent: message\ndata: {\"a\":1}\n\n"]);
        assert_eq!(got, [frame("message", "{\"a\":1}", Some("3"))]);
    }

    #[test]
    fn chunks_may_split_anywhere_even_inside_utf8() {
        let text = "event: message\ndata: h\u{e9}llo \u{1F600}\n\nevent: closed\ndata: x\n\n";
        let whole = all(&[text.as_bytes()]);
        for cut in 0..text.len() {
            let (a, b) = text.as_bytes().split_at(cut);
            assert_eq!(all(&[a, b]), whole, "cut at {cut}");
        }
        assert_eq!(whole[0].data, "h\u{e9}llo \u{1F600}");
        assert_eq!(whole.len(), 2);
    }

    #[test]
    fn crlf_and_cr_end_lines_and_multi_line_data_joins() {
        let got = all(&[b"data: one\r\ndata:two\r", b"\n\r\ndata: x\r\r"]);
        assert_eq!(got, [frame("", "one\ntwo", None), frame("", "x", None)]);
    }

    #[test]
    fn comments_and_events_without_data_are_skipped() {
        let got = all(&[b": keep-alive\n\nevent: typing\n\nretry: 10\ndata: d\n"]);
        assert!(got.is_empty(), "{got:?}");
        // The unfinished event is dispatched when its blank line arrives.
        let mut p = SseParser::default();
        assert!(p.push(b"data: d\n").is_empty());
        assert_eq!(p.push(b"\n"), [frame("", "d", None)]);
    }

    #[test]
    fn id_is_per_event() {
        let got = all(&[b"id: 1\ndata: a\n\nevent: typing\ndata: b\n\n"]);
        assert_eq!(got[0].id.as_deref(), Some("1"));
        assert_eq!(got[1].id, None);
    }
}
