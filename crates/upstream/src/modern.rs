//! MCP 2026-07-28 backends: no `initialize` and no session. Each request names its protocol
//! version and the client capabilities it declares in `params._meta`, and mirrors its method
//! in `Mcp-Method`. `server/discover` says which versions a backend speaks.
//!
//! A [`BackendSession`] made by [`BackendSession::modern`] has no session id and a 2026
//! protocol version; [`UpstreamClient::request`] adds the envelope to every request it sends
//! in it, declaring the handle's capabilities ([`UpstreamClient::declaring`], none by
//! default), so the list and ping helpers work unchanged against such a backend.

use mcp_gateway_protocol::modern::{
    CAPABILITIES_META, CLIENT_INFO_META, METHOD_HEADER, VERSION_META,
};
use mcp_gateway_protocol::versions;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use url::Url;

use crate::UpstreamClient;
use crate::error::UpstreamError;
use crate::message::encode;
use crate::session::{BackendSession, PROTOCOL_VERSION_HEADER};
use crate::transport::Exchange;

/// `Mcp-Method` header.
pub const MCP_METHOD_HEADER: HeaderName = HeaderName::from_static(METHOD_HEADER);

/// A backend's answer to `server/discover`.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovered {
    /// `supportedVersions` as the backend listed them (2026-era versions only, per the spec).
    pub versions: Vec<String>,
    /// The newest of `versions` the gateway speaks too; `None` when there is none.
    pub version: Option<&'static str>,
    /// The server's capabilities.
    pub capabilities: Value,
    /// The server's `serverInfo` (from the result's `_meta`, or the result itself).
    pub server_info: Value,
    /// The server's `instructions`, if any.
    pub instructions: Option<String>,
}

impl Discovered {
    /// Reads a `server/discover` result.
    fn from_result(result: Value) -> Result<Self, UpstreamError> {
        let Value::Object(mut result) = result else {
            return Err(UpstreamError::Protocol(
                "server/discover result is not an object".into(),
            ));
        };
        let versions: Vec<String> = match result.remove("supportedVersions") {
            Some(Value::Array(list)) => list
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(v) => Some(v),
                    _ => None,
                })
                .collect(),
            _ => {
                return Err(UpstreamError::Protocol(
                    "server/discover result has no supportedVersions array".into(),
                ));
            }
        };
        let version = versions::MODERN
            .iter()
            .copied()
            .find(|ours| versions.iter().any(|v| v == ours));
        let capabilities = match result.remove("capabilities") {
            Some(Value::Object(caps)) => Value::Object(caps),
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(_) => {
                return Err(UpstreamError::Protocol(
                    "server/discover result capabilities is not an object".into(),
                ));
            }
        };
        let server_info = result
            .get_mut("_meta")
            .and_then(|meta| meta.get_mut(mcp_gateway_protocol::modern::SERVER_INFO_META))
            .map(Value::take)
            .or_else(|| result.remove("serverInfo"))
            .unwrap_or_else(|| Value::Object(Map::new()));
        let instructions = match result.remove("instructions") {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        Ok(Self {
            versions,
            version,
            capabilities,
            server_info,
            instructions,
        })
    }
}

impl BackendSession {
    /// The stand-in for a session with a 2026-07-28 backend: no id, `version` as its protocol
    /// version. Each request [`UpstreamClient::request`] sends in it carries the 2026-07-28
    /// envelope in `_meta` (declaring the client's [`UpstreamClient::declaring`]
    /// capabilities) and `Mcp-Method`.
    pub fn modern(version: &'static str, discovered: &Discovered) -> Self {
        Self {
            session_id: None,
            protocol_version: version.to_owned(),
            capabilities: discovered.capabilities.clone(),
            server_info: discovered.server_info.clone(),
            instructions: discovered.instructions.clone(),
        }
    }

    /// True for the stand-in of a 2026-07-28 backend ([`BackendSession::modern`]).
    pub fn is_modern(&self) -> bool {
        versions::is_modern(&self.protocol_version)
    }
}

