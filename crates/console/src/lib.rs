//! The read-only web console: one page (static HTML and a script, checked in and compiled in
//! with `include_str!`) and the JSON API it polls.
//!
//! - `GET /console` (and `/console/`): the page; `GET /console/console.js`: its script. They
//!   hold no data, so they are public like the OAuth metadata.
//! - `GET /console/api/status`: servers (health, URL, prefix, last listing, tools with their
//!   input schemas), live sessions, config status (with the last rejected edit and why),
//!   the recent calls of the audit stream and where the metrics are. With `auth:` on, only
//!   for a caller the router verified (as for `/mcp`) whose token carries the operator's
//!   scope (`auth.consoleScope`, default `mcp-gateway:console`; 403 otherwise); the page
//!   asks for a token when it gets 401. Backend URLs are shown without userinfo or query.
//!
//! Nothing here is on the MCP path: the API reads the config and catalog snapshots, the
//! session count and the audit writer's last lines ([`mcp_gateway_audit::Auditor::recent`]),
//! once per poll.

mod status;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::ConfigStore;
use mcp_gateway_identity::{CALLER_HEADER, Caller};
use mcp_gateway_protocol::transport::{CONSOLE_API_PATH, CONSOLE_PATH};
use mcp_gateway_session::SessionStore;

pub use status::Status;

/// The page.
const PAGE: &str = include_str!("assets/console.html");
/// The page's script.
const SCRIPT: &str = include_str!("assets/console.js");

/// The script's path below [`CONSOLE_PATH`].
const SCRIPT_FILE: &str = "console.js";
/// The status document's path below [`CONSOLE_API_PATH`].
const STATUS_FILE: &str = "status";

/// The page runs only its own script and talks only to its own origin; server-supplied
/// text (tool descriptions, errors) is set as text, never as markup, so nothing a backend
/// says can run in the operator's browser.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// What the console reads.
pub struct Console {
    /// The config in force and its reload status.
    pub config: Arc<ConfigStore>,
    /// What discovery found.
    pub catalog: Arc<CatalogStore>,
    /// Gateway sessions (counted per poll).
    pub sessions: Arc<dyn SessionStore>,
    /// The admin address serving `/metrics`, linked from the page.
    pub metrics_address: Option<SocketAddr>,
}

/// The console's routes, for the broker's HTTP server.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route(CONSOLE_PATH, get(page))
        .route(&format!("{CONSOLE_PATH}/"), get(page))
        .route(&format!("{CONSOLE_PATH}/{SCRIPT_FILE}"), get(script))
        .route(
            &format!("{CONSOLE_API_PATH}/{STATUS_FILE}"),
            get(api_status),
        )
        .with_state(console)
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

async fn api_status(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let config = console.config.load();
    // The router refuses unauthenticated API requests before they get here and vouches for
    // the caller it verified; a request without its word did not come through it.
    if let Some(auth) = config.auth() {
        let Some(caller) = vouched(&headers) else {
            return json(
                StatusCode::UNAUTHORIZED,
                r#"{"error":"the console API needs a verified caller: send Authorization: Bearer <token> through the gateway"}"#
                    .to_owned(),
            );
        };
        // Every server, tool and caller's recent call: for operators only.
        if !caller.has_scope(&auth.console_scope) {
            let error = format!(
                "the console API needs a token with the scope {}",
                auth.console_scope
            );
            return json(
                StatusCode::FORBIDDEN,
                serde_json::json!({ "error": error }).to_string(),
            );
        }
    }
    let sessions = console.sessions.count().await.ok();
    let status = Status::read(&console, &config, sessions);
    json(StatusCode::OK, status.to_json())
}

fn vouched(headers: &HeaderMap) -> Option<Caller> {
    headers
        .get(HeaderName::from_static(CALLER_HEADER))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Caller::from_forwarded(value).ok())
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
