//! Aggregated `tools/list` over many synthetic backends (one echo process serving them all):
//! the gateway answers from its catalog, Envoy's `mcp_router` fans out to every backend on
//! every request. Measured cached, and after one backend's tools changed.
//!
//! The synthetic backends do not announce changes with `notifications/tools/list_changed`;
//! "after a change" is the first `tools/list` that shows the change.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::echo_process::EchoProcess;
use super::envoy::Envoy;
use super::gateway::Gateway;
use super::probe::{tool_names, wait_for_tools};
use super::render::{Backend, mcp_router_envoy};
use super::settings::Settings;
use super::stack::Binaries;
use crate::echo::EchoOptions;
use crate::loadgen::{
    Call, ClosedLoop, Conn, Recorder, Session, Summary, Target, check, initialize, open_sessions,
    post, run_closed,
};
use crate::report::{AfterChange, ListingPath, ListingResult, PathId};

/// How long the gateway may take to discover every backend.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(180);
/// Pause between `tools/list` polls while waiting for a change to show.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// Lists sent right after the change showed, for their median.
pub const NEXT_LISTS: u64 = 20;

/// Runs the listing scenario.
pub async fn listing(bins: &Binaries, settings: &Settings, dir: &Path) -> Result<ListingResult> {
    let options = EchoOptions {
        tools: settings.listing_tools,
        page_size: 0,
        backends: settings.listing_backends,
    };
    let echo = EchoProcess::start(
        &bins.echo,
        dir,
        "echo-listing",
        options,
        settings.backend_threads,
    )
    .await?;
    let backends: Vec<Backend> = (0..settings.listing_backends)
        .map(|i| echo.backend(i, &format!("s{i}")))
        .collect();
    let launch = bins.envoy_launch(settings);
    let gateway = Gateway::start(
        &bins.gateway_launch(settings.discovery_interval),
        &launch,
        dir,
        "listing-gateway",
        &backends,
    )
    .await?;
    let mcp_router = Envoy::start(
        &launch,
        dir,
        "listing-envoy-mcp-router",
        &mcp_router_envoy(&backends),
        "mcp",
    )
    .await?;
    let result = measure(&echo, &gateway, &mcp_router, &backends, settings).await;
    gateway.stop().await;
    mcp_router.stop().await;
    echo.stop().await;
    result
}

async fn measure(
    echo: &EchoProcess,
    gateway: &Gateway,
    mcp_router: &Envoy,
    backends: &[Backend],
    settings: &Settings,
) -> Result<ListingResult> {
    let total = settings.listing_backends * settings.listing_tools;
    let gateway_url = gateway.url();
    let router_url = format!("http://{}/mcp", mcp_router.listener());
    let all = |names: &std::collections::BTreeSet<String>| names.len() >= total;
    wait_for_tools(
        &gateway_url,
        "every backend's tools",
        DISCOVERY_TIMEOUT,
        all,
    )
    .await?;
    wait_for_tools(&router_url, "every backend's tools", DISCOVERY_TIMEOUT, all).await?;
    let peers = [
        (PathId::Gateway, &gateway_url),
        (PathId::EnvoyMcpRouter, &router_url),
    ];
    let mut paths = Vec::new();
    for (id, url) in peers {
        let tools_listed = tool_names(url).await?.len();
        let (sequential, concurrent) = cached(url, settings).await?;
        eprintln!(
            "mcp-bench: tools/list of {tools_listed} tools via {}: p50 {:.0} µs one at a time, {:.0} req/s at {} connections",
            id.title(),
            sequential.latency_us.p50,
            concurrent.throughput,
            settings.listing_concurrency,
        );
        paths.push(ListingPath {
            path: id,
            tools_listed,
            sequential,
            concurrent,
            after_change: None,
        });
    }
    // Then one change per path, each on its own backend.
    for (index, (listed, (id, url))) in paths.iter_mut().zip(peers).enumerate() {
        let changed = index.min(backends.len() - 1);
        let exposed = match id {
            PathId::Gateway => |b: &Backend, tool: &str| b.gateway_tool(tool),
            _ => |b: &Backend, tool: &str| b.mcp_router_tool(tool),
        };
        let after = after_change(echo, url, &backends[changed], changed, exposed, settings)
            .await
            .with_context(|| format!("{}: tools/list after a change", id.title()))?;
        eprintln!(
            "mcp-bench: tools/list via {}: a change showed after {:.0} ms, first list {:.0} µs, next p50 {:.0} µs",
            id.title(),
            after.visible_after_ms,
            after.first_latency_us,
            after.next_p50_us,
        );
        listed.after_change = Some(after);
    }
    Ok(ListingResult {
        backends: settings.listing_backends,
        tools_per_backend: settings.listing_tools,
        discovery_interval_s: settings.discovery_interval.as_secs_f64(),
        paths,
    })
}

