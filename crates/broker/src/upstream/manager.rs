use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_catalog::ServerTools;
use mcp_gateway_config::Server;
use mcp_gateway_upstream::{BackendSession, InitOptions, UpstreamError};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::DiscoveryTiming;
use crate::{BrokerState, versions};

const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Discovery loop for one backend; ends when `cancel` fires (config change or shutdown).
pub(super) async fn run(
    state: Arc<BrokerState>,
    server: Server,
    timing: DiscoveryTiming,
    cancel: CancellationToken,
) {
    let mut session: Option<BackendSession> = None;
    let mut healthy: Option<bool> = None;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let outcome = discover(&state, &server, &mut session).await;
        let wait = match outcome {
            Ok(tools) => {
                if healthy == Some(false) {
                    // Back after an outage: it may have restarted and lost every session.
                    forget_sessions(&state, &server).await;
                }
                if healthy != Some(true) {
                    debug!(server = %server.name, tools = tools.len(), "backend healthy");
                }
                healthy = Some(true);
                backoff = FIRST_BACKOFF;
                state.catalog.update(
                    &server.name,
                    ServerTools {
                        prefix: server.tool_prefix.clone(),
                        healthy: true,
                        tools,
                        last_error: None,
                    },
                );
                timing.refresh
            }
            Err(e) => {
                if healthy != Some(false) {
                    warn!(server = %server.name, error = %e, "backend unavailable; its tools are hidden until it answers");
                }
                if e.is_session_gone() {
                    forget_sessions(&state, &server).await;
                }
                healthy = Some(false);
                session = None;
                state.catalog.update(
                    &server.name,
                    ServerTools {
                        prefix: server.tool_prefix.clone(),
                        healthy: false,
                        tools: Vec::new(),
                        last_error: Some(e.to_string()),
                    },
                );
                let wait = backoff.min(timing.max_backoff);
                backoff = (backoff * 2).min(timing.max_backoff);
                wait
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    if let Some(session) = session {
        let _ = state.upstream.terminate(&server.url, &session).await;
    }
}

async fn discover(
    state: &BrokerState,
    server: &Server,
    session: &mut Option<BackendSession>,
) -> Result<Vec<serde_json::Value>, UpstreamError> {
    let current = match session.take() {
        Some(s) => s,
        None => {
            state
                .upstream
                .initialize(&server.url, &gateway_identity())
                .await?
        }
    };
    let tools = state
        .upstream
        .list_all(&server.url, &current, "tools/list", "tools")
        .await?;
    *session = Some(current);
    Ok(tools)
}

async fn forget_sessions(state: &BrokerState, server: &Server) {
    match state.sessions.forget_server(&server.name).await {
        Ok(0) => {}
        Ok(n) => {
            debug!(server = %server.name, sessions = n, "forgot backend sessions after backend restart")
        }
        Err(e) => warn!(server = %server.name, error = %e, "could not forget backend sessions"),
    }
}

/// How the gateway introduces itself for its own discovery sessions.
fn gateway_identity() -> InitOptions {
    InitOptions {
        protocol_version: versions::SUPPORTED[0].to_owned(),
        capabilities: json!({}),
        client_info: json!({ "name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION") }),
    }
}
