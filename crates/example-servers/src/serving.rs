//! What every test MCP server of the workspace shares (the example servers here and the
//! conformance fixture): the streamable-HTTP settings, path checks, binding, graceful
//! shutdown, and the command line and start-up line of their binaries.

use std::{future::IntoFuture, io::Write, net::SocketAddr, time::Duration};

use anyhow::Context;
use axum::Router;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::error::Error;

/// How long open connections may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Which `Host` and `Origin` headers the MCP endpoint accepts (DNS-rebinding protection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// Loopback names (`localhost`, `127.0.0.1`, `::1`) plus these hosts or
    /// `host:port` authorities; an `Origin`, when sent, must name one of them too.
    Loopback(Vec<String>),
    /// Any host and origin: needed behind a proxy that sets `Host` to a virtual name (and
    /// checks origins itself, as the gateway does).
    Any,
}

/// Origins of the loopback names, any port.
const LOOPBACK_ORIGINS: [&str; 6] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://[::1]:*",
];

impl Default for HostPolicy {
    fn default() -> Self {
        Self::Loopback(Vec::new())
    }
}

/// rmcp's streamable-HTTP settings for `hosts`; cancelling `shutdown` ends every session.
pub fn streamable_config(
    hosts: &HostPolicy,
    shutdown: CancellationToken,
) -> StreamableHttpServerConfig {
    let config = StreamableHttpServerConfig::default().with_cancellation_token(shutdown);
    match hosts {
        HostPolicy::Any => config.disable_allowed_hosts(),
        HostPolicy::Loopback(extra) => {
            let hosts = config
                .allowed_hosts
                .iter()
                .chain(extra)
                .cloned()
                .collect::<Vec<_>>();
            // An extra `host` allows it on any port, a `host:port` on that port only.
            let origins = LOOPBACK_ORIGINS
                .iter()
                .map(|origin| (*origin).to_owned())
                .chain(extra.iter().flat_map(|host| {
                    let authority = if host.contains(':') {
                        host.clone()
                    } else {
                        format!("{host}:*")
                    };
                    [
                        format!("http://{authority}"),
                        format!("https://{authority}"),
                    ]
                }))
                .collect::<Vec<_>>();
            config
                .with_allowed_hosts(hosts)
                .with_allowed_origins(origins)
                .enforce_origin_validation()
        }
    }
}

/// Rejects MCP endpoint paths axum cannot route verbatim, and the server's `reserved` paths.
pub fn validate_path(path: &str, reserved: &[&str]) -> Result<(), Error> {
    let invalid = |reason| {
        Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if !path.starts_with('/') {
        return invalid("it must start with '/'");
    }
    if reserved.contains(&path) {
        return invalid("it is taken by another endpoint of the server");
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

/// A server's router bound to its address and ready to serve.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    path: String,
    shutdown: CancellationToken,
}

impl Bound {
    /// Binds `addr` (port 0 for a free port) for `router`, whose MCP endpoint is at `path` and
    /// whose sessions end when `shutdown` is cancelled.
    pub async fn bind(
        addr: SocketAddr,
        router: Router,
        path: String,
        shutdown: CancellationToken,
    ) -> Result<Self, Error> {
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
            path,
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

/// The command-line flags every server binary has.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Path of the MCP endpoint.
    #[arg(long, default_value = "/mcp")]
    pub path: String,
    /// Extra `Host` header value (host or host:port) to accept besides loopback; repeatable.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Accept any `Host` header (e.g. behind Envoy routing by virtual host names).
    #[arg(long, conflicts_with = "allowed_hosts")]
    pub allow_any_host: bool,
}

impl ServeArgs {
    /// The `Host` headers these flags accept.
    pub fn hosts(&self) -> HostPolicy {
        if self.allow_any_host {
            HostPolicy::Any
        } else {
            HostPolicy::Loopback(self.allowed_hosts.clone())
        }
    }
}

/// Runs a server binary's life after its flags are parsed: logs to stderr (`RUST_LOG`,
/// default `warn`), prints exactly one line to stdout once bound,
/// `listening on http://<addr><path>`, and serves until Ctrl-C or SIGTERM.
pub async fn run(server: Bound) -> anyhow::Result<()> {
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", server.url()).context("writing to stdout")?;
        stdout.flush().context("flushing stdout")?;
    }
    server.serve(shutdown_signal()).await?;
    Ok(())
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_paths() {
        for good in ["/mcp", "/", "/a/b-c_d.e~f"] {
            assert!(validate_path(good, &["/stats"]).is_ok(), "{good}");
        }
        for bad in ["mcp", "", "/stats", "/{id}", "/*rest", "/a//b", "/a b"] {
            assert!(validate_path(bad, &["/stats"]).is_err(), "{bad}");
        }
    }
}
