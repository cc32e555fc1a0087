//! Ending sessions the client did not end: those whose lifetime or idle time is over are
//! swept from the store periodically (never on a request's path), their GET streams
//! stopped and their backend sessions ended, best effort, as `DELETE` does.
//!
//! No caller is at hand when a session is swept, so its backend sessions are ended with the
//! credential the gateway uses for itself (`BackendCredentials::for_gateway`: a static key, a
//! client-credentials token; for a token-exchange server a client-credentials token unless
//! `discovery: none`, for a passthrough server nothing unless configured). A backend that
//! refuses that `DELETE` lets the session expire on its own side.

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_identity::Caller;
use mcp_gateway_upstream::BackendSession;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::BrokerState;

/// Every `every`, until `cancel`: sessions with an open GET stream are marked as used (a
/// client listening is a client using its session), then ended sessions are swept.
pub async fn reap_sessions(state: Arc<BrokerState>, every: Duration, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(every) => { reap(&state).await; }
        }
    }
}

/// One sweep; returns how many sessions ended.
pub(crate) async fn reap(state: &Arc<BrokerState>) -> usize {
    for session in state.streams.attached_sessions() {
        if let Err(e) = state.sessions().touch(&session).await {
            debug!(error = %e, "marking a streaming session as used");
        }
    }
    let swept = match state.sessions().sweep().await {
        Ok(swept) => swept,
        Err(e) => {
            debug!(error = %e, "sweeping sessions");
            return 0;
        }
    };
    let ended = swept.len();
    let mut backends = Vec::new();
    for (id, removed) in swept {
        state.streams.end_everywhere(state, &id);
        backends.extend(removed.backends);
    }
    if ended > 0 {
        debug!(
            sessions = ended,
            backends = backends.len(),
            "ended idle or expired sessions"
        );
    }
    end_backends(state, backends, None);
    ended
}

/// Ends backend sessions in the background (best effort: a failure is only logged), with
/// `caller`'s credential (a client's `DELETE`) or, without one, the gateway's own.
pub(crate) fn end_backends(
    state: &Arc<BrokerState>,
    backends: Vec<(String, Arc<BackendSession>)>,
    caller: Option<Caller>,
) {
    if backends.is_empty() {
        return;
    }
    let config = state.config.load();
    let state = state.clone();
    tokio::spawn(async move {
        for (server, backend) in backends {
            let Some(server) = config.server(&server) else {
                continue;
            };
            let upstream = match &caller {
                Some(caller) => state.caller_upstream(server, Some(caller)).await,
                None => state.own_upstream(server).await,
            };
            let ended = match upstream {
                Ok(upstream) => upstream.terminate(&server.url, &backend).await,
                Err(e) => Err(e),
            };
            if let Err(e) = ended {
                debug!(server = %server.name, error = %e, "ending backend session failed");
            }
        }
    });
}
