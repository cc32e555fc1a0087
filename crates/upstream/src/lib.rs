//! A small MCP streamable-HTTP client (protocol revisions 2025-03-26,
//! 2025-06-18 and 2025-11-25 with sessions, 2026-07-28 without: see `modern`) that the gateway uses to talk to backend MCP
//! servers: the broker's upstream managers (own session, paginated lists,
//! health pings) and the router (a backend session per client session, opened
//! with that client's capabilities and protocol version).
//!
//! Every exchange is bounded by the client's timeout. Answers may be JSON or
//! an event stream; messages the backend sends on a stream before the
//! response (notifications, server-to-client requests) are skipped for now.

mod call;
mod client;
mod error;
mod listen;
mod message;
mod modern;
mod session;
pub mod sse;
mod transport;

pub use call::{Call, Forwarded};
pub use client::{MAX_PAGES, UpstreamClient};
pub use error::UpstreamError;
pub use listen::Listener;
pub use modern::{Discovered, MCP_METHOD_HEADER};
pub use session::{BackendSession, InitOptions, PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER};

/// Installs rustls' ring crypto provider as the process default, once.
/// Harmless when called again or when another provider is already installed.
/// [`UpstreamClient::new`] calls it; call it yourself before building other
/// rustls clients.
pub fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err only means a provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
