//! Backend listings shared by replicas, so that N replicas do not list every backend N times.

use std::time::Duration;

use async_trait::async_trait;

use crate::SessionError;

/// One replica per backend lists it (the one holding the backend's lease) and publishes
/// what it found; the other replicas read the published listing instead of listing.
#[async_trait]
pub trait SharedListings: Send + Sync {
    /// Takes or renews this replica's lease on listing `server` for `ttl`; `true` when this
    /// replica holds it.
    async fn lead(&self, server: &str, ttl: Duration) -> Result<bool, SessionError>;
    /// Gives the lease on `server` up if this replica holds it (another takes over at once).
    async fn resign(&self, server: &str) -> Result<(), SessionError>;
    /// Publishes `server`'s listing (opaque text) as `version`, kept for `ttl`.
    async fn publish(
        &self,
        server: &str,
        version: &str,
        listing: &str,
        ttl: Duration,
    ) -> Result<(), SessionError>;
    /// Keeps `server`'s published listing, unchanged, for `ttl` more; `false` when none is
    /// published (it expired, or Redis lost it): publish it again.
    async fn keep(&self, server: &str, ttl: Duration) -> Result<bool, SessionError>;
    /// `server`'s published listing as `(version, listing)` when its version is not
    /// `known`; `None` when it is, or when none is published.
    async fn fetch(
        &self,
        server: &str,
        known: &str,
    ) -> Result<Option<(String, String)>, SessionError>;
}
