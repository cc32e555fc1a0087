//! The broker: the gateway's own MCP server.
//!
//! It answers what no single backend can: `initialize` (issuing the gateway's session id),
//! `ping`, aggregated `tools/list` from the discovered catalog, notifications, and `DELETE`
//! (ending the gateway session and its backend sessions). Everything owned by one backend is
//! routed past it by the ext_proc router. It also keeps one upstream manager per backend
//! ([`upstream::run_discovery`]) and serves the OAuth protected-resource metadata and probes.

mod body;
mod cursor;
mod error;
mod fanout;
mod initialize;
mod mcp;
mod oauth;
mod reaper;
mod state;
pub mod stream;
mod tasks;
pub mod upstream;

pub use error::BrokerError;
pub use oauth::OAuthMetadata;
pub use reaper::reap_sessions;
pub use state::BrokerState;
pub use stream::Streams;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

/// The broker's HTTP routes: `/mcp` (POST, GET, DELETE), the OAuth metadata, and probes.
pub fn app(state: Arc<BrokerState>) -> Router {
    Router::new()
        .route("/mcp", get(mcp::get).post(mcp::post).delete(mcp::delete))
        .route(
            "/.well-known/oauth-protected-resource",
            get(oauth::metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*rest}",
            get(oauth::metadata),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(state::readyz))
        .layer(DefaultBodyLimit::max(state.max_request_bytes))
        .with_state(state)
}
