//! The shared outbox on Redis: one stream per session, numbered by a counter, and one
//! pub/sub channel for the signals replicas send each other.
//!
//! Keys (under the store's prefix `P`):
//! - `P o:<id>`: stream of the session's events, entry ids `<n>-0` (`n` is the SSE id's
//!   number), capped at [`SHARED_EVENTS`] entries; `P on:<id>`: the counter. Both expire
//!   [`OUTBOX_TTL`] after the last event or the last read of an open stream, and go with
//!   the session. `P bs:<id>`: hash, backend
//!   stream (`backend_stream`) -> the last event id relayed from it, written with the event.
//! - `P pump:<id>`: the replica relaying the session's backend GET streams (a lease).
//!   Backend listings use the same lease (see `listings.rs`).
//! - `P signals`: the channel. A signal missed (the subscription dropped) is made up for by
//!   [`Signal::Resync`] and by streams reading their outbox every so often.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use redis::{Client, Script};
use tokio::sync::broadcast;
use tracing::debug;

use super::{PREFIX, store};
use crate::SessionError;
use crate::outbox::{
    MAX_EVENT_NUMBER, SHARED_EVENTS, SharedEvent, SharedOutbox, Signal, decode, encode,
};

/// How long a session's outbox outlives its last event.
pub(crate) const OUTBOX_TTL: Duration = Duration::from_secs(600);
/// Wait before subscribing again after the subscription failed.
const RESUBSCRIBE: Duration = Duration::from_millis(500);

/// KEYS: o:<id>, on:<id>, bs:<id>. ARGV: message, max entries, ttl ms, channel, wake signal,
/// backend stream (empty: none), its event id.
const PUSH: &str = r"
local n = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], string.format('%d-0', n), 'm', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return n
";

/// KEYS: on:<id>. ARGV: seen, ttl ms. Raises the counter to `seen`; returns the counter.
const RESUME: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local seen = tonumber(ARGV[1])
if seen > n then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return seen
end
return n
";

/// KEYS: the lease (`pump:<id>`, `lister:<server>`). ARGV: replica, ttl ms. Takes or
/// renews the lease; 1 when held.
pub(super) const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// KEYS: pump:<id>. ARGV: replica, channel, released signal. Gives the lease up if held.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
";

/// GET-stream events of sessions in Redis, shared by every replica on it.
pub(crate) struct RedisOutbox {
    client: Client,
    connection: ConnectionManager,
    push: Script,
    resume: Script,
    lease: Script,
    release: Script,
    channel: String,
    replica: String,
    signals: broadcast::Sender<Signal>,
    listening: OnceLock<()>,
}

impl RedisOutbox {
    pub(crate) fn new(client: Client, connection: ConnectionManager) -> Self {
        let mut id = [0u8; 9];
        rand::fill(&mut id);
        Self {
            client,
            connection,
            push: Script::new(PUSH),
            resume: Script::new(RESUME),
            lease: Script::new(LEASE),
            release: Script::new(RELEASE),
            channel: format!("{PREFIX}signals"),
            replica: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id),
            signals: broadcast::channel(4096).0,
            listening: OnceLock::new(),
        }
    }

    fn stream_key(session: &str) -> String {
        format!("{PREFIX}o:{session}")
    }

    fn counter_key(session: &str) -> String {
        format!("{PREFIX}on:{session}")
    }

    fn positions_key(session: &str) -> String {
        format!("{PREFIX}bs:{session}")
    }

    fn lease_key(session: &str) -> String {
        format!("{PREFIX}pump:{session}")
    }

    fn ttl() -> String {
        OUTBOX_TTL.as_millis().to_string()
    }
}

/// Relays the channel's signals to `signals` until the process ends, subscribing again
/// (and sending [`Signal::Resync`]) whenever the subscription drops.
async fn listen(client: Client, channel: String, signals: broadcast::Sender<Signal>) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    let _ = signals.send(Signal::Resync);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(text) = message.get_payload::<String>() else {
                            continue;
                        };
                        if let Some(signal) = decode(&text) {
                            let _ = signals.send(signal);
                        }
                    }
                    debug!("the outbox signal subscription ended");
                }
                Err(e) => debug!(error = %e, "subscribing to outbox signals"),
            },
            Err(e) => debug!(error = %e, "connecting for outbox signals"),
        }
        tokio::time::sleep(RESUBSCRIBE).await;
    }
}

