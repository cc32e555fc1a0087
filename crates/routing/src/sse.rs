//! Server-sent events of a backend's POST response, rewritten on the way to the client.
//!
//! A backend may send requests (`sampling/createMessage`, `elicitation/create`,
//! `roots/list`, `ping`) on the SSE stream that answers a client's POST. Their ids must be
//! unique within the gateway session, so each becomes `"<server>:<id>"` (see
//! `mcp_gateway_protocol::server_request`); the client's response is routed back by id.
//! Task ids and resource URIs become the gateway's too (`mcp_gateway_protocol::ToClient`).
//! Event ids become `<server>~<id>` so that a client resuming the stream with
//! `Last-Event-ID` is sent back to this backend. Everything else passes byte for byte.
//! Events are rewritten whole, so an event split across chunks is held until its end arrives.

use mcp_gateway_protocol::{events, modern};

use crate::answer::Source;

/// Rewrites one SSE response stream chunk by chunk.
pub(crate) struct SseRewriter {
    source: Source,
    pending: Vec<u8>,
}

impl SseRewriter {
    pub(crate) fn new(source: Source) -> Self {
        Self {
            source,
            pending: Vec::new(),
        }
    }

    /// The bytes to send for this chunk: every event completed so far, rewritten; at the end
    /// of the stream also whatever incomplete tail remains, as it is.
    pub(crate) fn chunk(&mut self, chunk: &[u8], end_of_stream: bool) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.pending.len());
        let mut start = 0;
        while let Some(len) = event_len(&self.pending[start..]) {
            let event = &self.pending[start..start + len];
            match rewrite(&self.source, event) {
                Some(rewritten) => out.extend_from_slice(&rewritten),
                None => out.extend_from_slice(event),
            }
            start += len;
        }
        self.pending.drain(..start);
        if end_of_stream {
            out.append(&mut self.pending);
        }
        out
    }
}

