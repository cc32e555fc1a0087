//! Errors raised while setting up or running the conformance fixture server.

use std::{io, net::SocketAddr};

/// Everything that can stop the fixture server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The MCP endpoint path cannot be served.
    #[error("invalid MCP path {path:?}: {reason}")]
    InvalidPath {
        /// The rejected path.
        path: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying socket error.
        source: io::Error,
    },
    /// The HTTP server stopped with an I/O error.
    #[error("HTTP server failed: {0}")]
    Serve(#[source] io::Error),
}
