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
