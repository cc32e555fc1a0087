//! Incremental parser for `text/event-stream` bodies (the WHATWG
//! server-sent events format), fed with chunks as they arrive.
//!
//! Lines end in LF, CRLF or a lone CR, and a terminator may be split across
//! chunks. Comments (`:` lines) and unknown fields are skipped; an event
//! without `data` is not dispatched; an unfinished event at the end of the
//! stream is dropped by the caller simply not getting it.

use std::time::Duration;

use crate::error::UpstreamError;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched server-sent event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event` field, `"message"` when absent.
    pub event: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The last event id seen on the stream so far, if any.
    pub id: Option<String>,
}

/// Parser state for one event stream.
#[derive(Debug)]
pub struct SseParser {
    /// Bytes of a line whose terminator has not arrived yet.
    line: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF of the next one belongs to it.
    skip_lf: bool,
    /// No line has been processed yet (a UTF-8 BOM may lead the stream).
    first_line: bool,
    data: String,
    has_data: bool,
    event: String,
    last_id: Option<String>,
    retry: Option<Duration>,
    limit: usize,
}

impl SseParser {
    /// A parser that fails once one event (or one line) exceeds `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            line: Vec::new(),
            skip_lf: false,
            first_line: true,
            data: String::new(),
            has_data: false,
            event: String::new(),
            last_id: None,
            retry: None,
            limit,
        }
    }

    /// The id of the last event seen (for `Last-Event-ID` on reconnection).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection delay the server asked for with a `retry` field.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Start reading a new stream that resumes this one: keeps the last event
    /// id and retry delay, drops any partial line or event.
    pub fn restart(&mut self) {
        self.line.clear();
        self.skip_lf = false;
        self.first_line = true;
        self.reset_event();
    }

    /// Feeds the next chunk; returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, UpstreamError> {
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(pos) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let (head, tail) = rest.split_at(pos);
            let terminator = tail[0];
            rest = &tail[1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            if self.line.is_empty() {
                self.process_line(head, &mut events)?;
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                let result = self.process_line(&line, &mut events);
                line.clear();
                self.line = line;
                result?;
            }
        }
        self.line.extend_from_slice(rest);
        self.check_limit()?;
        Ok(events)
    }

    fn process_line(
        &mut self,
        line: &[u8],
        events: &mut Vec<SseEvent>,
    ) -> Result<(), UpstreamError> {
        let line = if std::mem::replace(&mut self.first_line, false) {
            line.strip_prefix(BOM).unwrap_or(line)
        } else {
            line
        };
        if line.is_empty() {
            self.dispatch(events);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
                self.has_data = true;
                self.check_limit()?;
            }
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id =
                    (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                if let Some(ms) = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        if self.has_data {
            if self.data.ends_with('\n') {
                self.data.pop();
            }
            let event = if self.event.is_empty() {
                "message".to_owned()
            } else {
                std::mem::take(&mut self.event)
            };
            events.push(SseEvent {
                event,
                data: std::mem::take(&mut self.data),
                id: self.last_id.clone(),
            });
        }
        self.reset_event();
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.has_data = false;
        self.event.clear();
    }

    fn check_limit(&self) -> Result<(), UpstreamError> {
        if self.line.len() + self.data.len() > self.limit {
            return Err(UpstreamError::Protocol(format!(
                "event stream message exceeds {} bytes",
                self.limit
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: "message".into(),
            data: data.into(),
            id: id.map(str::to_owned),
        }
    }

    fn feed_all(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for chunk in chunks {
            events.extend(parser.feed(chunk).expect("within limit"));
        }
        events
    }

    #[test]
    fn parses_fields_comments_and_multiline_data() {
        let mut parser = SseParser::new(1024);
        let events = feed_all(
            &mut parser,
            &[b": keep-alive\nevent: note\nid: 7\ndata: a\ndata:b\nretry: 1500\nbogus: x\n\ndata: {}\n\n"],
        );
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: "note".into(),
                    data: "a\nb".into(),
                    id: Some("7".into()),
                },
                message("{}", Some("7")),
            ]
        );
        assert_eq!(parser.retry(), Some(Duration::from_millis(1500)));
        assert_eq!(parser.last_event_id(), Some("7"));
    }

    #[test]
    fn accepts_crlf_lf_and_lone_cr() {
        let mut parser = SseParser::new(1024);
        let events = feed_all(
            &mut parser,
            &[b"data: 1\r\n\r\ndata: 2\n\ndata: 3\r\rdata: 4\r\n\n"],
        );
        let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["1", "2", "3", "4"]);
    }

    #[test]
    fn reassembles_events_split_at_every_byte() {
        let stream: &[u8] =
            b"\xEF\xBB\xBFid: 1\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1}\r\n\r\n: ping\r\n\r\ndata: x\r\n\r\n";
        let expected = vec![
            message("{\"jsonrpc\":\"2.0\",\n\"id\":1}", Some("1")),
            message("x", Some("1")),
        ];
        for split in 0..=stream.len() {
            let mut parser = SseParser::new(1024);
            let (a, b) = stream.split_at(split);
            assert_eq!(feed_all(&mut parser, &[a, b]), expected, "split at {split}");
        }
        let mut parser = SseParser::new(1024);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed_all(&mut parser, &bytes), expected);
    }

    #[test]
    fn cr_at_chunk_end_then_empty_chunk_keeps_pending_lf() {
        let mut parser = SseParser::new(1024);
        let events = feed_all(&mut parser, &[b"data: a\r", b"", b"\n\r", b"\n"]);
        assert_eq!(events, vec![message("a", None)]);
    }

    #[test]
    fn skips_events_without_data_and_keeps_empty_data() {
        let mut parser = SseParser::new(1024);
        let events = feed_all(&mut parser, &[b"id: 0\nretry: 10\n\nevent: x\n\ndata:\n\n"]);
        assert_eq!(events, vec![message("", Some("0"))]);
    }

    #[test]
    fn field_without_colon_and_invalid_id_and_retry() {
        let mut parser = SseParser::new(1024);
        let events = feed_all(&mut parser, &[b"id: 5\nid: a\0b\nretry: 1x\ndata\n\n"]);
        assert_eq!(events, vec![message("", Some("5"))]);
        assert_eq!(parser.retry(), None);
        let events = feed_all(&mut parser, &[b"id\ndata: y\n\n"]);
        assert_eq!(events, vec![message("y", None)]);
    }

    #[test]
    fn unfinished_event_is_not_dispatched() {
        let mut parser = SseParser::new(1024);
        assert!(feed_all(&mut parser, &[b"data: partial\n"]).is_empty());
        parser.restart();
        assert_eq!(
            feed_all(&mut parser, &[b"data: b\n\n"]),
            vec![message("b", None)]
        );
    }

    #[test]
    fn rejects_oversized_lines_and_events() {
        let mut parser = SseParser::new(8);
        assert!(parser.feed(b"data: 0123456789").is_err());
        let mut parser = SseParser::new(8);
        assert!(parser.feed(b"data: 01234\n").is_ok());
        assert!(parser.feed(b"data: 56789\n").is_err());
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut parser = SseParser::new(64);
        let mut state: u32 = 12345;
        for _ in 0..2000 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = (state >> 24) as usize % 16;
            let chunk: Vec<u8> = (0..len)
                .map(|i| {
                    [b'd', b'a', b':', b'\r', b'\n', b' ', 0xff, b'i'][(state as usize >> i) % 8]
                })
                .collect();
            if parser.feed(&chunk).is_err() {
                parser = SseParser::new(64);
            }
        }
    }
}
