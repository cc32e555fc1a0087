//! `mcp-example-server`: runs one example MCP server over streamable HTTP.
//!
//! Prints exactly one line to stdout once bound,
//! `listening on http://<addr><path>`; logs go to stderr.

use std::{io::Write, net::SocketAddr, num::NonZeroUsize};

use anyhow::Context;
use clap::Parser;
use mcp_gateway_example_servers::{ExampleServer, HostPolicy, Options, ServerKind};
use tracing_subscriber::EnvFilter;

/// Runs an example MCP server (streamable HTTP, with sessions).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Which server to run.
    #[arg(long, value_enum)]
    server: ServerKind,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Path of the MCP endpoint.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// Extra `Host` header value (host or host:port) to accept besides loopback; repeatable.
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// Accept any `Host` header (e.g. behind Envoy routing by virtual host names).
    #[arg(long, conflicts_with = "allowed_hosts")]
    allow_any_host: bool,
    /// Items per page of tools/list, prompts/list, resources/list and
    /// resources/templates/list; lists are sent whole when unset.
    #[arg(long, value_name = "N")]
    page_size: Option<NonZeroUsize>,
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
        page_size: args.page_size,
    };
    let server = ExampleServer::bind(args.server, args.listen, options).await?;
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
