//! Messages the broker forwards to every backend of a client's session.

use std::sync::Arc;

use mcp_gateway_catalog::Catalog;
use mcp_gateway_config::Config;
use mcp_gateway_identity::Caller;
use mcp_gateway_policy::Scope;
use serde_json::Value;
use tracing::{Instrument, debug};

use crate::BrokerState;

/// `logging/setLevel` for every 2025-era backend that declared `logging` and that the client's
/// `scope` reaches (on a virtual server, only those of its subset): opens the client's backend
/// session where needed (so the level holds for everything that backend sends this client),
/// each request carrying the credential `caller`'s routed calls get. Returns the servers that
/// could not be reached.
pub(crate) async fn set_level(
    state: &BrokerState,
    config: &Config,
    catalog: &Catalog,
    scope: &Scope<'_>,
    session: &str,
    caller: Option<&Caller>,
    params: &Value,
) -> Vec<String> {
    let span = crate::trace::fanout("logging/setLevel");
    let failed = set_level_each(state, config, catalog, scope, session, caller, params)
        .instrument(span.clone())
        .await;
    span.record("mcp_gateway.fanout.failed", failed.len() as u64);
    failed
}

async fn set_level_each(
    state: &BrokerState,
    config: &Config,
    catalog: &Catalog,
    scope: &Scope<'_>,
    session: &str,
    caller: Option<&Caller>,
    params: &Value,
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut servers = 0_u64;
    for server in config.enabled_servers() {
        // A backend that speaks only 2026-07-28 has no `logging/setLevel` (the level is a
        // per-request `_meta` member there) and no session to hold one.
        let logs = catalog.server(&server.name).is_some_and(|s| {
            s.healthy
                && s.protocol.speaks_legacy()
                && s.capabilities.get("logging").is_some_and(|c| !c.is_null())
        }) && scope.reaches(catalog, &server.name);
        if !logs {
            continue;
        }
        servers += 1;
        let outcome = match state.caller_upstream(server, caller).await {
            Ok(upstream) => match state
                .backends
                .open(session, &server.name, &server.url, &upstream)
                .await
            {
                Ok(backend) => upstream
                    .request(
                        &server.url,
                        &backend,
                        "logging/setLevel",
                        Some(params.clone()),
                    )
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = outcome {
            debug!(server = %server.name, error = %e, "logging/setLevel failed");
            failed.push(server.name.clone());
        }
    }
    tracing::Span::current().record("mcp_gateway.fanout.servers", servers);
    failed
}

/// A client notification meant for whichever backend handles the request it names
/// (`notifications/cancelled`): sent to every backend session the client has open. Request
/// ids are unique among a client's in-flight requests, and receivers ignore ids they do not
/// know, so only the owner acts on it. Each carries the credential of `caller`.
pub(crate) fn broadcast(
    state: Arc<BrokerState>,
    session: String,
    caller: Option<Caller>,
    method: String,
    params: Option<Value>,
) {
    let span = crate::trace::fanout(&method);
    let task = async move {
        let config = state.config.load();
        for server in config.enabled_servers() {
            let Ok(Some((_, Some(backend)))) =
                state.sessions().lookup(&session, &server.name).await
            else {
                continue;
            };
            let sent = match state.caller_upstream(server, caller.as_ref()).await {
                Ok(upstream) => {
                    upstream
                        .notify(&server.url, &backend, &method, params.clone())
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                debug!(server = %server.name, %method, error = %e, "forwarding notification failed");
            }
        }
    };
    tokio::spawn(task.instrument(span));
}
