//! The outbox of a session's GET stream shared by replicas (see the broker's `stream`
//! module): numbered events kept for `Last-Event-ID`, and the signals replicas send each
//! other about GET streams. Only a shared store has one ([`crate::SessionStore::shared_outbox`]);
//! with the memory store the broker keeps its outboxes in process.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::SessionError;

/// How many events a session's shared outbox keeps for clients that resume.
pub const SHARED_EVENTS: usize = 256;

/// The largest event number a client may claim to have seen (`Last-Event-ID`); larger ones
/// are taken as this (Redis counts in 64-bit integers and its scripts in doubles).
pub const MAX_EVENT_NUMBER: u64 = (1 << 50) - 1;

/// What replicas tell each other about GET streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// New events in the session's outbox.
    Wake(Arc<str>),
    /// A replica opened a backend session for the session (its GET stream must be relayed).
    Opened {
        /// The gateway session.
        session: Arc<str>,
        /// The server the backend session is on.
        server: Arc<str>,
        /// The replica that opened it ([`SharedOutbox::replica`]).
        replica: Arc<str>,
    },
    /// A replica now serves the session's GET stream: others stop theirs and their pumps.
    Claimed {
        /// The gateway session.
        session: Arc<str>,
        /// The replica that serves it.
        replica: Arc<str>,
    },
    /// The session ended (DELETE or expiry) on some replica.
    Ended(Arc<str>),
    /// The replica relaying the session's backend streams let them go: another may take
    /// them ([`SharedOutbox::lease`]).
    Released(Arc<str>),
    /// Signals may have been missed (the subscription was re-established): every stream
    /// should read its outbox again.
    Resync,
}

/// One event: its number (the SSE id is `g<number>`) and the JSON-RPC message.
pub type SharedEvent = (u64, String);

/// A session's GET-stream events in a store every replica reads.
#[async_trait]
pub trait SharedOutbox: Send + Sync + 'static {
    /// This process's replica id (random, per process).
    fn replica(&self) -> &str;
    /// Appends a message to the session's outbox (the last [`SHARED_EVENTS`] are kept),
    /// wakes the replica serving its stream; returns the event's number. A message relayed
    /// from a backend's GET stream also records, in the same step, that stream's event id
    /// (`backend`: the stream's key, see [`backend_stream`], and the id), so a replica that
    /// takes the stream over resumes it there.
    async fn push(
        &self,
        session: &str,
        message: &str,
        backend: Option<(&str, &str)>,
    ) -> Result<u64, SessionError>;
    /// The last event id recorded for a backend stream of the session ([`backend_stream`]).
    async fn backend_position(
        &self,
        session: &str,
        stream: &str,
    ) -> Result<Option<String>, SessionError>;
    /// Events of the session numbered above `after`, oldest first, at most [`SHARED_EVENTS`].
    async fn read(&self, session: &str, after: u64) -> Result<Vec<SharedEvent>, SessionError>;
    /// A client has seen events up to `seen` (a resuming stream; 0 for a new one): later
    /// events are numbered above it. Returns the number of the latest event so far.
    async fn resume(&self, session: &str, seen: u64) -> Result<u64, SessionError>;
    /// Takes or renews, for `ttl`, the right to relay the session's backend GET streams (one
    /// replica at a time: a backend gives its events to one stream); false while another
    /// replica holds it.
    async fn lease(&self, session: &str, ttl: Duration) -> Result<bool, SessionError>;
    /// Gives the lease up if this replica holds it, and says so ([`Signal::Released`]).
    async fn release(&self, session: &str) -> Result<(), SessionError>;
    /// Tells every replica (this one included).
    async fn signal(&self, signal: Signal) -> Result<(), SessionError>;
    /// Signals from every replica, from now on (the subscription starts on first call).
    fn signals(&self) -> broadcast::Receiver<Signal>;
    /// Forgets the session's outbox (it ended).
    async fn remove(&self, session: &str) -> Result<(), SessionError>;
}

/// The key of a backend session's GET stream among a gateway session's: its server and the
/// backend's session id (a new backend session starts a new stream).
pub fn backend_stream(server: &str, backend_session: Option<&str>) -> String {
    format!("{server}\n{}", backend_session.unwrap_or_default())
}

/// A signal as sent on the wire: fields separated by newlines (ids and server names hold none).
pub(crate) fn encode(signal: &Signal) -> Option<String> {
    Some(match signal {
        Signal::Wake(session) => format!("w\n{session}"),
        Signal::Opened {
            session,
            server,
            replica,
        } => format!("o\n{session}\n{server}\n{replica}"),
        Signal::Claimed { session, replica } => format!("c\n{session}\n{replica}"),
        Signal::Ended(session) => format!("e\n{session}"),
        Signal::Released(session) => format!("r\n{session}"),
        Signal::Resync => return None,
    })
}

/// A signal from the wire; `None` for anything else.
pub(crate) fn decode(text: &str) -> Option<Signal> {
    let mut parts = text.split('\n');
    let kind = parts.next()?;
    let mut next = || parts.next().map(Arc::<str>::from);
    Some(match kind {
        "w" => Signal::Wake(next()?),
        "o" => Signal::Opened {
            session: next()?,
            server: next()?,
            replica: next()?,
        },
        "c" => Signal::Claimed {
            session: next()?,
            replica: next()?,
        },
        "e" => Signal::Ended(next()?),
        "r" => Signal::Released(next()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_and_garbage_is_none() {
        let signals = [
            Signal::Wake("s1".into()),
            Signal::Opened {
                session: "s1".into(),
                server: "calc".into(),
                replica: "r1".into(),
            },
            Signal::Claimed {
                session: "s1".into(),
                replica: "r2".into(),
            },
            Signal::Ended("s1".into()),
            Signal::Released("s1".into()),
        ];
        for signal in signals {
            let text = encode(&signal).expect("sent on the wire");
            assert_eq!(decode(&text), Some(signal));
        }
        assert_eq!(encode(&Signal::Resync), None);
        for garbage in ["", "x\ns", "o\ns\ncalc", "c\ns"] {
            assert_eq!(decode(garbage), None, "{garbage:?}");
        }
    }
}
