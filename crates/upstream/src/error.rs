//! The one error type of this crate.

use serde_json::Value;

/// Why a call to a backend MCP server failed.
///
/// Messages never contain the backend URL (it may carry credentials) nor any
/// request header.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made or the request could not be delivered:
    /// connection refused or reset, DNS failure, connect timeout, TLS failure.
    /// Also used when the HTTP client itself cannot be set up.
    #[error("cannot reach upstream: {0}")]
    Connect(String),
    /// The backend did not answer within the client's timeout.
    #[error("upstream did not answer in time")]
    Timeout,
    /// The backend answered with a non-success HTTP status. A 404 to a request
    /// that carried a session id means the backend forgot the session.
    ///
    /// The body is not kept, only its size: backends' error pages may echo the request's
    /// headers, and with them the credential the gateway sent, into logs and client errors.
    #[error("upstream answered HTTP {status} ({body_bytes} bytes of body, not shown)")]
    Status {
        /// HTTP status code.
        status: u16,
        /// Size of the response body (up to the read limit).
        body_bytes: usize,
    },
    /// The backend answered with a JSON-RPC error.
    #[error("upstream JSON-RPC error {code}: {message}")]
    Rpc {
        /// JSON-RPC error code.
        code: i64,
        /// Error message.
        message: String,
        /// Optional structured error data.
        data: Option<Value>,
    },
    /// The backend's answer broke the protocol: malformed JSON, no result,
    /// bad event stream, unexpected content type, oversized message.
    #[error("upstream protocol error: {0}")]
    Protocol(String),
    /// The gateway could not obtain the credential this backend is configured with (the
    /// message names what failed, never a secret or token).
    #[error("{0}")]
    Credential(String),
}

impl UpstreamError {
    /// True when the backend no longer knows the session (HTTP 404): the
    /// caller should initialise a new backend session and retry.
    pub fn is_session_gone(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }

    /// True when the backend could not be reached or did not answer in time:
    /// the backend is down or unhealthy, not merely refusing this request.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect(_) | Self::Timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_errors() {
        let gone = UpstreamError::Status {
            status: 404,
            body_bytes: 0,
        };
        assert!(gone.is_session_gone());
        assert!(!gone.is_unreachable());
        let bad = UpstreamError::Status {
            status: 400,
            body_bytes: 0,
        };
        assert!(!bad.is_session_gone());
        assert!(UpstreamError::Connect("refused".into()).is_unreachable());
        assert!(UpstreamError::Timeout.is_unreachable());
        let rpc = UpstreamError::Rpc {
            code: -32601,
            message: "nope".into(),
            data: None,
        };
        assert!(!rpc.is_unreachable());
        assert!(!rpc.is_session_gone());
        assert!(!UpstreamError::Protocol("x".into()).is_unreachable());
    }
}
