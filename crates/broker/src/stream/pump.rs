use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_catalog::ListKind;
use mcp_gateway_config::Server;
use mcp_gateway_upstream::{BackendSession, Listener, UpstreamError};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::relay::relay;
use super::{GatewayEvent, Outbox};
use crate::BrokerState;

const RETRY: Duration = Duration::from_millis(500);
const MAX_FAILURES: u32 = 5;

/// Keeps one pump per backend session of `session` while the outbox lives, and forwards the
/// gateway's own notifications.
pub(super) async fn supervise(
    state: Arc<BrokerState>,
    session: String,
    outbox: Arc<Outbox>,
    mut events: broadcast::Receiver<GatewayEvent>,
) {
    let mut opened = state.backends.subscribe_opened();
    let mut pumps: HashMap<String, CancellationToken> = HashMap::new();
    let config = state.config.load();
    for server in config.enabled_servers() {
        if let Ok(Some((_, Some(backend)))) = state.sessions().lookup(&session, &server.name).await
        {
            start(&state, &outbox, &mut pumps, server.clone(), backend);
        }
    }
    loop {
        tokio::select! {
            _ = outbox.cancel.cancelled() => break,
            event = events.recv() => match event {
                Ok(GatewayEvent::ListChanged(kind)) => outbox.push(list_changed(kind)),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            opened_now = opened.recv() => match opened_now {
                Ok((gateway, server)) if *gateway == *session => {
                    let config = state.config.load();
                    let Some(server) = config.server(&server) else { continue };
                    if let Ok(Some((_, Some(backend)))) = state.sessions().lookup(&session, &server.name).await {
                        start(&state, &outbox, &mut pumps, server.clone(), backend);
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
        }
    }
    for (_, token) in pumps {
        token.cancel();
    }
}

fn list_changed(kind: ListKind) -> String {
    let what = match kind {
        ListKind::Tools => "tools",
        ListKind::Prompts => "prompts",
        ListKind::Resources | ListKind::ResourceTemplates => "resources",
    };
    format!(r#"{{"jsonrpc":"2.0","method":"notifications/{what}/list_changed"}}"#)
}

/// Starts (or restarts, for a new backend session) the pump of one backend.
fn start(
    state: &Arc<BrokerState>,
    outbox: &Arc<Outbox>,
    pumps: &mut HashMap<String, CancellationToken>,
    server: Server,
    backend: Arc<BackendSession>,
) {
    let token = outbox.cancel.child_token();
    if let Some(old) = pumps.insert(server.name.clone(), token.clone()) {
        old.cancel();
    }
    tokio::spawn(pump(state.clone(), outbox.clone(), server, backend, token));
}

/// Relays one backend session's GET stream into the outbox, reconnecting (with the last
/// event id) when it drops, until cancelled, the backend offers no stream, or the backend
/// session is gone.
async fn pump(
    state: Arc<BrokerState>,
    outbox: Arc<Outbox>,
    server: Server,
    backend: Arc<BackendSession>,
    cancel: CancellationToken,
) {
    let mut last_event_id: Option<String> = None;
    let mut failures = 0;
    while !cancel.is_cancelled() && failures < MAX_FAILURES {
        let opened = tokio::select! {
            _ = cancel.cancelled() => return,
            opened = listen(&state, &outbox, &server, &backend, last_event_id.as_deref()) => opened,
        };
        let mut listener = match opened {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(e) if e.is_session_gone() => return,
            Err(e) => {
                debug!(server = %server.name, error = %e, "backend GET stream failed");
                failures += 1;
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => return,
                next = listener.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    failures = 0;
                    if let Some(message) = relay(&server.name, &server.tool_prefix, &event.data) {
                        outbox.push(message);
                    }
                }
                Some(Err(e)) => {
                    debug!(server = %server.name, error = %e, "backend GET stream broke");
                    break;
                }
                None => break,
            }
        }
        last_event_id = listener.last_event_id().map(str::to_owned);
        failures += 1;
        tokio::time::sleep(RETRY).await;
    }
}

/// Opens the backend's GET stream on behalf of the session's caller (its credential resolved
/// again on every reconnection, so a cached token past its time is replaced).
async fn listen(
    state: &BrokerState,
    outbox: &Outbox,
    server: &Server,
    backend: &BackendSession,
    last_event_id: Option<&str>,
) -> Result<Option<Listener>, UpstreamError> {
    let upstream = state
        .caller_upstream(server, outbox.caller().as_ref())
        .await?;
    upstream.listen(&server.url, backend, last_event_id).await
}
