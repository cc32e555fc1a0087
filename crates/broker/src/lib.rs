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
mod legacy_client;
mod listen;
mod mcp;
mod modern;
mod mrtr;
mod oauth;
mod reaper;
mod state;
pub mod stream;
mod tasks;
mod trace;
pub mod upstream;

pub use error::BrokerError;
pub use legacy_client::InputAsks;
pub use mrtr::Parked;
pub use oauth::OAuthMetadata;
pub use reaper::reap_sessions;
pub use state::BrokerState;
pub use stream::Streams;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use mcp_gateway_protocol::transport;

/// The broker's HTTP routes: `/mcp` and each virtual server's `/v/<name>/mcp` (POST, GET,
/// DELETE), the OAuth metadata, and probes.
/// Every request but `/readyz` passes the transport rules the router applies too
/// ([`transport::check`]): other paths get 404, other methods 405, each with a JSON-RPC
/// error body.
pub fn app(state: Arc<BrokerState>) -> Router {
    let metadata_below = format!("{}/{{*rest}}", transport::OAUTH_METADATA_PATH);
    let virtual_mcp = format!(
        "{}{{name}}{}",
        transport::VIRTUAL_PATH_PREFIX,
        transport::MCP_PATH
    );
    let checked = Router::new()
        .route(
            transport::MCP_PATH,
            get(mcp::get).post(mcp::post).delete(mcp::delete),
        )
        .route(
            &virtual_mcp,
            get(mcp::get).post(mcp::post).delete(mcp::delete),
        )
        .route(transport::OAUTH_METADATA_PATH, get(oauth::metadata))
        .route(&metadata_below, get(oauth::metadata))
        .route(transport::HEALTH_PATH, get(|| async { "ok" }))
        .fallback(mcp::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            mcp::transport,
        ));
    Router::new()
        // Probes reach the broker directly, never through Envoy (the router answers 404).
        .route("/readyz", get(state::readyz))
        .merge(checked)
        .layer(DefaultBodyLimit::max(state.max_request_bytes))
        .with_state(state)
}
