//! How session records and backend sessions are written in Redis: compact JSON, with the
//! client's capabilities and `clientInfo` kept as the text they already are.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_gateway_upstream::BackendSession;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{ClientDeclaration, SessionError, SessionRecord};

/// A [`SessionRecord`] as stored.
#[derive(Serialize, Deserialize)]
struct StoredRecord<'a> {
    /// Negotiated protocol version.
    #[serde(borrow)]
    v: &'a str,
    /// Capabilities as the client sent them.
    #[serde(borrow)]
    c: &'a RawValue,
    /// Kept `clientInfo`.
    #[serde(borrow)]
    i: &'a RawValue,
    /// Subject the session is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    /// Expiry, in milliseconds since the Unix epoch.
    x: u64,
}

/// A [`BackendSession`] as stored.
#[derive(Serialize, Deserialize)]
struct StoredBackend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    v: String,
    #[serde(default)]
    c: Value,
    #[serde(default)]
    i: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
}

/// Milliseconds since the Unix epoch (0 before it).
pub(super) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The record as stored.
pub(super) fn encode_record(record: &SessionRecord) -> Result<String, SessionError> {
    serde_json::to_string(&StoredRecord {
        v: &record.protocol_version,
        c: record.client.capabilities(),
        i: record.client.info(),
        s: record.subject.clone(),
        x: unix_ms(record.expires),
    })
    .map_err(corrupt)
}

/// A stored record read back.
pub(super) fn decode_record(text: &str) -> Result<SessionRecord, SessionError> {
    let stored: StoredRecord<'_> = serde_json::from_str(text).map_err(corrupt)?;
    let client = ClientDeclaration::from_kept(stored.c.to_owned(), stored.i.to_owned())
        .map_err(|e| SessionError::Store(format!("stored session record: {e}")))?;
    Ok(SessionRecord {
        protocol_version: stored.v.to_owned(),
        client,
        subject: stored.s,
        expires: UNIX_EPOCH + Duration::from_millis(stored.x),
    })
}

/// The backend session as stored.
pub(super) fn encode_backend(backend: &BackendSession) -> Result<String, SessionError> {
    serde_json::to_string(&StoredBackend {
        id: backend.session_id.clone(),
        v: backend.protocol_version.clone(),
        c: backend.capabilities.clone(),
        i: backend.server_info.clone(),
        n: backend.instructions.clone(),
    })
    .map_err(corrupt)
}

/// A stored backend session read back.
pub(super) fn decode_backend(text: &str) -> Result<BackendSession, SessionError> {
    let stored: StoredBackend = serde_json::from_str(text).map_err(corrupt)?;
    Ok(BackendSession {
        session_id: stored.id,
        protocol_version: stored.v,
        capabilities: stored.c,
        server_info: stored.i,
        instructions: stored.n,
    })
}

fn corrupt(error: serde_json::Error) -> SessionError {
    SessionError::Store(format!("stored session data is not valid: {error}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ClientLimits;

    #[test]
    fn records_and_backends_round_trip() {
        let caps = RawValue::from_string(r#"{"sampling":{},"x":[1,2]}"#.into()).unwrap();
        let info = RawValue::from_string(r#"{"name":"c","version":"1"}"#.into()).unwrap();
        let client =
            ClientDeclaration::new(Some(&caps), Some(&info), &ClientLimits::default()).unwrap();
        let record = SessionRecord {
            protocol_version: "2025-06-18".into(),
            client,
            subject: Some("alice".into()),
            expires: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        };
        let back = decode_record(&encode_record(&record).unwrap()).unwrap();
        assert_eq!(back.protocol_version, "2025-06-18");
        assert_eq!(back.client.capabilities().get(), caps.get());
        assert_eq!(back.client.info().get(), r#"{"name":"c","version":"1"}"#);
        assert!(back.client.may_be_asked());
        assert_eq!(back.subject.as_deref(), Some("alice"));
        assert_eq!(back.expires, record.expires);

        let backend = BackendSession {
            session_id: Some("b-1".into()),
            protocol_version: "2025-03-26".into(),
            capabilities: json!({"tools": {}}),
            server_info: json!({"name": "calc"}),
            instructions: Some("be nice".into()),
        };
        let read = decode_backend(&encode_backend(&backend).unwrap()).unwrap();
        assert_eq!(read.session_id, backend.session_id);
        assert_eq!(read.protocol_version, backend.protocol_version);
        assert_eq!(read.capabilities, backend.capabilities);
        assert_eq!(read.server_info, backend.server_info);
        assert_eq!(read.instructions, backend.instructions);
    }

    #[test]
    fn garbage_is_a_store_error_not_a_panic() {
        for text in ["", "{", r#"{"v":"x"}"#, r#"{"v":"x","c":[],"i":{},"x":1}"#] {
            assert!(
                matches!(decode_record(text), Err(SessionError::Store(_))),
                "{text}"
            );
        }
        assert!(matches!(decode_backend("[]"), Err(SessionError::Store(_))));
    }
}
