//! Gateway sessions: the ids the gateway hands to clients and what it remembers about each.
//!
//! A client only ever sees the gateway's own `Mcp-Session-Id` ([`SessionIds`]); the store
//! ([`SessionStore`]: [`MemoryStore`] by default, [`RedisStore`] for replicas sharing sessions)
//! maps it to the client's declared capabilities and to the backend sessions the gateway
//! opened on the client's behalf. Backend sessions are
//! created lazily and exactly once per (gateway session, backend) by [`SingleFlight`].

mod backends;
mod client;
mod error;
mod flight;
mod id;
mod listings;
mod memory;
mod outbox;
mod redis_store;
mod store;

pub use backends::{BackendSessions, OpenError, Opened};
pub use client::{ClientDeclaration, ClientLimits};
pub use error::{DeclarationError, SessionError};
pub use flight::SingleFlight;
pub use id::{SessionIds, SessionKey};
pub use listings::SharedListings;
pub use memory::{MemoryStore, StoreLimits};
pub use outbox::{
    MAX_EVENT_NUMBER, SHARED_EVENTS, SharedEvent, SharedOutbox, Signal, backend_stream,
};
pub use redis_store::RedisStore;
pub use store::{RemovedSession, SessionRecord, SessionStore};
