//! Errors of this crate.

use crate::codes;

/// Why a body is not an acceptable JSON-RPC message.
///
/// Every variant carries a message a client can act on and maps to a
/// JSON-RPC error code with [`ProtocolError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The body is not valid JSON (or not UTF-8, or has trailing bytes); the
    /// text is serde_json's message with line and column.
    #[error("parse error: {0}")]
    NotJson(String),
    /// Valid JSON that is not a JSON-RPC message the gateway accepts.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A valid message whose `params` lack a member the gateway needs.
    #[error("invalid params: {0}")]
    InvalidParams(String),
}

impl ProtocolError {
    /// The JSON-RPC error code for this error.
    pub fn code(&self) -> i64 {
        match self {
            Self::NotJson(_) => codes::PARSE_ERROR,
            Self::InvalidRequest(_) => codes::INVALID_REQUEST,
            Self::InvalidParams(_) => codes::INVALID_PARAMS,
        }
    }
}

/// Why a request's head breaks the transport rules
/// ([`transport::check`](crate::transport::check)). Every variant maps to an HTTP status
/// ([`TransportError::http_status`]) and is answered with a JSON-RPC error body of code
/// `-32600` (invalid request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No MCP endpoint at this path.
    #[error("no MCP endpoint at {0:?}; MCP is served at {path}", path = crate::transport::MCP_PATH)]
    NotFound(String),
    /// A virtual server path (`/v/<name>/mcp`) whose name the config does not define.
    #[error("no virtual server named {0:?} (served at /v/<name>/mcp)")]
    UnknownVirtualServer(String),
    /// A method the path does not serve.
    #[error("method {method:?} is not allowed here; allowed: {allow}")]
    MethodNotAllowed {
        /// The method as sent.
        method: String,
        /// The methods the path serves, for the `Allow` header.
        allow: &'static str,
    },
    /// A header the gateway acts on was sent more than once (or as a comma-joined list).
    #[error("header {0} was sent more than once; send exactly one value")]
    Repeated(&'static str),
    /// A header the gateway acts on is not text.
    #[error("header {0} is not valid UTF-8 text")]
    NotText(&'static str),
    /// A browser page from an origin that may not call the gateway.
    #[error("origin {0:?} is not allowed to call this gateway")]
    ForbiddenOrigin(String),
    /// A protocol version the gateway does not speak.
    #[error(
        "unsupported MCP-Protocol-Version {0:?}; supported: {supported}",
        supported = crate::versions::ALL.join(", ")
    )]
    UnsupportedVersion(String),
    /// A 2026-07-28 request whose `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` header
    /// is missing or disagrees with its body (see [`crate::modern`]).
    #[error("Bad Request: the request headers and body disagree: {0}")]
    HeaderMismatch(String),
    /// A 2026-07-28 request whose `params._meta` lacks what every request must carry.
    #[error("invalid params: {0}")]
    MissingEnvelope(String),
    /// A 2026-07-28 request of a method that revision no longer has (`ping`,
    /// `resources/subscribe`, ...; see [`crate::modern::REMOVED_METHODS`]).
    #[error("method not found: {0} (not part of MCP 2026-07-28)")]
    RemovedMethod(String),
    /// A 2026-07-28 request that needs client capabilities its `_meta` did not declare (the
    /// capabilities it lacks, a JSON object such as `{"sampling":{}}`).
    #[error("the request needs client capabilities it did not declare: {0}")]
    MissingCapability(String),
}

impl TransportError {
    /// The HTTP status of the answer.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound(_) | Self::UnknownVirtualServer(_) | Self::RemovedMethod(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::ForbiddenOrigin(_) => 403,
            Self::Repeated(_)
            | Self::NotText(_)
            | Self::UnsupportedVersion(_)
            | Self::HeaderMismatch(_)
            | Self::MissingEnvelope(_)
            | Self::MissingCapability(_) => 400,
        }
    }

    /// The JSON-RPC error code of the answer.
    pub fn code(&self) -> i64 {
        match self {
            Self::UnsupportedVersion(_) => codes::UNSUPPORTED_PROTOCOL_VERSION,
            Self::HeaderMismatch(_) => codes::HEADER_MISMATCH,
            Self::MissingEnvelope(_) => codes::INVALID_PARAMS,
            Self::RemovedMethod(_) => codes::METHOD_NOT_FOUND,
            Self::MissingCapability(_) => codes::MISSING_CLIENT_CAPABILITY,
            _ => codes::INVALID_REQUEST,
        }
    }

    /// The JSON-RPC error `data` of the answer: for an unsupported version, the version
    /// requested and those the gateway speaks (newest first), as MCP 2026-07-28 defines.
    pub fn data(&self) -> Option<serde_json::Value> {
        match self {
            Self::UnsupportedVersion(requested) => Some(serde_json::json!({
                "requested": requested,
                "supported": crate::versions::ALL,
            })),
            Self::MissingCapability(required) => {
                let required: serde_json::Value = serde_json::from_str(required).ok()?;
                Some(serde_json::json!({ "requiredCapabilities": required }))
            }
            _ => None,
        }
    }

    /// The `Allow` header of a 405 answer.
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            Self::MethodNotAllowed { allow, .. } => Some(allow),
            _ => None,
        }
    }
}