impl UpstreamClient {
    /// Asks `server/discover` as a 2026-07-28 client declaring no capabilities. A backend that
    /// answers with a result speaks the 2026 era ([`Discovered::version`] says whether the
    /// gateway shares a version with it); a 2025-era backend answers with an error (JSON-RPC
    /// `-32601`, or an HTTP 4xx for a request without a session).
    pub async fn discover(
        &self,
        url: &Url,
        client_info: &Value,
    ) -> Result<Discovered, UpstreamError> {
        let version = versions::MODERN[0];
        let params = json!({ "_meta": {
            VERSION_META: version,
            CAPABILITIES_META: {},
            CLIENT_INFO_META: client_info,
        }});
        let mut headers = self.headers(None)?;
        headers.insert(PROTOCOL_VERSION_HEADER, HeaderValue::from_static(version));
        headers.insert(
            MCP_METHOD_HEADER,
            HeaderValue::from_static("server/discover"),
        );
        let exchange = Exchange::new(self.http(), url, headers);
        let id = self.next_id();
        let body = encode(Some(id), "server/discover", Some(&params))?;
        let (_, result) = self.bounded(exchange.request(id, body)).await?;
        Discovered::from_result(result)
    }
}

/// For a request in a 2026-07-28 stand-in session: `params` with the envelope (version,
/// `declared` capabilities, the gateway's client info) added to its `_meta`, and the `Mcp-Method` header.
/// Unchanged for a 2025 session.
pub(crate) fn envelop(
    session: &BackendSession,
    declared: &Value,
    method: &str,
    params: Option<Value>,
    headers: &mut HeaderMap,
) -> Result<Option<Value>, UpstreamError> {
    if !session.is_modern() {
        return Ok(params);
    }
    let envelope = [
        (
            VERSION_META,
            Value::String(session.protocol_version.clone()),
        ),
        (CAPABILITIES_META, declared.clone()),
        (CLIENT_INFO_META, crate::client::own_client_info()),
    ];
    let value = HeaderValue::from_str(method).map_err(|_| {
        UpstreamError::Protocol(format!("method {method:?} is not a valid header value"))
    })?;
    headers.insert(MCP_METHOD_HEADER, value);
    let mut params = match params {
        Some(Value::Object(params)) => params,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(UpstreamError::Protocol(format!(
                "{method} params are not an object"
            )));
        }
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        for (key, value) in envelope {
            meta.insert(key.to_owned(), value);
        }
    }
    Ok(Some(Value::Object(params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_discover_results() {
        let found = Discovered::from_result(json!({
            "supportedVersions": ["2027-01-01", "2026-07-28"],
            "capabilities": {"tools": {}},
            "instructions": "hi",
            "resultType": "complete",
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}},
        }))
        .expect("valid");
        assert_eq!(found.version, Some("2026-07-28"));
        assert_eq!(found.capabilities, json!({"tools": {}}));
        assert_eq!(found.server_info, json!({"name": "s", "version": "1"}));
        assert_eq!(found.instructions.as_deref(), Some("hi"));
        let foreign =
            Discovered::from_result(json!({"supportedVersions": ["2027-01-01"]})).expect("valid");
        assert_eq!(foreign.version, None);
        assert_eq!(foreign.capabilities, json!({}));
        for bad in [
            json!([]),
            json!({}),
            json!({"supportedVersions": "2026-07-28"}),
        ] {
            assert!(Discovered::from_result(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn modern_requests_carry_the_envelope_and_method() {
        let found =
            Discovered::from_result(json!({"supportedVersions": ["2026-07-28"]})).expect("valid");
        let session = BackendSession::modern("2026-07-28", &found);
        assert!(session.is_modern() && session.session_id.is_none());
        let mut headers = HeaderMap::new();
        let params = envelop(
            &session,
            &json!({"roots": {}}),
            "tools/list",
            Some(json!({"cursor": "c", "_meta": {"progressToken": 1}})),
            &mut headers,
        )
        .expect("valid");
        assert_eq!(
            params,
            Some(json!({"cursor": "c", "_meta": {
                "progressToken": 1,
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"roots": {}},
                "io.modelcontextprotocol/clientInfo": crate::client::own_client_info(),
            }}))
        );
        assert_eq!(headers[MCP_METHOD_HEADER], "tools/list");
        assert_eq!(
            session.headers().expect("valid")[PROTOCOL_VERSION_HEADER],
            "2026-07-28"
        );
        // A 2025 session's requests are left alone.
        let mut legacy = session.clone();
        legacy.protocol_version = "2025-11-25".into();
        let mut headers = HeaderMap::new();
        assert_eq!(
            envelop(&legacy, &json!({}), "ping", None, &mut headers).expect("valid"),
            None
        );
        assert!(headers.is_empty());
    }
}
