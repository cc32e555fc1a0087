//! Scale scenarios on the two backends of the stack, each against a fresh gateway (and a fresh
//! Envoy `mcp_router` for comparison) so memory and counters belong to the scenario alone:
//!
//! - many concurrent sessions: each initialized, one call, all kept open; errors and memory;
//! - a first-call storm: new sessions whose first calls (to both backends, one of them twice)
//!   arrive at the same instant; backend `initialize`s must equal sessions × backends.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::echo_process::EchoProcess;
use super::envoy::Envoy;
use super::gateway::Gateway;
use super::procfs::ProcSample;
use super::render::{Backend, mcp_router_envoy};
use super::settings::Settings;
use super::stack::{Binaries, Stack};
use crate::echo::ECHO_TOOL;
use crate::loadgen::{Batch, Call, Opened, Target, open_sessions, run_batch};
use crate::report::{Memory, PathId, SessionsResult, StormResult, kib_to_mb};

/// Either peer under test, started fresh.
enum Fresh {
    Gateway(Box<Gateway>),
    McpRouter(Box<Envoy>),
}

impl Fresh {
    async fn start(
        id: PathId,
        bins: &Binaries,
        settings: &Settings,
        dir: &Path,
        backends: &[Backend],
        name: &str,
    ) -> Result<Self> {
        let launch = bins.envoy_launch(settings);
        Ok(match id {
            PathId::Gateway => Self::Gateway(Box::new(
                Gateway::start(
                    &bins.gateway_launch(Duration::from_secs(30)),
                    &launch,
                    dir,
                    name,
                    backends,
                )
                .await?,
            )),
            _ => Self::McpRouter(Box::new(
                Envoy::start(&launch, dir, name, &mcp_router_envoy(backends), "mcp").await?,
            )),
        })
    }

    fn url(&self) -> String {
        match self {
            Self::Gateway(gateway) => gateway.url(),
            Self::McpRouter(envoy) => format!("http://{}/mcp", envoy.listener()),
        }
    }

    fn tool(&self, backend: &Backend) -> String {
        match self {
            Self::Gateway(_) => backend.gateway_tool(ECHO_TOOL),
            Self::McpRouter(_) => backend.mcp_router_tool(ECHO_TOOL),
        }
    }

    fn samples(&self) -> Result<(Option<ProcSample>, Option<ProcSample>)> {
        Ok(match self {
            Self::Gateway(g) => (Some(g.envoy_sample()?), Some(g.router_sample()?)),
            Self::McpRouter(envoy) => (Some(envoy.sample()?), None),
        })
    }

    async fn stop(self) {
        match self {
            Self::Gateway(gateway) => (*gateway).stop().await,
            Self::McpRouter(envoy) => (*envoy).stop().await,
        }
    }
}

/// The paths the scale scenarios run on.
pub const SCALE_PATHS: [PathId; 2] = [PathId::Gateway, PathId::EnvoyMcpRouter];

async fn initializes(echo: &[EchoProcess]) -> Result<u64> {
    let mut total = 0;
    for process in echo {
        total += process.stats().await?.total.initialize;
    }
    Ok(total)
}

/// Many sessions, each initialized and making one call, all kept open.
pub async fn sessions(
    id: PathId,
    bins: &Binaries,
    settings: &Settings,
    dir: &Path,
    stack: &Stack,
) -> Result<SessionsResult> {
    let fresh = Fresh::start(id, bins, settings, dir, &stack.backends, "scale-sessions").await?;
    let result = sessions_on(&fresh, id, settings, stack).await;
    fresh.stop().await;
    result
}