/// Length of the first complete event (including its terminating blank line), if any.
fn event_len(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        // A blank line: a line terminator right after another (or at the very start).
        let at_line_start =
            i == 0 || buf[i - 1] == b'\n' || (buf[i - 1] == b'\r' && buf[i] != b'\n');
        if at_line_start {
            match buf[i] {
                b'\n' => return Some(i + 1),
                b'\r' if buf.get(i + 1) == Some(&b'\n') => return Some(i + 2),
                b'\r' if i + 1 < buf.len() => return Some(i + 1),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The event with its id and its message made the gateway's; `None` to keep it as it is.
fn rewrite(source: &Source, event: &[u8]) -> Option<Vec<u8>> {
    let server = source.server.as_str();
    let text = std::str::from_utf8(event).ok()?;
    let has_id = text.lines().any(|l| l.starts_with("id:"));
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if let Some(floor) = source.log_floor
        && below_floor(&data.join("\n"), floor)
    {
        // A log message the client did not ask for: the event is left out.
        return Some(Vec::new());
    }
    let message = (!data.is_empty())
        .then(|| source.rewrite(&data.join("\n")))
        .flatten();
    if !has_id && message.is_none() {
        return None;
    }
    let mut out = String::with_capacity(event.len() + server.len() * 2 + 8);
    let mut wrote_data = false;
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("id:") {
            out.push_str("id: ");
            out.push_str(&events::backend_event_id(
                server,
                id.strip_prefix(' ').unwrap_or(id),
            ));
            out.push('\n');
        } else if line.starts_with("data:") && message.is_some() {
            if !wrote_data {
                for part in message.iter().flat_map(|r| r.split('\n')) {
                    out.push_str("data: ");
                    out.push_str(part);
                    out.push('\n');
                }
                wrote_data = true;
            }
        } else if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push('\n');
    Some(out.into_bytes())
}

/// Whether `data` is a `notifications/message` below the `floor` rank (one of an unknown
/// level counts as below any floor but none's).
fn below_floor(data: &str, floor: u8) -> bool {
    let Ok(msg) = mcp_gateway_protocol::Message::parse(data.as_bytes()) else {
        return false;
    };
    if msg.method() != Some("notifications/message") {
        return false;
    }
    let rank = msg
        .param_str(&["level"])
        .and_then(|level| modern::log_rank(&level.value));
    rank.is_none_or(|rank| rank < floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(server: &str) -> Source {
        Source {
            server: server.into(),
            prefix: format!("{server}_"),
            read_contents: false,
            stamp: None,
            log_floor: None,
        }
    }

    const REQUEST: &str = "id: 3\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"sampling/createMessage\",\"params\":{}}\n\n";
    const RESULT: &str = "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";

    #[test]
    fn server_requests_get_gateway_ids_and_the_rest_passes_untouched() {
        let mut r = SseRewriter::new(source("calc"));
        let stream = format!(": keep-alive\n\n{REQUEST}{RESULT}");
        let out = String::from_utf8(r.chunk(stream.as_bytes(), true)).expect("utf8");
        assert_eq!(
            out,
            format!(
                ": keep-alive\n\nid: calc~3\ndata: {{\"jsonrpc\":\"2.0\",\"id\":\"calc:0\",\"method\":\"sampling/createMessage\",\"params\":{{}}}}\n\n{RESULT}"
            )
        );
    }

    #[test]
    fn log_messages_below_the_floor_are_left_out() {
        let log = |level: &str| {
            format!(
                "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"level\":\"{level}\",\"data\":\"x\"}}}}\n\n"
            )
        };
        let stream = format!("{}{}{}{RESULT}", log("debug"), log("info"), log("warning"));
        let filtered = |floor| {
            let source = Source {
                log_floor: floor,
                ..source("s")
            };
            String::from_utf8(SseRewriter::new(source).chunk(stream.as_bytes(), true))
                .expect("utf8")
        };
        assert_eq!(filtered(None), stream, "a 2025 client gets every one");
        assert_eq!(
            filtered(Some(1)),
            format!("{}{}{RESULT}", log("info"), log("warning"))
        );
        // No level asked for: none.
        assert_eq!(filtered(Some(modern::LOG_LEVELS.len() as u8)), RESULT);
    }

    #[test]
    fn events_split_across_chunks_are_held_until_complete() {
        let stream = format!("{REQUEST}{RESULT}");
        for split in 1..stream.len() {
            let mut r = SseRewriter::new(source("s"));
            let mut out = r.chunk(&stream.as_bytes()[..split], false);
            out.extend(r.chunk(&stream.as_bytes()[split..], true));
            let out = String::from_utf8(out).expect("utf8");
            assert!(out.contains("\"id\":\"s:0\""), "split at {split}: {out}");
            assert!(out.ends_with(RESULT), "split at {split}");
        }
    }

    #[test]
    fn a_read_answer_event_keeps_every_byte_but_its_uris() {
        let source = Source {
            read_contents: true,
            ..source("calc")
        };
        let event = concat!(
            "id: 9\ndata: ",
            r#"{"result":{"contents":[{"uri":"file:///a","n":12345678901234567890,"f":1.10}],"b":{"z":1,"a":2}},"jsonrpc":"2.0","id":4}"#,
            "\n\n"
        );
        let want = concat!(
            "id: calc~9\ndata: ",
            r#"{"result":{"contents":[{"uri":"file://calc_/a","n":12345678901234567890,"f":1.10}],"b":{"z":1,"a":2}},"jsonrpc":"2.0","id":4}"#,
            "\n\n"
        );
        let out = SseRewriter::new(source).chunk(event.as_bytes(), true);
        assert_eq!(String::from_utf8_lossy(&out), want);
    }

    #[test]
    fn crlf_streams_and_unfinished_tails() {
        let mut r = SseRewriter::new(source("s"));
        let crlf = "data: {\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"roots/list\"}\r\n\r\n";
        let out = String::from_utf8(r.chunk(crlf.as_bytes(), false)).expect("utf8");
        assert!(out.contains(r#""id":"s:\"x\"""#), "{out}");
        assert!(r.chunk(b"data: partial", false).is_empty());
        assert_eq!(r.chunk(b"", true), b"data: partial");
    }
}
