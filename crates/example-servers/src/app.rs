//! HTTP wiring: the MCP endpoint, `GET /stats`, binding and graceful shutdown.

use std::{future::IntoFuture, net::SocketAddr, num::NonZeroUsize, sync::Arc, time::Duration};

use axum::{Json, Router, extract::State, routing::get};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    calc::{self, Calc},
    error::Error,
    pagination::Pager,
    shared::Shared,
    stats::{Stats, StatsSnapshot},
    text::{self, Text},
};

/// Path of the statistics endpoint.
const STATS_PATH: &str = "/stats";

/// How long open connections may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Which example server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerKind {
    /// Arithmetic tools.
    Calc,
    /// String tools and the current time.
    Text,
}

impl ServerKind {
    /// The server's name, as reported in `initialize`, `whoami` and `/stats`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Calc => calc::NAME,
            Self::Text => text::NAME,
        }
    }
}

/// Which `Host` headers the MCP endpoint accepts (DNS-rebinding protection).
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

/// How to serve an example server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Path of the MCP endpoint, e.g. `/mcp`.
    pub path: String,
    /// Accepted `Host` headers.
    pub hosts: HostPolicy,
    /// Items per page of the server's own lists (tools, prompts, resources,
    /// templates); `None` sends each list whole.
    pub page_size: Option<NonZeroUsize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            path: "/mcp".to_owned(),
            hosts: HostPolicy::default(),
            page_size: None,
        }
    }
}

/// The router of one example server: streamable HTTP MCP at `options.path`
/// (stateful, sessions kept in memory) and `GET /stats`.
///
/// Cancelling `shutdown` ends every MCP session, which closes their streams.
pub fn app(
    kind: ServerKind,
    stats: Arc<Stats>,
    options: &Options,
    shutdown: CancellationToken,
) -> Result<Router, Error> {
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
    let sessions = Arc::new(LocalSessionManager::default());
    let shared = Shared::new(stats.clone(), Pager::new(options.page_size));
    let mcp = match kind {
        ServerKind::Calc => Router::new().route_service(
            &options.path,
            StreamableHttpService::new(move || Ok(Calc::new(shared.clone())), sessions, config),
        ),
        ServerKind::Text => Router::new().route_service(
            &options.path,
            StreamableHttpService::new(move || Ok(Text::new(shared.clone())), sessions, config),
        ),
    };
    Ok(mcp.merge(
        Router::new()
            .route(STATS_PATH, get(stats_handler))
            .with_state(stats),
    ))
}

async fn stats_handler(State(stats): State<Arc<Stats>>) -> Json<StatsSnapshot> {
    Json(stats.snapshot())
}

/// Rejects paths axum cannot route verbatim or that clash with `/stats`.
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
    if path == STATS_PATH {
        return invalid("it is taken by the statistics endpoint");
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

/// An example server bound to its address and ready to serve.
#[derive(Debug)]
pub struct ExampleServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    stats: Arc<Stats>,
    path: String,
    shutdown: CancellationToken,
}

impl ExampleServer {
    /// Builds the server and binds `addr` (use port 0 for a free port).
    pub async fn bind(kind: ServerKind, addr: SocketAddr, options: Options) -> Result<Self, Error> {
        let stats = Arc::new(Stats::new(kind.name()));
        let shutdown = CancellationToken::new();
        let router = app(kind, stats.clone(), &options, shutdown.clone())?;
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
            stats,
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

    /// The live counters also served at `GET /stats`.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
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
        for bad in ["mcp", "", "/stats", "/{id}", "/*rest", "/a//b", "/a b"] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_valid_path_builds_a_router() {
        for path in ["/", "/mcp", "/deep/path/"] {
            let options = Options {
                path: path.to_owned(),
                hosts: HostPolicy::Any,
                page_size: NonZeroUsize::new(1),
            };
            let stats = Arc::new(Stats::new("calc"));
            assert!(app(ServerKind::Calc, stats, &options, CancellationToken::new()).is_ok());
        }
    }
}
