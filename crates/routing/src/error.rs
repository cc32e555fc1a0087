use mcp_gateway_protocol::{TransportError, codes};
use thiserror::Error;

use crate::authn::Denial;

/// Why the router answered a request itself instead of forwarding it. Each becomes an
/// immediate JSON-RPC error response in one place (`mutation::reject`).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The body is not JSON or not a JSON-RPC message.
    #[error("{message}")]
    BadRequest { code: i64, message: String },
    /// The body exceeds the configured limit.
    #[error("request body too large ({size} bytes; limit {limit})")]
    TooLarge { size: usize, limit: usize },
    /// A request that must belong to a session has no `Mcp-Session-Id`.
    #[error("missing Mcp-Session-Id header: call initialize first")]
    MissingSession,
    /// The session id is not (or no longer) valid.
    #[error("session not found: it has ended or expired; initialize a new one")]
    UnknownSession,
    /// No backend offers the tool.
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    /// The request is well-formed JSON-RPC but its params are not what the method needs.
    #[error("{0}")]
    InvalidParams(String),
    /// The owning backend could not be reached or refused to open a session.
    #[error("MCP server '{server}' is unavailable: {reason}")]
    BackendUnavailable { server: String, reason: String },
    /// The credential the server is configured with could not be had (a secret file
    /// unreadable, the token endpoint down or refusing, no caller token to exchange): nothing
    /// was sent to the backend. `reason` names the server and what failed, never a secret.
    #[error("{reason}")]
    CredentialUnavailable { server: String, reason: String },
    /// The backend forgot the session mid-request; the next request opens a new one.
    #[error("MCP server '{server}' lost its session; retry the request")]
    BackendSessionLost { server: String },
    /// The backend answered an error status without a JSON-RPC message (e.g. plain text).
    #[error("MCP server '{server}' failed the request: HTTP {status} without a JSON-RPC answer")]
    BackendFailed { server: String, status: u16 },
    /// The request's head breaks the transport rules (path, method, repeated headers,
    /// `Origin`, protocol version), as the broker would also find.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Auth is on and the caller is refused: no or an invalid token (401), a missing scope
    /// (403), or the issuer's keys could not be fetched (503). `challenge` is the
    /// `WWW-Authenticate` value.
    #[error("{}", denial_message(.denial))]
    Denied { denial: Denial, challenge: String },
    /// The session store (Redis) cannot be reached: nothing was routed; retry shortly.
    #[error("session store unavailable, retry shortly: {0}")]
    StoreUnavailable(String),
    /// The policy does not let this caller use what it named; no backend was touched.
    #[error("not allowed to use {kind} {name:?}")]
    Forbidden { kind: &'static str, name: String },
    /// The gateway itself failed.
    #[error("internal gateway error: {0}")]
    Internal(String),
}

impl RouteError {
    /// The HTTP status of the immediate response.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } | Self::MissingSession => 400,
            Self::Transport(error) => error.http_status(),
            Self::Denied { denial, .. } => match denial {
                Denial::Unauthenticated { .. } => 401,
                Denial::InsufficientScope => 403,
                Denial::KeysUnavailable => 503,
            },
            Self::TooLarge { .. } => 413,
            Self::Forbidden { .. } => 403,
            Self::UnknownSession => 404,
            // Well-formed JSON-RPC requests get their error as a JSON-RPC response.
            Self::UnknownTool(_)
            | Self::InvalidParams(_)
            | Self::BackendUnavailable { .. }
            | Self::BackendSessionLost { .. }
            | Self::BackendFailed { .. } => 200,
            Self::StoreUnavailable(_) | Self::CredentialUnavailable { .. } => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        match self {
            Self::BadRequest { code, .. } => *code,
            Self::TooLarge { .. } | Self::MissingSession | Self::UnknownSession => {
                codes::INVALID_REQUEST
            }
            Self::Transport(error) => error.code(),
            Self::Denied {
                denial: Denial::KeysUnavailable,
                ..
            } => codes::INTERNAL_ERROR,
            Self::Denied { .. } | Self::Forbidden { .. } => codes::INVALID_REQUEST,
            Self::UnknownTool(_) | Self::InvalidParams(_) => codes::INVALID_PARAMS,
            Self::BackendUnavailable { .. }
            | Self::BackendSessionLost { .. }
            | Self::BackendFailed { .. }
            | Self::CredentialUnavailable { .. }
            | Self::StoreUnavailable(_)
            | Self::Internal(_) => codes::INTERNAL_ERROR,
        }
    }
}

fn denial_message(denial: &Denial) -> &'static str {
    match denial {
        Denial::Unauthenticated {
            token_given: false, ..
        } => "authentication required: send a bearer token (see WWW-Authenticate)",
        Denial::Unauthenticated { .. } => {
            "the bearer token is invalid, expired or not for this gateway"
        }
        Denial::InsufficientScope => {
            "the bearer token lacks a required scope (see WWW-Authenticate)"
        }
        Denial::KeysUnavailable => {
            "the token issuer's signing keys cannot be fetched; retry shortly"
        }
    }
}
