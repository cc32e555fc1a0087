//! A [`SessionStore`] in Redis, shared by every gateway replica pointed at it.
//!
//! Each operation is one Lua script: one round trip, atomic, timed by the Redis server's
//! clock (see `scripts.rs` for the keys). The hot path ([`SessionStore::lookup`]) is one
//! round trip that checks the session is live, refreshes its idle deadline and returns
//! the backend session asked for. Records never change once written, so each replica
//! caches them and asks Redis only for the record of a session it has not seen lately;
//! backend sessions are always read from Redis (they are replaced when a backend loses
//! one, on any replica), in the same round trip.

mod codec;
mod listings;
mod outbox;
mod scripts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mcp_gateway_upstream::BackendSession;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, Script};

use crate::{
    RemovedSession, SessionError, SessionRecord, SessionStore, SharedListings, SharedOutbox,
    StoreLimits,
};
use codec::{decode_backend, decode_record, encode_backend, encode_record, unix_ms};
use scripts::Scripts;

/// Prefix of every key the store writes.
const PREFIX: &str = "mcpgw:";
/// Prefix of a backend session's field in a session's hash.
const BACKEND_FIELD: &str = "b:";
/// How long a session's data outlives its deadline, so that a sweep can still end its
/// backend sessions (several sweeps happen in that time).
const GRACE: Duration = Duration::from_secs(300);
/// Ended sessions taken out per sweep round trip.
const SWEEP_BATCH: usize = 256;
/// How long one Redis command may take before the request fails (503).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A record cached by this replica, with when it was cached (entries unused for the idle
/// timeout are dropped by the sweep, so the cache holds recently seen sessions only).
struct Cached {
    record: Arc<SessionRecord>,
    seen: Instant,
}

/// Sessions in Redis. Cheap to share: one multiplexed connection, re-established in the
/// background after Redis restarts; while Redis cannot be reached every operation fails
/// with [`SessionError::Store`] (the gateway answers 503) and none panics.
pub struct RedisStore {
    connection: ConnectionManager,
    scripts: Scripts,
    limits: StoreLimits,
    records: papaya::HashMap<String, Cached>,
    sessions_key: String,
    outbox: Arc<outbox::RedisOutbox>,
    listings: Arc<listings::RedisListings>,
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host:port[/db]` or
    /// `redis+unix:///path`). Does not connect yet: a gateway started before its Redis
    /// serves as soon as Redis answers.
    pub fn open(url: &str, limits: StoreLimits) -> Result<Self, SessionError> {
        let client = Client::open(url).map_err(|e| {
            SessionError::Store(format!("session store URL {:?}: {e}", redact(url)))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(store)?;
        let outbox = outbox::RedisOutbox::new(client, connection.clone());
        let listings =
            listings::RedisListings::new(connection.clone(), outbox.replica().to_owned());
        Ok(Self {
            outbox: Arc::new(outbox),
            listings: Arc::new(listings),
            connection,
            scripts: Scripts::new(),
            limits,
            records: papaya::HashMap::new(),
            sessions_key: format!("{PREFIX}sessions"),
        })
    }

    /// Checks that Redis answers (`PING`).
    pub async fn ping(&self) -> Result<(), SessionError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
            .map_err(store)
    }

    fn session_key(id: &str) -> String {
        format!("{PREFIX}s:{id}")
    }

    fn server_key(server: &str) -> String {
        format!("{PREFIX}srv:{server}")
    }

    fn millis(duration: Duration) -> u64 {
        u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
    }

    /// How much idle time a session may gain before its deadline is written again: as in
    /// the memory store, a second or a quarter of the idle timeout.
    fn touch_every(&self) -> Duration {
        (self.limits.idle_timeout / 4).min(Duration::from_secs(1))
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, SessionError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store)
    }

    /// The live session's record and the backend fields asked for (`field`: one
    /// `b:<server>`, `*` for all, empty for none), as one round trip; `None` when the
    /// session is not live.
    async fn fetch(
        &self,
        id: &str,
        field: &str,
    ) -> Result<Option<(Arc<SessionRecord>, Vec<String>)>, SessionError> {
        let cached = self.records.pin().get(id).map(|c| c.record.clone());
        let idle = Self::millis(self.limits.idle_timeout).to_string();
        let grace = Self::millis(GRACE).to_string();
        let touch = Self::millis(self.touch_every()).to_string();
        let want = if cached.is_some() { "0" } else { "1" };
        let key = Self::session_key(id);
        let reply: Option<Vec<String>> = self
            .run(
                &self.scripts.lookup,
                &[&self.sessions_key, &key],
                &[id, &idle, &grace, &touch, want, field],
            )
            .await?;
        let Some(mut reply) = reply else {
            self.records.pin().remove(id);
            return Ok(None);
        };
        let fields = reply.split_off(1.min(reply.len()));
        let record = match cached {
            Some(record) => record,
            None => {
                let Some(text) = reply.first().filter(|t| !t.is_empty()) else {
                    return Ok(None);
                };
                let record = Arc::new(decode_record(text)?);
                self.records.pin().insert(
                    id.to_owned(),
                    Cached {
                        record: record.clone(),
                        seen: Instant::now(),
                    },
                );
                record
            }
        };
        Ok(Some((record, fields)))
    }

