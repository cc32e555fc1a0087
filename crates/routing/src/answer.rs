//! The answer of a routed request on its way back to the client, when the router must see it:
//! an SSE stream event by event ([`SseRewriter`]) or a JSON body whole ([`JsonRewriter`]),
//! both with [`ToClient`]'s rules. Either way the body's length changes, and Envoy streams it
//! to the router chunk by chunk (so its buffer limits never apply).

use mcp_gateway_protocol::ToClient;
use mcp_gateway_protocol::modern::{self, Stamp};

use crate::sse::SseRewriter;

/// Largest JSON answer held back to be rewritten; a larger one passes as it is.
const MAX_REWRITTEN_ANSWER: usize = 16 << 20;

/// The backend an answer comes from, and what its answer carries.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) server: String,
    pub(crate) prefix: String,
    /// It answers a `resources/read`: its result's contents carry URIs.
    pub(crate) read_contents: bool,
    /// It answers a 2026-07-28 client, whose results carry what a 2025 backend's lack.
    pub(crate) stamp: Option<Stamp>,
    /// The lowest rank of `notifications/message` the client gets (see
    /// `RouteMetadata::log_floor`); `None`: every one.
    pub(crate) log_floor: Option<u8>,
}

impl Source {
    /// `data` (one JSON-RPC message) as the client must see it; `None` to keep it.
    pub(crate) fn rewrite(&self, data: &str) -> Option<String> {
        let to_client = ToClient {
            server: &self.server,
            prefix: &self.prefix,
        };
        let rewritten = to_client.rewrite(data, self.read_contents);
        let Some(stamp) = self.stamp else {
            return rewritten;
        };
        let text = rewritten.as_deref().unwrap_or(data);
        modern::stamp_result(text, stamp).or(rewritten)
    }
}

/// Rewrites one answer body, chunk by chunk.
pub(crate) enum BodyRewriter {
    Sse(SseRewriter),
    Json(JsonRewriter),
}

impl BodyRewriter {
    /// For a body of `source`, SSE when `event_stream`, else JSON.
    pub(crate) fn new(source: Source, event_stream: bool) -> Self {
        if event_stream {
            Self::Sse(SseRewriter::new(source))
        } else {
            Self::Json(JsonRewriter {
                source,
                pending: Vec::new(),
                passing: false,
            })
        }
    }

    /// The bytes to send for this chunk.
    pub(crate) fn chunk(&mut self, chunk: &[u8], end_of_stream: bool) -> Vec<u8> {
        match self {
            Self::Sse(sse) => sse.chunk(chunk, end_of_stream),
            Self::Json(json) => json.chunk(chunk, end_of_stream),
        }
    }
}

/// A JSON answer: its chunks are held back and the whole is rewritten at the end.
pub(crate) struct JsonRewriter {
    source: Source,
    pending: Vec<u8>,
    /// Too large to hold: the rest passes untouched.
    passing: bool,
}

impl JsonRewriter {
    fn chunk(&mut self, chunk: &[u8], end_of_stream: bool) -> Vec<u8> {
        if self.passing {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        if self.pending.len() > MAX_REWRITTEN_ANSWER {
            self.passing = true;
            return std::mem::take(&mut self.pending);
        }
        if !end_of_stream {
            return Vec::new();
        }
        let rewritten = std::str::from_utf8(&self.pending)
            .ok()
            .and_then(|text| self.source.rewrite(text));
        match rewritten {
            Some(text) => text.into_bytes(),
            None => std::mem::take(&mut self.pending),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(read_contents: bool) -> BodyRewriter {
        let source = Source {
            server: "calc".into(),
            prefix: "c_".into(),
            read_contents,
            stamp: None,
            log_floor: None,
        };
        BodyRewriter::new(source, false)
    }

    #[test]
    fn a_json_answer_is_held_until_its_end_and_rewritten_whole() {
        let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"7"}}}"#;
        let mut body = json(false);
        assert!(body.chunk(&answer[..20], false).is_empty());
        let out = body.chunk(&answer[20..], true);
        let out: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(out["result"]["task"]["taskId"], "calc:7");
    }

    #[test]
    fn read_contents_name_the_exposed_uri_and_other_answers_pass_as_they_are() {
        let read = br#"{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a"}]}}"#;
        let out = json(true).chunk(read, true);
        let out: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(out["result"]["contents"][0]["uri"], "file://c_/a");
        let plain = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
        assert_eq!(json(true).chunk(plain, true), plain);
        assert_eq!(json(false).chunk(b"not json", true), b"not json");
    }

    #[test]
    fn a_2026_client_gets_result_types_and_cache_fields() {
        let source = Source {
            server: "calc".into(),
            prefix: "c_".into(),
            read_contents: true,
            stamp: Some(Stamp::Cacheable),
            log_floor: None,
        };
        let read = br#"{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a"}]}}"#;
        let out = BodyRewriter::new(source, false).chunk(read, true);
        let out: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        let result = &out["result"];
        assert_eq!(result["contents"][0]["uri"], "file://c_/a");
        assert_eq!(result["resultType"], "complete");
        assert_eq!(result["ttlMs"], 0);
        assert_eq!(result["cacheScope"], "private");
    }

    #[test]
    fn a_read_answer_keeps_every_byte_but_its_uris_and_the_stamp() {
        let source = Source {
            server: "calc".into(),
            prefix: "c_".into(),
            read_contents: true,
            stamp: Some(Stamp::Cacheable),
            log_floor: None,
        };
        let read = concat!(
            r#"{"result":{"zeta":{"b":1,"a":[1.10,12345678901234567890]},"contents":"#,
            r#"[{"text":"\u00e9\"","uri":"file:\/\/\/a","size":1.0e3}]},"id":1,"jsonrpc":"2.0"}"#
        );
        let want = concat!(
            r#"{"result":{"resultType":"complete","ttlMs":0,"cacheScope":"private","zeta":{"b":1,"a":[1.10,12345678901234567890]},"contents":"#,
            r#"[{"text":"\u00e9\"","uri":"file://c_/a","size":1.0e3}]},"id":1,"jsonrpc":"2.0"}"#
        );
        let mut body = BodyRewriter::new(source, false);
        assert!(body.chunk(&read.as_bytes()[..30], false).is_empty());
        let out = body.chunk(&read.as_bytes()[30..], true);
        assert_eq!(String::from_utf8_lossy(&out), want);
    }

    #[test]
    fn an_answer_too_large_to_hold_passes_untouched() {
        let mut body = json(false);
        let big = vec![b' '; MAX_REWRITTEN_ANSWER + 1];
        assert_eq!(body.chunk(&big, false).len(), big.len());
        assert_eq!(body.chunk(br#"{"taskId":"7"}"#, true), br#"{"taskId":"7"}"#);
    }
}
