//! HTTP wiring: the streamable-HTTP MCP endpoint, binding and graceful shutdown.

use std::{future::IntoFuture, net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{error::Error, server::Fixture, sessions::Sessions};

/// How long open connections may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Which `Host` headers the MCP endpoint accepts (DNS-rebinding protection,
/// which the `dns-rebinding-protection` scenario checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// Loopback names (`localhost`, `127.0.0.1`, `::1`) plus these hosts or
    /// `host:port` authorities.
    Loopback(Vec<String>),
    /// Any host: needed behind a proxy that sets `Host` to a virtual name.
    Any,
}

impl Default for HostPolicy {
    fn default() -> Self {
        Self::Loopback(Vec::new())
    }
}

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
    validate_path(&options.path)?;
    let mut config = StreamableHttpServerConfig::default().with_cancellation_token(shutdown);
    config = match &options.hosts {
        HostPolicy::Any => config.disable_allowed_hosts(),
        HostPolicy::Loopback(extra) => {
            let hosts = config
                .allowed_hosts
                .iter()
                .chain(extra)
                .cloned()
                .collect::<Vec<_>>();
            config.with_allowed_hosts(hosts)
        }
    };
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

/// Rejects paths axum cannot route verbatim.
fn validate_path(path: &str) -> Result<(), Error> {
    let invalid = |reason| {
        Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if !path.starts_with('/') {
        return invalid("it must start with '/'");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/-._~".contains(c);
    if !path.chars().all(allowed) {
        return invalid("only letters, digits and '/-._~' are allowed");
    }
    if path.contains("//") {
        return invalid("it must not contain an empty segment");
    }
    Ok(())
}

/// The fixture server bound to its address and ready to serve.
#[derive(Debug)]
pub struct ConformanceServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    path: String,
    shutdown: CancellationToken,
}

impl ConformanceServer {
    /// Builds the server and binds `addr` (use port 0 for a free port).
    pub async fn bind(addr: SocketAddr, options: Options) -> Result<Self, Error> {
        let shutdown = CancellationToken::new();
        let router = app(&options, shutdown.clone())?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        Ok(Self {
            listener,
            local_addr,
            router,
            path: options.path,
            shutdown,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// URL of the MCP endpoint, e.g. `http://127.0.0.1:40123/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.local_addr, self.path)
    }

    /// Serves until `signal` completes, then ends all MCP sessions and waits
    /// up to a short grace period for open connections to finish.
    pub async fn serve(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let shutdown = self.shutdown;
        let stopping = shutdown.clone();
        let serving = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                signal.await;
                stopping.cancel();
            })
            .into_future();
        tokio::select! {
            result = serving => result.map_err(Error::Serve),
            () = async {
                shutdown.cancelled().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_paths() {
        for good in ["/mcp", "/", "/a/b-c_d.e~f"] {
            assert!(validate_path(good).is_ok(), "{good}");
        }
        for bad in ["mcp", "", "/{id}", "/*rest", "/a//b", "/a b"] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }
}