#[async_trait]
impl SharedOutbox for RedisOutbox {
    fn replica(&self) -> &str {
        &self.replica
    }

    async fn push(
        &self,
        session: &str,
        message: &str,
        backend: Option<(&str, &str)>,
    ) -> Result<u64, SessionError> {
        let wake = encode(&Signal::Wake(Arc::from(session))).unwrap_or_default();
        let (stream, position) = backend.unwrap_or_default();
        let mut invocation = self.push.prepare_invoke();
        invocation
            .key(Self::stream_key(session))
            .key(Self::counter_key(session))
            .key(Self::positions_key(session))
            .arg(message)
            .arg(SHARED_EVENTS)
            .arg(Self::ttl())
            .arg(&self.channel)
            .arg(wake)
            .arg(stream)
            .arg(position);
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store)
    }

    async fn read(&self, session: &str, after: u64) -> Result<Vec<SharedEvent>, SessionError> {
        let start = format!("{}-0", after.saturating_add(1));
        let mut connection = self.connection.clone();
        // A stream that reads keeps its outbox alive: were the counter to expire while the
        // stream waits (a quiet session), numbering would restart at 1, under the stream's
        // cursor, and it would miss every later event.
        let (stream, counter) = (Self::stream_key(session), Self::counter_key(session));
        let (entries,): (Vec<(String, Vec<(String, String)>)>,) = redis::pipe()
            .cmd("XRANGE")
            .arg(&stream)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(SHARED_EVENTS)
            .cmd("PEXPIRE")
            .arg(&stream)
            .arg(Self::ttl())
            .ignore()
            .cmd("PEXPIRE")
            .arg(&counter)
            .arg(Self::ttl())
            .ignore()
            .query_async(&mut connection)
            .await
            .map_err(store)?;
        Ok(entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let number = id.split_once('-')?.0.parse().ok()?;
                let message = fields.into_iter().find(|(name, _)| name == "m")?.1;
                Some((number, message))
            })
            .collect())
    }

    async fn backend_position(
        &self,
        session: &str,
        stream: &str,
    ) -> Result<Option<String>, SessionError> {
        let mut connection = self.connection.clone();
        redis::cmd("HGET")
            .arg(Self::positions_key(session))
            .arg(stream)
            .query_async(&mut connection)
            .await
            .map_err(store)
    }

    async fn resume(&self, session: &str, seen: u64) -> Result<u64, SessionError> {
        let mut invocation = self.resume.prepare_invoke();
        invocation
            .key(Self::counter_key(session))
            .arg(seen.min(MAX_EVENT_NUMBER))
            .arg(Self::ttl());
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store)
    }

    async fn lease(&self, session: &str, ttl: Duration) -> Result<bool, SessionError> {
        let mut invocation = self.lease.prepare_invoke();
        invocation
            .key(Self::lease_key(session))
            .arg(&self.replica)
            .arg(ttl.as_millis().to_string());
        let mut connection = self.connection.clone();
        let held: i64 = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store)?;
        Ok(held == 1)
    }

    async fn release(&self, session: &str) -> Result<(), SessionError> {
        let released = encode(&Signal::Released(Arc::from(session))).unwrap_or_default();
        let mut invocation = self.release.prepare_invoke();
        invocation
            .key(Self::lease_key(session))
            .arg(&self.replica)
            .arg(&self.channel)
            .arg(released);
        let mut connection = self.connection.clone();
        invocation
            .invoke_async::<i64>(&mut connection)
            .await
            .map(drop)
            .map_err(store)
    }

    async fn signal(&self, signal: Signal) -> Result<(), SessionError> {
        let Some(text) = encode(&signal) else {
            return Ok(());
        };
        let mut connection = self.connection.clone();
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(text)
            .query_async::<i64>(&mut connection)
            .await
            .map(drop)
            .map_err(store)
    }

    fn signals(&self) -> broadcast::Receiver<Signal> {
        let receiver = self.signals.subscribe();
        self.listening.get_or_init(|| {
            tokio::spawn(listen(
                self.client.clone(),
                self.channel.clone(),
                self.signals.clone(),
            ));
        });
        receiver
    }

    async fn remove(&self, session: &str) -> Result<(), SessionError> {
        let mut connection = self.connection.clone();
        redis::cmd("DEL")
            .arg(Self::stream_key(session))
            .arg(Self::counter_key(session))
            .arg(Self::positions_key(session))
            .query_async::<i64>(&mut connection)
            .await
            .map(drop)
            .map_err(store)
    }
}
