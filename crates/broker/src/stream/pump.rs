use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_catalog::ListKind;
use mcp_gateway_config::Server;
use mcp_gateway_session::SharedOutbox;
use mcp_gateway_upstream::{BackendSession, Listener, UpstreamError};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::relay::relay;
use super::{GatewayEvent, Outbox};
use crate::BrokerState;

const RETRY: Duration = Duration::from_millis(500);
const MAX_FAILURES: u32 = 5;
/// How long a replica's right to relay a session's backend streams lasts unrenewed (it is
/// renewed every third of that): how long they go unread after that replica dies.
const LEASE: Duration = Duration::from_secs(15);

/// Keeps one pump per backend session of `session` while the outbox lives, and forwards the
/// gateway's own notifications. With a shared outbox, only while this replica holds the
/// session's lease: a backend gives its events to one GET stream (rmcp makes a second one an
/// idle shadow), and a list change is announced once.
pub(super) async fn supervise(
    state: Arc<BrokerState>,
    session: String,
    outbox: Arc<Outbox>,
    mut events: broadcast::Receiver<GatewayEvent>,
) {
    let shared = outbox.shared();
    loop {
        if let Some(shared) = &shared {
            if !acquire(shared.as_ref(), &session, &outbox).await {
                break;
            }
            events = events.resubscribe();
        }
        let lost = relay_all(&state, &session, &outbox, &mut events, shared.as_deref()).await;
        if !lost {
            break;
        }
    }
    if let Some(shared) = shared
        && let Err(e) = shared.release(&session).await
    {
        debug!(error = %e, "releasing a session's backend streams");
    }
}

/// Waits until this replica holds the session's lease; false when the outbox ended first.
async fn acquire(shared: &dyn SharedOutbox, session: &str, outbox: &Outbox) -> bool {
    loop {
        match shared.lease(session, LEASE).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => debug!(error = %e, "taking a session's backend streams"),
        }
        tokio::select! {
            _ = outbox.cancel.cancelled() => return false,
            () = outbox.released.notified() => {}
            () = tokio::time::sleep(LEASE / 3) => {}
        }
    }
}

/// Runs the pumps and forwards list changes until the outbox ends (false) or the lease is
/// lost to another replica (true).
async fn relay_all(
    state: &Arc<BrokerState>,
    session: &str,
    outbox: &Arc<Outbox>,
    events: &mut broadcast::Receiver<GatewayEvent>,
    shared: Option<&dyn SharedOutbox>,
) -> bool {
    let mut opened = state.backends.subscribe_opened();
    let mut pumps: HashMap<String, CancellationToken> = HashMap::new();
    let mut renew = tokio::time::interval(LEASE / 3);
    renew.tick().await;
    let config = state.config.load();
    for server in config.enabled_servers() {
        if let Ok(Some((_, Some(backend)))) = state.sessions().lookup(session, &server.name).await {
            start(state, outbox, &mut pumps, server.clone(), backend);
        }
    }
    let lost = loop {
        tokio::select! {
            _ = outbox.cancel.cancelled() => break false,
            _ = renew.tick(), if shared.is_some() => {
                if let Some(shared) = shared
                    && matches!(shared.lease(session, LEASE).await, Ok(false))
                {
                    break true;
                }
            }
            event = events.recv() => match event {
                Ok(GatewayEvent::ListChanged(kind)) => outbox.push(list_changed(kind)).await,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break false,
            },
            opened_now = opened.recv() => match opened_now {
                Ok((gateway, server)) if *gateway == *session => {
                    let config = state.config.load();
                    let Some(server) = config.server(&server) else { continue };
                    if let Ok(Some((_, Some(backend)))) = state.sessions().lookup(session, &server.name).await {
                        start(state, outbox, &mut pumps, server.clone(), backend);
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break false,
            },
        }
    };
    for (_, token) in pumps {
        token.cancel();
    }
    lost
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
    // With a shared outbox, where the replica that relayed this stream before left it.
    let position = mcp_gateway_session::backend_stream(&server.name, backend.session_id.as_deref());
    let mut last_event_id: Option<String> = match outbox.shared() {
        Some(shared) => shared
            .backend_position(outbox.session(), &position)
            .await
            .unwrap_or_else(|e| {
                debug!(error = %e, "reading where a backend stream was");
                None
            }),
        None => None,
    };
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
        // Some servers (rmcp) replay the event named by Last-Event-ID itself first: it was
        // relayed already.
        let mut resumed_at = last_event_id.clone();
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => return,
                next = listener.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    failures = 0;
                    if let Some(seen) = resumed_at.take()
                        && event.id.as_deref() == Some(seen.as_str())
                    {
                        continue;
                    }
                    if let Some(message) = relay(&server.name, &server.tool_prefix, &event.data) {
                        let at = event.id.as_deref().map(|id| (position.as_str(), id));
                        outbox.push_relayed(message, at).await;
                    }
                }
                Some(Err(e)) => {
                    debug!(server = %server.name, error = %e, "backend GET stream broke");
                    break;
                }
                None => break,
            }
        }
        if let Some(id) = listener.last_event_id() {
            last_event_id = Some(id.to_owned());
        }
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
