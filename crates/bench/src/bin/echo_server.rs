//! `mcp-echo-server`: a minimal, fast MCP streamable-HTTP backend for benchmarks.
//!
//! Prints one line to stdout once bound: `listening on http://<addr>/mcp` (with `--backends K`:
//! `listening on http://<addr>/b/{0..K-1}/mcp`).

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use mcp_gateway_bench::echo::{EchoOptions, EchoServer};

/// A fast MCP echo backend (JSON responses, sessions, synthetic tools).
#[derive(Debug, Parser)]
#[command(name = "mcp-echo-server", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Tools per backend: `echo` plus `tool_1`.. `tool_<N-1>`.
    #[arg(long, default_value_t = 1)]
    tools: usize,
    /// Tools per `tools/list` page; 0 for a single page.
    #[arg(long, default_value_t = 0)]
    page_size: usize,
    /// Independent backends on this port, under `/b/<i>/mcp`.
    #[arg(long, default_value_t = 1)]
    backends: usize,
    /// Worker threads; 0 for one per CPU.
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.threads > 0 {
        runtime.worker_threads(args.threads);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let options = EchoOptions {
            tools: args.tools,
            page_size: args.page_size,
            backends: args.backends,
        };
        let server = EchoServer::bind(args.listen, options)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let url = if args.backends > 1 {
            format!(
                "http://{}/b/{{0..{}}}/mcp",
                server.local_addr(),
                args.backends - 1
            )
        } else {
            server.url(0)
        };
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening on {url}").context("writing to stdout")?;
            stdout.flush().context("flushing stdout")?;
        }
        server
            .serve(async {
                tokio::signal::ctrl_c().await.ok();
            })
            .await
            .context("serving")
    })
}