async fn sessions_on(
    fresh: &Fresh,
    id: PathId,
    settings: &Settings,
    stack: &Stack,
) -> Result<SessionsResult> {
    let target = Target::resolve(&fresh.url()).await?;
    let before = initializes(&stack.echo).await?;
    let count = settings.scale_sessions;
    let connections = settings.scale_connections;
    let Opened {
        sessions,
        run: init,
    } = open_sessions(&target, count, connections, settings.timeout).await;
    let call = Call::tool(&fresh.tool(&stack.backends[0]), r#"{"text":"hello"}"#)?;
    let work = sessions.into_iter().map(|s| (s, call.clone())).collect();
    let batch = Batch {
        concurrency: connections,
        timeout: settings.timeout,
        together: false,
        prime: false,
    };
    let calls = run_batch(&target, work, batch).await;
    let (envoy, router) = fresh.samples()?;
    let after = initializes(&stack.echo).await?;
    let (init, calls) = (init.summary(), calls.summary());
    let errors = (init.requests - init.ok) + (calls.requests - calls.ok);
    eprintln!(
        "mcp-bench: {count} sessions via {}: {errors} errors, RSS {}",
        id.title(),
        rss_line(envoy, router),
    );
    Ok(SessionsResult {
        path: id,
        sessions: count,
        connections,
        init,
        calls,
        errors,
        backend_initializes: after.saturating_sub(before),
        rss_mb: Memory {
            envoy: envoy.map(|s| kib_to_mb(s.rss_kib)),
            router: router.map(|s| kib_to_mb(s.rss_kib)),
        },
        peak_rss_mb: Memory {
            envoy: envoy.map(|s| kib_to_mb(s.peak_rss_kib)),
            router: router.map(|s| kib_to_mb(s.peak_rss_kib)),
        },
    })
}

fn rss_line(envoy: Option<ProcSample>, router: Option<ProcSample>) -> String {
    let mb = |s: Option<ProcSample>| s.map(|s| format!("{:.1} MB", kib_to_mb(s.rss_kib)));
    match (mb(envoy), mb(router)) {
        (Some(e), Some(r)) => format!("Envoy {e}, router {r}"),
        (Some(e), None) => format!("Envoy {e}"),
        _ => "n/a".to_owned(),
    }
}

/// New sessions whose first calls all arrive at once.
pub async fn storm(
    id: PathId,
    bins: &Binaries,
    settings: &Settings,
    dir: &Path,
    stack: &Stack,
) -> Result<StormResult> {
    let fresh = Fresh::start(id, bins, settings, dir, &stack.backends, "scale-storm").await?;
    let result = storm_on(&fresh, id, settings, stack).await;
    fresh.stop().await;
    result
}

async fn storm_on(
    fresh: &Fresh,
    id: PathId,
    settings: &Settings,
    stack: &Stack,
) -> Result<StormResult> {
    let target = Target::resolve(&fresh.url()).await?;
    let before = initializes(&stack.echo).await?;
    let count = settings.storm_sessions;
    let Opened {
        sessions,
        run: init,
    } = open_sessions(&target, count, settings.scale_connections, settings.timeout).await;
    let args = r#"{"text":"storm"}"#;
    let (a, b) = (&stack.backends[0], &stack.backends[1]);
    let calls = [
        Call::tool(&fresh.tool(a), args)?,
        Call::tool(&fresh.tool(b), args)?,
        Call::tool(&fresh.tool(a), args)?,
    ];
    let work: Vec<_> = sessions
        .iter()
        .flat_map(|s| calls.iter().map(move |c| (s.clone(), c.clone())))
        .collect();
    let batch = Batch {
        concurrency: work.len(),
        timeout: settings.timeout,
        together: true,
        prime: true,
    };
    let run = run_batch(&target, work, batch).await;
    let after = initializes(&stack.echo).await?;
    let (init, calls_summary) = (init.summary(), run.summary());
    let errors = (init.requests - init.ok) + (calls_summary.requests - calls_summary.ok);
    let backends_used = 2;
    let result = StormResult {
        path: id,
        sessions: count,
        calls_per_session: calls.len(),
        backends_used,
        expected_initializes: (count * backends_used) as u64,
        initializes: after.saturating_sub(before),
        calls: calls_summary,
        errors,
    };
    eprintln!(
        "mcp-bench: storm of {count} sessions x {} calls via {}: {errors} errors, {} backend initializes (expected {})",
        calls.len(),
        id.title(),
        result.initializes,
        result.expected_initializes
    );
    Ok(result)
}
