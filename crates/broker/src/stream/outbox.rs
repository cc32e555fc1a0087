use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use mcp_gateway_identity::Caller;
use mcp_gateway_session::SharedOutbox;
use tokio::sync::{Notify, broadcast, watch};
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// Events kept for clients that reconnect with `Last-Event-ID`.
pub(crate) const REPLAY_EVENTS: usize = 256;

/// How often a stream on a shared outbox reads it without being woken (a wake-up may be
/// lost while the signal subscription is re-established).
const POLL: Duration = Duration::from_secs(10);
/// Wait before reading a shared outbox again after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Attempts to append an event to a shared outbox before it is dropped.
const PUSH_ATTEMPTS: u32 = 3;

/// One event of a client's GET stream.
pub(crate) type Event = (u64, Arc<str>);

/// The server-to-client messages of one gateway session: numbered, kept for replay, and
/// handed to the attached GET stream — one at a time, so no message goes out twice (MCP: a
/// server must not broadcast a message across streams). Lives while the client is attached
/// and for a resume window after it detaches.
///
/// With a shared store ([`SharedOutbox`]) the events are kept and numbered there, so a
/// client resuming on any replica finds them; this replica's object then only tracks the
/// stream attached here and wakes it.
pub(crate) struct Outbox {
    next_id: AtomicU64,
    recent: Mutex<VecDeque<Event>>,
    live: broadcast::Sender<Event>,
    /// The session and its shared outbox, when replicas share one.
    shared: Option<(Arc<str>, Arc<dyn SharedOutbox>)>,
    /// Bumped when the shared outbox has new events.
    wake: watch::Sender<()>,
    /// Notified when another replica released the session's backend streams.
    pub(crate) released: Notify,
    attached: AtomicUsize,
    /// Ends the GET stream that receives live events; cancelled when it goes away.
    current: Mutex<CancellationToken>,
    /// Stops this session's backend pumps and supervisor.
    pub(crate) cancel: CancellationToken,
    /// The caller of the latest GET stream (with its token), on whose behalf the backend
    /// streams are opened: `None` with auth off.
    caller: Mutex<Option<Caller>>,
}

impl Outbox {
    /// An outbox kept in this process.
    #[cfg(test)]
    pub(crate) fn new(cancel: CancellationToken) -> Self {
        Self::with_store(None, cancel)
    }

