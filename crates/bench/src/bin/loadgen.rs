//! `mcp-loadgen`: MCP load over streamable HTTP. Opens sessions, then drives one method in
//! closed loop (`--concurrency`) or open loop (`--rate`), and prints a JSON summary.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use mcp_gateway_bench::harness::{duration, procfs};
use mcp_gateway_bench::loadgen::{
    Call, ClosedLoop, OpenLoop, Run, Session, Target, open_sessions, run_closed, run_open,
};
use serde_json::json;

/// MCP load generator (closed or open loop; JSON summary on stdout).
#[derive(Debug, Parser)]
#[command(name = "mcp-loadgen", version, about)]
struct Args {
    /// The MCP endpoint, e.g. http://127.0.0.1:8888/mcp.
    #[arg(long)]
    url: String,
    /// An access token sent as `Authorization: Bearer <token>` on every request.
    #[arg(long, env = "MCP_LOADGEN_BEARER", hide_env_values = true)]
    bearer: Option<String>,
    /// Sessions opened before the run; requests go round-robin over them.
    #[arg(long, default_value_t = 16)]
    sessions: usize,
    /// The method to drive.
    #[arg(long, value_enum, default_value_t = Method::ToolsCall)]
    method: Method,
    /// Tool name for tools/call, as the server under test exposes it.
    #[arg(long, default_value = "echo")]
    tool: String,
    /// Tool arguments (a JSON object).
    #[arg(long, default_value = r#"{"text":"hello"}"#)]
    args: String,
    /// Closed loop: connections with one request in flight each.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Open loop: requests per second (replaces the closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Open loop: most connections at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Measured time (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    duration: Duration,
    /// Unmeasured run before, same settings.
    #[arg(long, default_value = "2s", value_parser = duration::parse)]
    warmup: Duration,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    timeout: Duration,
    /// Runtime worker threads; 1 runs everything on the main thread.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    #[value(name = "tools/call")]
    ToolsCall,
    #[value(name = "tools/list")]
    ToolsList,
    #[value(name = "ping")]
    Ping,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .context("starting the runtime")?;
    let report = runtime.block_on(run(&args))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn run(args: &Args) -> anyhow::Result<serde_json::Value> {
    let mut target = Target::resolve(&args.url).await?;
    if let Some(token) = &args.bearer {
        target = target.with_bearer(token)?;
    }
    let call = match args.method {
        Method::ToolsCall => Call::tool(&args.tool, &args.args)?,
        Method::ToolsList => Call::List,
        Method::Ping => Call::Ping,
    };
    let opened = open_sessions(&target, args.sessions, args.concurrency, args.timeout).await;
    if opened.sessions.is_empty() {
        bail!("no session opened: {:?}", opened.run.summary().first_error);
    }
    let sessions: Arc<[Session]> = opened.sessions.into();
    if !args.warmup.is_zero() {
        drive(args, &target, &sessions, &call, args.warmup).await?;
    }
    let before = procfs::sample_self()?;
    let run = drive(args, &target, &sessions, &call, args.duration).await?;
    let cpu = procfs::sample_self()?.cpu_seconds - before.cpu_seconds;
    let summary = run.summary();
    Ok(json!({
        "url": args.url,
        "method": call.method(),
        "mode": if args.rate.is_some() { "open" } else { "closed" },
        "concurrency": args.rate.is_none().then_some(args.concurrency),
        "sessions": { "opened": sessions.len(), "init": opened.run.summary() },
        "loadgen_cpu_s": cpu,
        "summary": summary,
    }))
}

async fn drive(
    args: &Args,
    target: &Target,
    sessions: &Arc<[Session]>,
    call: &Call,
    duration: Duration,
) -> anyhow::Result<Run> {
    let run = match args.rate {
        Some(rate) => {
            let spec = OpenLoop {
                rate,
                duration,
                timeout: args.timeout,
                max_connections: args.max_connections,
            };
            run_open(target, sessions.clone(), call, spec).await?
        }
        None => {
            let spec = ClosedLoop {
                concurrency: args.concurrency,
                duration,
                timeout: args.timeout,
            };
            run_closed(target, sessions.clone(), call, spec).await?
        }
    };
    Ok(run)
}
