//! The client's GET stream: everything the gateway and the session's backends send the client
//! outside a request — list changes, resource updates, log messages, server requests.
//!
//! One [`Outbox`] per gateway session numbers the messages (SSE event ids) and keeps the last
//! few hundred, so a client that reconnects with `Last-Event-ID` within the resume window
//! loses nothing and sees nothing twice. While an outbox lives, one pump per backend session
//! reads that backend's own GET stream and relays it (see [`relay`]); backend sessions opened
//! later (lazily, by the router) are attached as they open.

mod outbox;
mod pump;
mod relay;

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_catalog::ListKind;
use mcp_gateway_identity::Caller;
use mcp_gateway_session::Signal;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use tracing::debug;

pub(crate) use outbox::Outbox;

use crate::BrokerState;

/// How long a session's outbox (and its backend pumps) outlive the last attached GET stream.
pub const RESUME_WINDOW: Duration = Duration::from_secs(60);

pub use mcp_gateway_protocol::events::{event_id, parse_event_id};

/// Messages of the gateway itself, for every session.
#[derive(Clone, Debug)]
pub(crate) enum GatewayEvent {
    ListChanged(ListKind),
}

/// The outboxes of all sessions with a live (or recently live) GET stream.
pub struct Streams {
    outboxes: papaya::HashMap<String, Arc<Outbox>>,
    events: broadcast::Sender<GatewayEvent>,
}

impl Default for Streams {
    fn default() -> Self {
        Self {
            outboxes: papaya::HashMap::new(),
            events: broadcast::channel(64).0,
        }
    }
}

impl Streams {
    /// Tells every session that these aggregated lists changed.
    pub fn lists_changed(&self, kinds: &[ListKind]) {
        for kind in kinds {
            let _ = self.events.send(GatewayEvent::ListChanged(*kind));
        }
    }

    /// The gateway's own events from now on (list changes), for `subscriptions/listen`.
    pub(crate) fn gateway_events(&self) -> broadcast::Receiver<GatewayEvent> {
        self.events.subscribe()
    }

    /// Stops and forgets a session's stream (the session ended).
    pub fn end(&self, session: &str) {
        if let Some(outbox) = self.outboxes.pin().remove(session) {
            outbox.cancel.cancel();
        }
    }

    /// Ends a session's stream on every replica and forgets its shared outbox (the session
    /// ended here).
    pub(crate) fn end_everywhere(&self, state: &BrokerState, session: &str) {
        self.end(session);
        let Some(shared) = state.sessions().shared_outbox() else {
            return;
        };
        let session: Arc<str> = Arc::from(session);
        tokio::spawn(async move {
            let signalled = shared.signal(Signal::Ended(session.clone())).await;
            if let Err(e) = signalled.and(shared.remove(&session).await) {
                debug!(error = %e, "ending a session's shared outbox");
            }
        });
    }

    /// Sessions with a GET stream attached now.
    pub(crate) fn attached_sessions(&self) -> Vec<String> {
        self.outboxes
            .pin()
            .iter()
            .filter(|(_, outbox)| outbox.attached() > 0)
            .map(|(session, _)| session.clone())
            .collect()
    }

    /// Number of sessions with an outbox (for tests and metrics).
    pub fn len(&self) -> usize {
        self.outboxes.pin().len()
    }

    /// True when no session has an outbox.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The session's outbox, created (with its supervisor) on first use, its backend streams
/// opened on behalf of `caller` from now on.
pub(crate) fn outbox(
    state: &Arc<BrokerState>,
    session: &str,
    caller: Option<Caller>,
) -> Arc<Outbox> {
    let outboxes = state.streams.outboxes.pin();
    if let Some(existing) = outboxes.get(session) {
        existing.set_caller(caller);
        return existing.clone();
    }
    let shared = state
        .sessions()
        .shared_outbox()
        .map(|shared| (Arc::<str>::from(session), shared));
    let fresh = Arc::new(Outbox::with_store(shared, CancellationToken::new()));
    fresh.set_caller(caller.clone());
    let outbox = outboxes
        .get_or_insert(session.to_owned(), fresh.clone())
        .clone();
    if Arc::ptr_eq(&outbox, &fresh) {
        tokio::spawn(pump::supervise(
            state.clone(),
            session.to_owned(),
            outbox.clone(),
            state.streams.events.subscribe(),
        ));
    } else {
        outbox.set_caller(caller);
    }
    outbox
}

/// A GET stream detached: after the resume window with nobody attached, the outbox goes.
pub(crate) fn detached(state: Arc<BrokerState>, session: String, outbox: Arc<Outbox>) {
    if outbox.detach() > 0 {
        return;
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(RESUME_WINDOW) => {}
            _ = outbox.cancel.cancelled() => return,
        }
        if outbox.attached() == 0 {
            let _ = state
                .streams
                .outboxes
                .pin()
                .remove_if(&session, |_, current| Arc::ptr_eq(current, &outbox));
            outbox.cancel.cancel();
        }
    });
}

/// Claims the session's GET stream for this replica: the others end theirs (with a shared
/// outbox; nothing to do otherwise). Their pumps run on for their resume window, then let
/// another replica take them ([`mcp_gateway_session::SharedOutbox::lease`]).
pub(crate) fn claim(state: &BrokerState, session: &str) {
    let Some(shared) = state.sessions().shared_outbox() else {
        return;
    };
    let signal = Signal::Claimed {
        session: Arc::from(session),
        replica: Arc::from(shared.replica()),
    };
    tokio::spawn(async move {
        if let Err(e) = shared.signal(signal).await {
            debug!(error = %e, "claiming a GET stream");
        }
    });
}

/// Acts on what other replicas signal about GET streams, while the process runs (with a
/// shared outbox; returns at once otherwise): wakes the streams attached here, relays
/// backend sessions opened elsewhere to this replica's pumps, ends the streams another
/// replica took over or whose session ended there, and lets this replica take backend
/// streams another released.
pub async fn relay_signals(state: Arc<BrokerState>) {
    let Some(shared) = state.sessions().shared_outbox() else {
        return;
    };
    let mut signals = shared.signals();
    loop {
        let signal = match signals.recv().await {
            Ok(signal) => signal,
            Err(RecvError::Lagged(_)) => Signal::Resync,
            Err(RecvError::Closed) => return,
        };
        let outboxes = &state.streams.outboxes;
        match signal {
            Signal::Wake(session) => {
                if let Some(outbox) = outboxes.pin().get(&*session) {
                    outbox.wake();
                }
            }
            Signal::Resync => {
                for outbox in outboxes.pin().values() {
                    outbox.wake();
                }
            }
            Signal::Opened {
                session,
                server,
                replica,
            } => {
                if *replica != *shared.replica() && outboxes.pin().contains_key(&*session) {
                    state.backends.announce_opened(&session, &server);
                }
            }
            Signal::Claimed { session, replica } => {
                if *replica != *shared.replica()
                    && let Some(outbox) = outboxes.pin().get(&*session)
                {
                    outbox.end_stream();
                }
            }
            Signal::Released(session) => {
                if let Some(outbox) = outboxes.pin().get(&*session) {
                    outbox.released.notify_one();
                }
            }
            Signal::Ended(session) => state.streams.end(&session),
        }
    }
}