    /// An outbox kept in `shared` for `session`, or in this process when `None`.
    pub(crate) fn with_store(
        shared: Option<(Arc<str>, Arc<dyn SharedOutbox>)>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            next_id: AtomicU64::new(1),
            recent: Mutex::new(VecDeque::with_capacity(if shared.is_some() {
                0
            } else {
                REPLAY_EVENTS
            })),
            live: broadcast::channel(if shared.is_some() { 1 } else { REPLAY_EVENTS }).0,
            shared,
            wake: watch::channel(()).0,
            released: Notify::new(),
            attached: AtomicUsize::new(0),
            current: Mutex::new(cancelled()),
            cancel,
            caller: Mutex::new(None),
        }
    }

    /// Records the caller of a GET stream being attached: backend streams (re)opened from now
    /// on carry its credential (a client reconnecting with a fresh token refreshes it).
    pub(crate) fn set_caller(&self, caller: Option<Caller>) {
        *self.caller.lock().unwrap_or_else(PoisonError::into_inner) = caller;
    }

    /// The caller backend streams are opened for.
    pub(crate) fn caller(&self) -> Option<Caller> {
        self.caller
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The gateway session (empty for an outbox kept in process).
    pub(crate) fn session(&self) -> &str {
        self.shared.as_ref().map_or("", |(session, _)| session)
    }

    /// The shared outbox, if replicas share one.
    pub(crate) fn shared(&self) -> Option<Arc<dyn SharedOutbox>> {
        self.shared.as_ref().map(|(_, shared)| shared.clone())
    }

    /// Ends the GET stream attached here, if any (the client moved to another replica); the
    /// pumps keep relaying for the resume window.
    pub(crate) fn end_stream(&self) {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancel();
    }

    /// The shared outbox has new events: the stream attached here reads them.
    pub(crate) fn wake(&self) {
        self.wake.send_replace(());
    }

    /// Queues one JSON-RPC message for the client: in the shared outbox when there is one
    /// (dropped, with a log line, when the store fails a few times in a row).
    pub(crate) async fn push(&self, message: String) {
        self.push_relayed(message, None).await;
    }

    /// As [`Outbox::push`], for a message relayed from a backend's GET stream: `backend` is
    /// that stream's key and event id, recorded with the message in a shared outbox.
    pub(crate) async fn push_relayed(&self, message: String, backend: Option<(&str, &str)>) {
        let Some((session, shared)) = &self.shared else {
            self.push_local(message);
            return;
        };
        for attempt in 1..=PUSH_ATTEMPTS {
            match shared.push(session, &message, backend).await {
                Ok(_) => return,
                Err(e) if attempt == PUSH_ATTEMPTS => {
                    tracing::warn!(error = %e, "a GET-stream message was dropped: the session store failed");
                }
                Err(e) => {
                    debug!(error = %e, "appending to the shared outbox");
                    tokio::time::sleep(STORE_RETRY / 4).await;
                }
            }
        }
    }

    /// The events a GET stream sends: those after `last_seen` still kept (none for a new
    /// stream), then live ones, each once. With a shared outbox, `last_seen` must be the
    /// stream's start from [`SharedOutbox::resume`] (the latest event for a new stream).
    pub(crate) fn events(self: &Arc<Self>, last_seen: Option<u64>) -> BoxStream<'static, Event> {
        if let Some((session, shared)) = &self.shared {
            return shared_events(
                session.clone(),
                shared.clone(),
                self.wake.subscribe(),
                last_seen.unwrap_or(0),
            );
        }
        let (replay, live) = self.subscribe(last_seen);
        let after = replay.last().map(|(id, _)| *id).or(last_seen).unwrap_or(0);
        let live = BroadcastStream::new(live).filter_map(move |event| {
            futures::future::ready(event.ok().filter(|(id, _)| *id > after))
        });
        futures::stream::iter(replay).chain(live).boxed()
    }

    fn push_local(&self, message: String) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        let event = (
            self.next_id.fetch_add(1, Ordering::Relaxed),
            Arc::from(message),
        );
        if recent.len() == REPLAY_EVENTS {
            recent.pop_front();
        }
        recent.push_back(event.clone());
        // Sent under the lock so a subscriber's replay and live events never overlap or gap.
        let _ = self.live.send(event);
    }

    /// Events after `last_seen` that are still kept, and the live events from now on.
    ///
    /// A client may have seen ids this outbox never issued: its stream was on another replica,
    /// or on this one before a restart, or its outbox expired. New events are then numbered
    /// after `last_seen`, so that the client's stream (which skips ids up to `last_seen`)
    /// neither drops them nor, later, takes one for an event it already had.
    pub(crate) fn subscribe(
        &self,
        last_seen: Option<u64>,
    ) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        // Under the lock that `push` numbers under, so no event gets an id at or below it.
        if let Some(next) = last_seen.and_then(|last| last.checked_add(1)) {
            self.next_id.fetch_max(next, Ordering::Relaxed);
        }
        let live = self.live.subscribe();
        let replay = match last_seen {
            Some(last) => recent
                .iter()
                .filter(|(id, _)| *id > last)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (replay, live)
    }

    /// Attaches a GET stream and returns the token that ends it (cancelled when the session
    /// ends; cancel it when the stream goes away). While another stream is open, `None` — unless `replace` (a client resuming
    /// with `Last-Event-ID`, whose old connection may not look dead yet), which ends that one.
    pub(crate) fn attach(&self, replace: bool) -> Option<CancellationToken> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if !current.is_cancelled() {
            if !replace {
                return None;
            }
            current.cancel();
        }
        // A child of `cancel`: the stream also ends with the session.
        *current = self.cancel.child_token();
        self.attached.fetch_add(1, Ordering::SeqCst);
        Some(current.clone())
    }

    /// A GET stream went away; returns how many remain.
    pub(crate) fn detach(&self) -> usize {
        self.attached
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1)
    }

    /// How many GET streams are attached.
    pub(crate) fn attached(&self) -> usize {
        self.attached.load(Ordering::SeqCst)
    }
}

