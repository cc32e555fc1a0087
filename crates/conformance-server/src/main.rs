//! `mcp-conformance-server`: runs the conformance fixture server over
//! streamable HTTP.
//!
//! Prints exactly one line to stdout once bound,
//! `listening on http://<addr><path>`; logs go to stderr.

use std::{io::Write, net::SocketAddr};

use anyhow::Context;
use clap::Parser;
use mcp_gateway_conformance_server::{ConformanceServer, HostPolicy, Options};
use tracing_subscriber::EnvFilter;

/// Runs the fixture MCP server of the official conformance suite.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Path of the MCP endpoint.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// Extra `Host` header value (host or host:port) to accept besides loopback; repeatable.
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// Accept any `Host` header (e.g. behind a proxy routing by virtual host names).
    /// The dns-rebinding-protection scenario fails with this.
    #[arg(long, conflicts_with = "allowed_hosts")]
    allow_any_host: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();

    let hosts = if args.allow_any_host {
        HostPolicy::Any
    } else {
        HostPolicy::Loopback(args.allowed_hosts)
    };
    let options = Options {
        path: args.path,
        hosts,
    };
    let server = ConformanceServer::bind(args.listen, options).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", server.url()).context("writing to stdout")?;
        stdout.flush().context("flushing stdout")?;
    }
    server.serve(shutdown_signal()).await?;
    Ok(())
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
