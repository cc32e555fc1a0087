//! HTTP wiring: the MCP endpoint, `GET /stats`, binding and graceful shutdown.

use std::{net::SocketAddr, num::NonZeroUsize, sync::Arc};

use axum::{Json, Router, extract::State, routing::get};
use rmcp::transport::streamable_http_server::{
    StreamableHttpService, session::local::LocalSessionManager,
};
use tokio_util::sync::CancellationToken;

use crate::{
    calc::{self, Calc},
    error::Error,
    pagination::Pager,
    serving::{Bound, HostPolicy, streamable_config, validate_path},
    shared::Shared,
    stats::{Stats, StatsSnapshot},
    text::{self, Text},
};

/// Path of the statistics endpoint.
const STATS_PATH: &str = "/stats";

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
    validate_path(&options.path, &[STATS_PATH])?;
    let config = streamable_config(&options.hosts, shutdown);
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
    let mcp = mcp.layer(axum::middleware::from_fn_with_state(
        stats.clone(),
        count_session_ends,
    ));
    Ok(mcp.merge(
        Router::new()
            .route(STATS_PATH, get(stats_handler))
            .with_state(stats),
    ))
}

/// Counts the `DELETE`s that end a session (for `/stats`).
async fn count_session_ends(
    State(stats): State<Arc<Stats>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let delete = request.method() == axum::http::Method::DELETE;
    let response = next.run(request).await;
    if delete && response.status().is_success() {
        stats.record_session_end();
    }
    response
}

async fn stats_handler(State(stats): State<Arc<Stats>>) -> Json<StatsSnapshot> {
    Json(stats.snapshot())
}

/// An example server bound to its address and ready to serve.
#[derive(Debug)]
pub struct ExampleServer {
    bound: Bound,
    stats: Arc<Stats>,
}

impl ExampleServer {
    /// Builds the server and binds `addr` (use port 0 for a free port).
    pub async fn bind(kind: ServerKind, addr: SocketAddr, options: Options) -> Result<Self, Error> {
        let stats = Arc::new(Stats::new(kind.name()));
        let shutdown = CancellationToken::new();
        let router = app(kind, stats.clone(), &options, shutdown.clone())?;
        let bound = Bound::bind(addr, router, options.path, shutdown).await?;
        Ok(Self { bound, stats })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local_addr()
    }

    /// URL of the MCP endpoint, e.g. `http://127.0.0.1:40123/mcp`.
    pub fn url(&self) -> String {
        self.bound.url()
    }

    /// The live counters also served at `GET /stats`.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// The bound server, to serve ([`Bound::serve`]).
    pub fn into_bound(self) -> Bound {
        self.bound
    }

    /// Serves until `signal` completes, then ends all MCP sessions and waits
    /// up to a short grace period for open connections to finish.
    pub async fn serve(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.bound.serve(signal).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
