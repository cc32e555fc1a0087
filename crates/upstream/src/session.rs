//! A session with one backend: what we ask for on `initialize` and what the
//! backend agreed to.

use mcp_gateway_protocol::transport;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::error::UpstreamError;

/// `Mcp-Session-Id` header.
pub const SESSION_ID_HEADER: HeaderName = HeaderName::from_static(transport::SESSION_ID);
/// `MCP-Protocol-Version` header.
pub const PROTOCOL_VERSION_HEADER: HeaderName =
    HeaderName::from_static(transport::PROTOCOL_VERSION);

/// The `initialize` parameters the gateway sends on behalf of itself or a client.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Protocol version to request, e.g. `"2025-11-25"`.
    pub protocol_version: String,
    /// Client capabilities object (a client's own when initialising for it).
    pub capabilities: Value,
    /// `clientInfo` object (`name`, `version`, ...).
    pub client_info: Value,
}

impl InitOptions {
    /// How the gateway introduces itself in a session of its own (listing a backend, not on
    /// a client's behalf): the newest protocol version, no capabilities, `name` as client.
    pub fn own(name: &str) -> Self {
        Self {
            protocol_version: mcp_gateway_protocol::versions::SUPPORTED[0].to_owned(),
            capabilities: Value::Object(Map::new()),
            client_info: serde_json::json!({ "name": name, "version": env!("CARGO_PKG_VERSION") }),
        }
    }
}

/// An initialised session with a backend.
#[derive(Clone, Debug)]
pub struct BackendSession {
    /// The backend's `Mcp-Session-Id`; `None` when the server is stateless.
    pub session_id: Option<String>,
    /// The negotiated protocol version (the server's answer).
    pub protocol_version: String,
    /// The server's capabilities.
    pub capabilities: Value,
    /// The server's `serverInfo`.
    pub server_info: Value,
    /// The server's `instructions`, if any.
    pub instructions: Option<String>,
}

impl BackendSession {
    /// Builds a session from the `initialize` result and the session id header.
    pub(crate) fn from_initialize(
        result: Value,
        headers: &HeaderMap,
    ) -> Result<Self, UpstreamError> {
        let session_id = match headers.get(SESSION_ID_HEADER) {
            None => None,
            Some(value) => {
                let id = value
                    .to_str()
                    .ok()
                    .filter(|id| is_visible_ascii(id))
                    .ok_or_else(|| {
                        UpstreamError::Protocol("Mcp-Session-Id is not visible ASCII".into())
                    })?;
                Some(id.to_owned())
            }
        };
        let Value::Object(mut result) = result else {
            return Err(UpstreamError::Protocol(
                "initialize result is not an object".into(),
            ));
        };
        let protocol_version = match result.remove("protocolVersion") {
            Some(Value::String(v)) if is_visible_ascii(&v) => v,
            _ => {
                return Err(UpstreamError::Protocol(
                    "initialize result has no valid protocolVersion".into(),
                ));
            }
        };
        let capabilities = match result.remove("capabilities") {
            Some(Value::Object(caps)) => Value::Object(caps),
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(_) => {
                return Err(UpstreamError::Protocol(
                    "initialize result capabilities is not an object".into(),
                ));
            }
        };
        let server_info = result
            .remove("serverInfo")
            .unwrap_or_else(|| Value::Object(Map::new()));
        let instructions = match result.remove("instructions") {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        Ok(Self {
            session_id,
            protocol_version,
            capabilities,
            server_info,
            instructions,
        })
    }

    /// The headers every request in this session carries.
    pub(crate) fn headers(&self) -> Result<HeaderMap, UpstreamError> {
        let mut headers = HeaderMap::new();
        if let Some(id) = &self.session_id {
            headers.insert(SESSION_ID_HEADER, header_value(id, "session id")?);
        }
        headers.insert(
            PROTOCOL_VERSION_HEADER,
            header_value(&self.protocol_version, "protocol version")?,
        );
        Ok(headers)
    }
}

fn header_value(value: &str, what: &str) -> Result<HeaderValue, UpstreamError> {
    if !is_visible_ascii(value) {
        return Err(UpstreamError::Protocol(format!(
            "{what} is not visible ASCII"
        )));
    }
    HeaderValue::from_str(value)
        .map_err(|_| UpstreamError::Protocol(format!("{what} is not a valid header value")))
}

/// Non-empty and only characters 0x21..=0x7E, as the spec requires of session ids.
fn is_visible_ascii(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn headers_with_session(id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SESSION_ID_HEADER, HeaderValue::from_str(id).expect("valid"));
        headers
    }

    #[test]
    fn reads_initialize_result() {
        let result = json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": "s", "version": "1"},
            "instructions": "be nice",
        });
        let session =
            BackendSession::from_initialize(result, &headers_with_session("abc-1")).expect("valid");
        assert_eq!(session.session_id.as_deref(), Some("abc-1"));
        assert_eq!(session.protocol_version, "2025-06-18");
        assert_eq!(
            session.capabilities,
            json!({"tools": {"listChanged": true}})
        );
        assert_eq!(session.server_info, json!({"name": "s", "version": "1"}));
        assert_eq!(session.instructions.as_deref(), Some("be nice"));
        let headers = session.headers().expect("valid");
        assert_eq!(headers[SESSION_ID_HEADER], "abc-1");
        assert_eq!(headers[PROTOCOL_VERSION_HEADER], "2025-06-18");
    }

    #[test]
    fn stateless_server_has_no_session_id() {
        let session = BackendSession::from_initialize(
            json!({"protocolVersion": "2025-03-26"}),
            &HeaderMap::new(),
        )
        .expect("valid");
        assert_eq!(session.session_id, None);
        assert_eq!(session.capabilities, json!({}));
        assert!(
            !session
                .headers()
                .expect("valid")
                .contains_key(SESSION_ID_HEADER)
        );
    }

    #[test]
    fn rejects_bad_results() {
        for result in [
            json!([]),
            json!({}),
            json!({"protocolVersion": 5}),
            json!({"protocolVersion": "2025 06"}),
            json!({"protocolVersion": "2025-06-18", "capabilities": []}),
        ] {
            assert!(
                BackendSession::from_initialize(result.clone(), &HeaderMap::new()).is_err(),
                "{result}"
            );
        }
        let spaced = headers_with_session("has space");
        assert!(
            BackendSession::from_initialize(json!({"protocolVersion": "2025-06-18"}), &spaced)
                .is_err()
        );
    }

    #[test]
    fn headers_reject_hand_built_bad_ids() {
        let session = BackendSession {
            session_id: Some("bad\nid".into()),
            protocol_version: "2025-06-18".into(),
            capabilities: json!({}),
            server_info: json!({}),
            instructions: None,
        };
        assert!(session.headers().is_err());
    }
}