/// `tools/list` one at a time, then at the listing concurrency.
async fn cached(url: &str, settings: &Settings) -> Result<(Summary, Summary)> {
    let target = Target::resolve(url).await?;
    let opened = open_sessions(&target, settings.listing_concurrency, 4, settings.timeout).await;
    let sessions: Arc<[Session]> = opened.sessions.into();
    let mut summaries = Vec::new();
    for concurrency in [1, settings.listing_concurrency] {
        let warm = ClosedLoop {
            concurrency,
            duration: settings.warmup / 2,
            timeout: settings.timeout,
        };
        run_closed(&target, sessions.clone(), &Call::List, warm).await?;
        let spec = ClosedLoop {
            duration: settings.listing_duration,
            ..warm
        };
        summaries.push(
            run_closed(&target, sessions.clone(), &Call::List, spec)
                .await?
                .summary(),
        );
    }
    let concurrent = summaries.pop().context("no concurrent run")?;
    let sequential = summaries.pop().context("no sequential run")?;
    Ok((sequential, concurrent))
}

/// Changes backend `index`'s tools, then polls `tools/list` until the new tool shows.
async fn after_change(
    echo: &EchoProcess,
    url: &str,
    backend: &Backend,
    index: usize,
    exposed: fn(&Backend, &str) -> String,
    settings: &Settings,
) -> Result<AfterChange> {
    let target = Target::resolve(url).await?;
    let mut conn = Conn::open(target.addr()).await?;
    let session = initialize(&mut conn, &target, settings.timeout).await?;
    let generation = echo.bump(Some(index)).await?;
    let needle = format!("\"{}\"", exposed(backend, &format!("bumped_{generation}")));
    let changed = Instant::now();
    let deadline = changed + settings.discovery_interval * 3 + Duration::from_secs(30);
    let mut polls = 0u64;
    while Instant::now() < deadline {
        polls += 1;
        let request = post(&target, Some(&session.id), Call::List.body(polls));
        let sent = Instant::now();
        let reply = tokio::time::timeout(settings.timeout, conn.send(request))
            .await
            .context("tools/list timed out")??;
        let latency = sent.elapsed();
        check(&reply, polls)?;
        if memfind(&reply.body, needle.as_bytes()) {
            let visible_after_ms = changed.elapsed().as_secs_f64() * 1_000.0;
            let mut next = Recorder::new();
            for id in polls + 1..=polls + NEXT_LISTS {
                let request = post(&target, Some(&session.id), Call::List.body(id));
                let sent = Instant::now();
                let reply = tokio::time::timeout(settings.timeout, conn.send(request))
                    .await
                    .context("tools/list timed out")??;
                next.ok(sent.elapsed());
                check(&reply, id)?;
            }
            return Ok(AfterChange {
                visible_after_ms,
                first_latency_us: latency.as_secs_f64() * 1_000_000.0,
                polls,
                next_p50_us: next.summary(Duration::from_secs(1), None).latency_us.p50,
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    bail!("{needle} never showed in tools/list")
}

fn memfind(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bytes() {
        assert!(memfind(br#"{"name":"s0_bumped_1"}"#, br#""s0_bumped_1""#));
        assert!(!memfind(br#"{"name":"s0_bumped_12"}"#, br#""s0_bumped_1""#));
        assert!(!memfind(b"abc", b""));
    }
}
