//! The `whoami` answer shared by both servers.

use rmcp::{RoleServer, service::RequestContext};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Header carrying the MCP session id on streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

/// Who answered a request, as the `whoami` tool reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Identity {
    /// Name of the server that answered (`calc` or `text`).
    pub server: String,
    /// The `Mcp-Session-Id` this server saw on the request; null when the
    /// request carried none (or did not arrive over HTTP).
    pub session_id: Option<String>,
}

impl Identity {
    /// The identity of `server` for the request described by `context`.
    pub fn of(server: &str, context: &RequestContext<RoleServer>) -> Self {
        let session_id = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.headers.get(SESSION_HEADER))
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Self {
            server: server.to_owned(),
            session_id,
        }
    }
}
