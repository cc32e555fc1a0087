//! The one error type of this crate.

use thiserror::Error;

/// Why no credential could be had for a backend. Messages name the server and never hold a
/// secret or a token: they reach clients as JSON-RPC errors and logs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CredentialError {
    /// The server's credential needs the caller's token and the request carried none.
    #[error("MCP server '{server}' needs the caller's token, and the request has none")]
    NoCallerToken {
        /// The server's name.
        server: String,
    },
    /// A secret (static credential or the gateway's client secret) could not be read.
    #[error("credential for MCP server '{server}' is unavailable: {reason}")]
    Secret {
        /// The server's name.
        server: String,
        /// What failed (a file or variable name, never its content).
        reason: String,
    },
    /// The token endpoint could not be reached, did not answer in time, or refused.
    #[error("token for MCP server '{server}' could not be obtained: {reason}")]
    Token {
        /// The server's name.
        server: String,
        /// What failed: unreachable, timeout, or the endpoint's `error` code and description.
        reason: String,
    },
}

impl CredentialError {
    /// The server the error is about.
    pub fn server(&self) -> &str {
        match self {
            Self::NoCallerToken { server }
            | Self::Secret { server, .. }
            | Self::Token { server, .. } => server,
        }
    }
}
