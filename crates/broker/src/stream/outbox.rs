use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mcp_gateway_identity::Caller;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Events kept for clients that reconnect with `Last-Event-ID`.
pub(crate) const REPLAY_EVENTS: usize = 256;

/// One event of a client's GET stream.
pub(crate) type Event = (u64, Arc<str>);

/// The server-to-client messages of one gateway session: numbered, kept for replay, and
/// handed to the attached GET stream — one at a time, so no message goes out twice (MCP: a
/// server must not broadcast a message across streams). Lives while the client is attached
/// and for a resume window after it detaches.
pub(crate) struct Outbox {
    next_id: AtomicU64,
    recent: Mutex<VecDeque<Event>>,
    live: broadcast::Sender<Event>,
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
    pub(crate) fn new(cancel: CancellationToken) -> Self {
        Self {
            next_id: AtomicU64::new(1),
            recent: Mutex::new(VecDeque::with_capacity(REPLAY_EVENTS)),
            live: broadcast::channel(REPLAY_EVENTS).0,
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

    /// Queues one JSON-RPC message for the client.
    pub(crate) fn push(&self, message: String) {
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
            outbox.push(format!("m{i}"));
        }
        let (replay, mut live) = outbox.subscribe(Some(1));
        let ids: Vec<u64> = replay.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [2, 3]);
        outbox.push("m3".into());
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
        outbox.push("after the move".into());
        assert_eq!(
            live.recv().await.map(|(id, _)| id).ok(),
            Some(58),
            "an id at or below 57 would be skipped by the client's stream"
        );
        // An id past every u64 moves nothing (and cannot make the counter wrap).
        let (_, mut live) = outbox.subscribe(Some(u64::MAX));
        outbox.push("next".into());
        assert_eq!(live.recv().await.map(|(id, _)| id).ok(), Some(59));
    }

    #[test]
    fn keeps_a_bounded_window() {
        let outbox = Outbox::new(CancellationToken::new());
        for i in 0..(REPLAY_EVENTS + 10) {
            outbox.push(format!("m{i}"));
        }
        let (replay, _) = outbox.subscribe(Some(0));
        assert_eq!(replay.len(), REPLAY_EVENTS);
        assert_eq!(replay[0].0, 11);
    }
}