    /// Takes the session out of Redis; `live_only` leaves an ended one to the sweep.
    async fn take(
        &self,
        id: &str,
        live_only: bool,
    ) -> Result<Option<RemovedSession>, SessionError> {
        self.records.pin().remove(id);
        let key = Self::session_key(id);
        let reply: Option<Vec<String>> = self
            .run(
                &self.scripts.remove,
                &[&self.sessions_key, &key],
                &[id, PREFIX, if live_only { "1" } else { "0" }],
            )
            .await?;
        let Some(hash) = reply else { return Ok(None) };
        let mut record = None;
        let mut backends = Vec::new();
        for pair in hash.chunks_exact(2) {
            let (field, value) = (&pair[0], &pair[1]);
            if field == "r" {
                record = Some(decode_record(value)?);
            } else if let Some(server) = field.strip_prefix(BACKEND_FIELD) {
                backends.push((server.to_owned(), Arc::new(decode_backend(value)?)));
            }
        }
        Ok(record.map(|record| RemovedSession {
            record: Arc::new(record),
            backends,
        }))
    }
}

/// Backend sessions from a `field, value, ...` list.
fn backends(fields: &[String]) -> Result<Vec<(String, Arc<BackendSession>)>, SessionError> {
    fields
        .chunks_exact(2)
        .filter_map(|pair| {
            let server = pair[0].strip_prefix(BACKEND_FIELD)?;
            Some(decode_backend(&pair[1]).map(|b| (server.to_owned(), Arc::new(b))))
        })
        .collect()
}

fn store(error: RedisError) -> SessionError {
    SessionError::Store(format!("Redis: {error}"))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    fn shared_outbox(&self) -> Option<Arc<dyn SharedOutbox>> {
        Some(self.outbox.clone())
    }

    fn shared_listings(&self) -> Option<Arc<dyn SharedListings>> {
        Some(self.listings.clone())
    }

    async fn ready(&self) -> Result<(), SessionError> {
        self.ping().await
    }

    async fn insert(&self, id: &str, record: SessionRecord) -> Result<(), SessionError> {
        let text = encode_record(&record)?;
        let max = self.limits.max_sessions;
        let key = Self::session_key(id);
        let inserted: i64 = self
            .run(
                &self.scripts.insert,
                &[&self.sessions_key, &key],
                &[
                    id,
                    &max.to_string(),
                    &Self::millis(self.limits.idle_timeout).to_string(),
                    &Self::millis(GRACE).to_string(),
                    &unix_ms(record.expires).to_string(),
                    &text,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(SessionError::Full { max });
        }
        self.records.pin().insert(
            id.to_owned(),
            Cached {
                record: Arc::new(record),
                seen: Instant::now(),
            },
        );
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, SessionError> {
        Ok(self.fetch(id, "").await?.map(|(record, _)| record))
    }

    async fn touch(&self, id: &str) -> Result<bool, SessionError> {
        Ok(self.fetch(id, "").await?.is_some())
    }

    async fn sweep(&self) -> Result<Vec<(String, RemovedSession)>, SessionError> {
        let idle = self.limits.idle_timeout;
        self.records.pin().retain(|_, c| c.seen.elapsed() < idle);
        let mut swept = Vec::new();
        loop {
            let batch = SWEEP_BATCH.to_string();
            let ended: Vec<String> = self
                .run(&self.scripts.ended, &[&self.sessions_key], &[&batch])
                .await?;
            let full = ended.len() == SWEEP_BATCH;
            for id in ended {
                // Another replica may take it first; only one gets its backends.
                if let Some(removed) = self.take(&id, false).await? {
                    swept.push((id, removed));
                }
            }
            if !full {
                return Ok(swept);
            }
        }
    }

    async fn lookup(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<(Arc<SessionRecord>, Option<Arc<BackendSession>>)>, SessionError> {
        let field = format!("{BACKEND_FIELD}{server}");
        let Some((record, fields)) = self.fetch(id, &field).await? else {
            return Ok(None);
        };
        let backend = backends(&fields)?.pop().map(|(_, b)| b);
        Ok(Some((record, backend)))
    }

    async fn set_backend(
        &self,
        id: &str,
        server: &str,
        backend: Arc<BackendSession>,
    ) -> Result<(), SessionError> {
        let text = encode_backend(&backend)?;
        let field = format!("{BACKEND_FIELD}{server}");
        let _: i64 = self
            .run(
                &self.scripts.set_backend,
                &[&Self::session_key(id), &Self::server_key(server)],
                &[id, &field, &text],
            )
            .await?;
        Ok(())
    }

    async fn remove_backend(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<Arc<BackendSession>>, SessionError> {
        let field = format!("{BACKEND_FIELD}{server}");
        let old: Option<String> = self
            .run(
                &self.scripts.remove_backend,
                &[&Self::session_key(id), &Self::server_key(server)],
                &[id, &field],
            )
            .await?;
        old.map(|text| decode_backend(&text).map(Arc::new))
            .transpose()
    }

    async fn remove(&self, id: &str) -> Result<Option<RemovedSession>, SessionError> {
        self.take(id, true).await
    }

    async fn forget_server(&self, server: &str) -> Result<usize, SessionError> {
        let field = format!("{BACKEND_FIELD}{server}");
        let forgotten: usize = self
            .run(
                &self.scripts.forget_server,
                &[&Self::server_key(server)],
                &[PREFIX, &field],
            )
            .await?;
        Ok(forgotten)
    }

    async fn count(&self) -> Result<usize, SessionError> {
        let mut connection = self.connection.clone();
        redis::cmd("ZCARD")
            .arg(&self.sessions_key)
            .query_async(&mut connection)
            .await
            .map_err(store)
    }

    async fn backends(
        &self,
        id: &str,
    ) -> Result<Option<Vec<(String, Arc<BackendSession>)>>, SessionError> {
        match self.fetch(id, "*").await? {
            Some((_, fields)) => backends(&fields).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
