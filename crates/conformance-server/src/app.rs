//! HTTP wiring: the streamable-HTTP MCP endpoint, binding and graceful shutdown.

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use mcp_gateway_example_servers::Error;
use mcp_gateway_example_servers::serving::{Bound, HostPolicy, streamable_config, validate_path};
use rmcp::transport::streamable_http_server::StreamableHttpService;
use tokio_util::sync::CancellationToken;

use crate::{server::Fixture, sessions::Sessions};

/// How to serve the fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Path of the MCP endpoint, e.g. `/mcp`.
    pub path: String,
    /// Accepted `Host` headers.
    pub hosts: HostPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            path: "/mcp".to_owned(),
            hosts: HostPolicy::default(),
        }
    }
}

/// The router of the fixture: streamable HTTP MCP at `options.path`, stateful,
/// sessions in memory, SSE priming events and resumable streams.
///
/// Cancelling `shutdown` ends every MCP session, which closes their streams.
pub fn app(options: &Options, shutdown: CancellationToken) -> Result<Router, Error> {
    validate_path(&options.path, &[])?;
    let config = streamable_config(&options.hosts, shutdown);
    let sessions = Arc::new(Sessions::default());
    let factory = {
        let sessions = sessions.clone();
        move || Ok(Fixture::new(sessions.clone()))
    };
    Ok(Router::new().route_service(
        &options.path,
        StreamableHttpService::new(factory, sessions, config),
    ))
}

/// The fixture server bound to its address and ready to serve.
#[derive(Debug)]
pub struct ConformanceServer(Bound);

impl ConformanceServer {
    /// Builds the server and binds `addr` (use port 0 for a free port).
    pub async fn bind(addr: SocketAddr, options: Options) -> Result<Self, Error> {
        let shutdown = CancellationToken::new();
        let router = app(&options, shutdown.clone())?;
        Ok(Self(
            Bound::bind(addr, router, options.path, shutdown).await?,
        ))
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// URL of the MCP endpoint, e.g. `http://127.0.0.1:40123/mcp`.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// The bound server, to serve ([`Bound::serve`]).
    pub fn into_bound(self) -> Bound {
        self.0
    }

    /// Serves until `signal` completes, then ends all MCP sessions and waits
    /// up to a short grace period for open connections to finish.
    pub async fn serve(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.0.serve(signal).await
    }
}
