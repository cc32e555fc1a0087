use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Events kept for clients that reconnect with `Last-Event-ID`.
pub(crate) const REPLAY_EVENTS: usize = 256;

/// One event of a client's GET stream.
pub(crate) type Event = (u64, Arc<str>);

/// The server-to-client messages of one gateway session: numbered, kept for replay, and
/// handed to the attached GET stream. Lives while the client is attached and for a resume
/// window after it detaches.
pub(crate) struct Outbox {
    next_id: AtomicU64,
    recent: Mutex<VecDeque<Event>>,
    live: broadcast::Sender<Event>,
    attached: AtomicUsize,
    /// Stops this session's backend pumps and supervisor.
    pub(crate) cancel: CancellationToken,
}

impl Outbox {
    pub(crate) fn new(cancel: CancellationToken) -> Self {
        Self {
            next_id: AtomicU64::new(1),
            recent: Mutex::new(VecDeque::with_capacity(REPLAY_EVENTS)),
            live: broadcast::channel(REPLAY_EVENTS).0,
            attached: AtomicUsize::new(0),
            cancel,
        }
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
    pub(crate) fn subscribe(
        &self,
        last_seen: Option<u64>,
    ) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
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

    /// A GET stream attached; returns how many are attached now.
    pub(crate) fn attach(&self) -> usize {
        self.attached.fetch_add(1, Ordering::SeqCst) + 1
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