/// A GET stream on a shared outbox: reads what is there after `cursor`, then again whenever
/// woken, or every [`POLL`].
fn shared_events(
    session: Arc<str>,
    shared: Arc<dyn SharedOutbox>,
    wake: watch::Receiver<()>,
    cursor: u64,
) -> BoxStream<'static, Event> {
    struct Reading {
        session: Arc<str>,
        shared: Arc<dyn SharedOutbox>,
        wake: watch::Receiver<()>,
        cursor: u64,
        pending: VecDeque<Event>,
    }
    let reading = Reading {
        session,
        shared,
        wake,
        cursor,
        pending: VecDeque::new(),
    };
    futures::stream::unfold(reading, |mut r| async move {
        loop {
            if let Some(event) = r.pending.pop_front() {
                return Some((event, r));
            }
            r.wake.mark_unchanged();
            match r.shared.read(&r.session, r.cursor).await {
                Ok(events) if !events.is_empty() => {
                    r.cursor = events.last().map_or(r.cursor, |(id, _)| *id);
                    r.pending
                        .extend(events.into_iter().map(|(id, m)| (id, Arc::from(m))));
                }
                Ok(_) => {
                    tokio::select! {
                        changed = r.wake.changed() => if changed.is_err() {
                            tokio::time::sleep(POLL).await;
                        },
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(e) => {
                    debug!(error = %e, "reading the shared outbox");
                    tokio::time::sleep(STORE_RETRY).await;
                }
            }
        }
    })
    .boxed()
}

fn cancelled() -> CancellationToken {
    let token = CancellationToken::new();
    token.cancel();
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replays_after_last_seen_then_goes_live() {
        let outbox = Outbox::new(CancellationToken::new());
        for i in 0..3 {
            outbox.push_local(format!("m{i}"));
        }
        let (replay, mut live) = outbox.subscribe(Some(1));
        let ids: Vec<u64> = replay.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [2, 3]);
        outbox.push_local("m3".into());
        assert_eq!(
            live.recv().await.map(|(id, m)| (id, m.to_string())).ok(),
            Some((4, "m3".to_owned()))
        );
        let (replay, _) = outbox.subscribe(None);
        assert!(replay.is_empty(), "a fresh stream starts with new events");
    }

    #[test]
    fn one_stream_at_a_time_a_resume_replaces_it_and_the_session_ends_it() {
        let outbox = Outbox::new(CancellationToken::new());
        let first = outbox.attach(false).expect("the first stream attaches");
        assert!(
            outbox.attach(false).is_none(),
            "a second fresh stream is refused"
        );
        let resumed = outbox.attach(true).expect("a resuming stream attaches");
        assert!(first.is_cancelled(), "and ends the one it replaces");
        resumed.cancel(); // the client went away
        let last = outbox.attach(false).expect("then a fresh stream attaches");
        assert_eq!(outbox.attached(), 3);
        outbox.cancel.cancel(); // the session ended
        assert!(last.is_cancelled(), "and its stream with it");
    }

    #[tokio::test]
    async fn a_resume_with_ids_this_outbox_never_issued_numbers_new_events_after_them() {
        // The client's last stream was on another replica (or before a restart): id 57 there.
        let outbox = Outbox::new(CancellationToken::new());
        let (replay, mut live) = outbox.subscribe(Some(57));
        assert!(replay.is_empty());
        outbox.push_local("after the move".into());
        assert_eq!(
            live.recv().await.map(|(id, _)| id).ok(),
            Some(58),
            "an id at or below 57 would be skipped by the client's stream"
        );
        // An id past every u64 moves nothing (and cannot make the counter wrap).
        let (_, mut live) = outbox.subscribe(Some(u64::MAX));
        outbox.push_local("next".into());
        assert_eq!(live.recv().await.map(|(id, _)| id).ok(), Some(59));
    }

    #[test]
    fn keeps_a_bounded_window() {
        let outbox = Outbox::new(CancellationToken::new());
        for i in 0..(REPLAY_EVENTS + 10) {
            outbox.push_local(format!("m{i}"));
        }
        let (replay, _) = outbox.subscribe(Some(0));
        assert_eq!(replay.len(), REPLAY_EVENTS);
        assert_eq!(replay[0].0, 11);
    }
}
