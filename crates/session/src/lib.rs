//! Gateway sessions: the ids the gateway hands to clients and what it remembers about each.
//!
//! A client only ever sees the gateway's own `Mcp-Session-Id` ([`SessionIds`]); the store
//! ([`SessionStore`], in memory by default) maps it to the client's declared capabilities and
//! to the backend sessions the gateway opened on the client's behalf. Backend sessions are
//! created lazily and exactly once per (gateway session, backend) by [`SingleFlight`].

mod backends;
mod client;
mod error;
mod flight;
mod id;
mod memory;
mod store;

pub use backends::{BackendSessions, OpenError, Opened};
pub use client::{ClientDeclaration, ClientLimits};
pub use error::{DeclarationError, SessionError};
pub use flight::SingleFlight;
pub use id::{SessionIds, SessionKey};
pub use memory::{MemoryStore, StoreLimits};
pub use store::{RemovedSession, SessionRecord, SessionStore};
