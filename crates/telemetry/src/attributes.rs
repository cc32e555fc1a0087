//! Attribute names (OpenTelemetry's MCP semantic conventions where they have one) and how a
//! session id becomes one without being given away.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Attribute keys, defined once for the gateway's spans and Envoy's custom tags.
pub mod keys {
    /// The JSON-RPC method (`tools/call`, `tools/list`, …).
    pub const METHOD: &str = "mcp.method.name";
    /// A tool's name.
    pub const TOOL: &str = "gen_ai.tool.name";
    /// A prompt's name.
    pub const PROMPT: &str = "gen_ai.prompt.name";
    /// The gateway session, hashed ([`super::hashed_session`]).
    pub const SESSION: &str = "mcp.session.id";
    /// The JSON-RPC error code of an error answer, as text.
    pub const ERROR_TYPE: &str = "error.type";
    /// The JSON-RPC error code of an error answer, as a number.
    pub const ERROR_CODE: &str = "rpc.jsonrpc.error_code";
    /// The configured MCP server a request went to (the gateway's own name for it).
    pub const SERVER: &str = "mcp_gateway.server";
    /// How many items an aggregated list answered with.
    pub const ITEMS: &str = "mcp_gateway.list.items";
}

/// The first 16 hex digits of SHA-256 of a session id: the spans of one session can be
/// found together, and the id, which authorises requests, is not in any collector.
pub fn hashed_session(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let mut hex = String::with_capacity(16);
    for byte in &digest[..8] {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_hashed_not_shown() {
        let hashed = hashed_session("secret-session-id");
        assert_eq!(hashed.len(), 16);
        assert!(hashed.bytes().all(|b| b.is_ascii_hexdigit()), "{hashed}");
        // An id that is itself 16 hex digits does not come out as it went in.
        assert_ne!(hashed_session("0123456789abcdef"), "0123456789abcdef");
        assert_eq!(hashed, hashed_session("secret-session-id"));
        assert_ne!(hashed, hashed_session("secret-session-id2"));
    }
}
