//! What one audit line says.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::time::rfc3339;

/// Whether the call went on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Routed to its backend.
    Allow,
    /// Refused by the gateway; no backend was touched.
    Deny,
}

/// One routed call or denial. Borrowed: building one allocates nothing; the [`crate::Auditor`]
/// writes it out as JSON at once.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Record<'a> {
    /// Envoy's `x-request-id`: joins this line to Envoy's access log (status and duration of
    /// allowed calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    /// The verified `sub` (none: anonymous).
    pub subject: Option<&'a str>,
    /// The verified client id.
    pub client_id: Option<&'a str>,
    /// The gateway session id; written hashed (see [`hash_session`]).
    #[serde(serialize_with = "hashed", rename = "session")]
    pub session: Option<&'a str>,
    /// The JSON-RPC method.
    pub method: &'a str,
    /// The owning server.
    pub server: Option<&'a str>,
    /// `tool`, `prompt` or `resource`.
    pub kind: Option<&'a str>,
    /// The name or URI the client used.
    pub exposed: Option<&'a str>,
    /// The name or URI at the backend.
    pub original: Option<&'a str>,
    /// Allowed or denied.
    pub decision: Option<Decision>,
    /// The policy rule that decided (none: no policy, or denied by default).
    pub rule: Option<&'a str>,
    /// The HTTP status the gateway answered (denials; allowed calls' is in Envoy's log).
    pub status: Option<u16>,
    /// Time from the request's headers to the decision.
    #[serde(serialize_with = "micros", rename = "duration_us")]
    pub duration: Option<Duration>,
}

impl Record<'_> {
    /// The record as one line of JSON (no newline), stamped with `at`.
    pub fn to_line(&self, at: SystemTime) -> String {
        #[derive(Serialize)]
        struct Line<'r, 'a> {
            time: String,
            #[serde(flatten)]
            record: &'r Record<'a>,
        }
        let line = Line {
            time: rfc3339(at),
            record: self,
        };
        // Plain strings and numbers: serialising cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// The first 16 hex digits of the SHA-256 of a gateway session id.
pub fn hash_session(session: &str) -> String {
    let digest = Sha256::digest(session.as_bytes());
    let mut out = String::with_capacity(16);
    for byte in &digest[..8] {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn hashed<S: serde::Serializer>(session: &Option<&str>, s: S) -> Result<S::Ok, S::Error> {
    match session {
        Some(id) => s.serialize_str(&hash_session(id)),
        None => s.serialize_none(),
    }
}

fn micros<S: serde::Serializer>(duration: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(d) => s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn a_denial_as_one_line() {
        let record = Record {
            request_id: Some("r-1"),
            subject: Some("bob"),
            client_id: Some("bob"),
            session: Some("secret-session-id"),
            method: "tools/call",
            server: Some("text"),
            kind: Some("tool"),
            exposed: Some("text_upper"),
            original: Some("upper"),
            decision: Some(Decision::Deny),
            rule: None,
            status: Some(403),
            duration: Some(Duration::from_micros(42)),
        };
        let line = record.to_line(UNIX_EPOCH + Duration::from_secs(1_772_368_496));
        assert!(!line.contains('\n'));
        assert!(!line.contains("secret-session-id"), "{line}");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "time": "2026-03-01T12:34:56.000Z", "request_id": "r-1", "subject": "bob",
                "client_id": "bob", "session": hash_session("secret-session-id"),
                "method": "tools/call", "server": "text", "kind": "tool",
                "exposed": "text_upper", "original": "upper", "decision": "deny",
                "rule": null, "status": 403, "duration_us": 42
            })
        );
        assert_eq!(hash_session("secret-session-id").len(), 16);
    }
}
