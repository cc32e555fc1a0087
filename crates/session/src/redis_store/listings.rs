//! Backend listings shared on Redis (see [`SharedListings`]).
//!
//! Keys (under the store's prefix `P`):
//! - `P lister:<server>`: the replica listing the server (a lease, as `pump:<id>` is for
//!   a session's backend streams; renewed every discovery round).
//! - `P listing:<server>`: hash, `v` -> version of the listing, `l` -> the listing.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use super::{PREFIX, RedisStore, outbox, store};
use crate::{SessionError, SharedListings};

/// KEYS: lister:<server>. ARGV: replica. Gives the lease up if held.
const RESIGN: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// KEYS: listing:<server>. ARGV: known version. The version and listing when the version
/// is not the known one, else nothing.
const FETCH: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v or v == ARGV[1] then return {} end
return {v, redis.call('HGET', KEYS[1], 'l')}
";

/// Listings of the replicas on one Redis.
pub(crate) struct RedisListings {
    connection: ConnectionManager,
    replica: String,
    lease: Script,
    resign: Script,
    fetch: Script,
}

impl RedisListings {
    pub(crate) fn new(connection: ConnectionManager, replica: String) -> Self {
        Self {
            connection,
            replica,
            lease: Script::new(outbox::LEASE),
            resign: Script::new(RESIGN),
            fetch: Script::new(FETCH),
        }
    }

    fn lease_key(server: &str) -> String {
        format!("{PREFIX}lister:{server}")
    }

    fn listing_key(server: &str) -> String {
        format!("{PREFIX}listing:{server}")
    }
}

#[async_trait]
impl SharedListings for RedisListings {
    async fn lead(&self, server: &str, ttl: Duration) -> Result<bool, SessionError> {
        let mut connection = self.connection.clone();
        let held: i64 = self
            .lease
            .key(Self::lease_key(server))
            .arg(&self.replica)
            .arg(RedisStore::millis(ttl))
            .invoke_async(&mut connection)
            .await
            .map_err(store)?;
        Ok(held == 1)
    }

    async fn resign(&self, server: &str) -> Result<(), SessionError> {
        let mut connection = self.connection.clone();
        self.resign
            .key(Self::lease_key(server))
            .arg(&self.replica)
            .invoke_async::<i64>(&mut connection)
            .await
            .map(drop)
            .map_err(store)
    }

    async fn publish(
        &self,
        server: &str,
        version: &str,
        listing: &str,
        ttl: Duration,
    ) -> Result<(), SessionError> {
        let key = Self::listing_key(server);
        let mut connection = self.connection.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &[("v", version), ("l", listing)])
            .ignore()
            .pexpire(
                &key,
                i64::try_from(RedisStore::millis(ttl)).unwrap_or(i64::MAX),
            )
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(store)
    }

    async fn keep(&self, server: &str, ttl: Duration) -> Result<bool, SessionError> {
        let mut connection = self.connection.clone();
        redis::cmd("PEXPIRE")
            .arg(Self::listing_key(server))
            .arg(RedisStore::millis(ttl))
            .query_async::<i64>(&mut connection)
            .await
            .map(|kept| kept == 1)
            .map_err(store)
    }

    async fn fetch(
        &self,
        server: &str,
        known: &str,
    ) -> Result<Option<(String, String)>, SessionError> {
        let mut connection = self.connection.clone();
        let found: Vec<String> = self
            .fetch
            .key(Self::listing_key(server))
            .arg(known)
            .invoke_async(&mut connection)
            .await
            .map_err(store)?;
        let mut found = found.into_iter();
        Ok(match (found.next(), found.next()) {
            (Some(version), Some(listing)) => Some((version, listing)),
            _ => None,
        })
    }
}
