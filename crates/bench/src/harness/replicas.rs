//! Replicas: the gateway as one process on the memory store, as one process on Redis, and as
//! three replicas on one Redis behind one Envoy (round robin, no stickiness, as
//! `make run-ha`). Each is measured alone, closed loop on the same sessions' `tools/call`s:
//! throughput, errors, CPU per call of Envoy, the replicas and Redis, and Redis commands per
//! call (scripts, one round trip each, and every command they run), so the store's cost per
//! call shows against the memory store.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, ensure};

use super::gateway::{Gateway, Replication};
use super::redis::Redis;
use super::settings::Settings;
use super::stack::{Binaries, Stack};
use crate::echo::ECHO_TOOL;
use crate::loadgen::{Call, ClosedLoop, Opened, Target, open_sessions, run_closed};
use crate::report::{ReplicaResult, kib_to_mb};

/// (replicas, on Redis) of each deployment measured.
pub const DEPLOYMENTS: [(usize, bool); 3] = [(1, false), (1, true), (3, true)];

/// Every deployment of [`DEPLOYMENTS`], one after another.
pub async fn replicas(
    bins: &Binaries,
    settings: &Settings,
    dir: &Path,
    stack: &Stack,
) -> Result<Vec<ReplicaResult>> {
    let mut results = Vec::new();
    for (count, on_redis) in DEPLOYMENTS {
        results.push(deployment(bins, settings, dir, stack, count, on_redis).await?);
    }
    Ok(results)
}

async fn deployment(
    bins: &Binaries,
    settings: &Settings,
    dir: &Path,
    stack: &Stack,
    count: usize,
    on_redis: bool,
) -> Result<ReplicaResult> {
    let name = format!(
        "replicas-{count}-{}",
        if on_redis { "redis" } else { "memory" }
    );
    let redis = if on_redis {
        Some(Redis::start(dir, &format!("{name}-redis")).await?)
    } else {
        None
    };
    let url = redis.as_ref().map(Redis::url);
    let gateway = Gateway::start_replicated(
        &bins.gateway_launch(settings.discovery_interval),
        &bins.envoy_launch(settings),
        dir,
        &name,
        &stack.backends,
        None,
        Replication {
            replicas: count,
            store: url.as_deref(),
        },
    )
    .await;
    let result = match gateway {
        Ok(gateway) => {
            let result = measure(&gateway, redis.as_ref(), settings, stack, count).await;
            gateway.stop().await;
            result
        }
        Err(e) => Err(e),
    };
    if let Some(redis) = redis {
        redis.stop().await;
    }
    result
}

async fn measure(
    gateway: &Gateway,
    redis: Option<&Redis>,
    settings: &Settings,
    stack: &Stack,
    count: usize,
) -> Result<ReplicaResult> {
    let target = Target::resolve(&gateway.url()).await?;
    let Opened { sessions, run } = open_sessions(
        &target,
        settings.sessions,
        settings.concurrency,
        settings.timeout,
    )
    .await;
    let opened = run.summary();
    ensure!(
        !sessions.is_empty(),
        "no session opened: {:?}",
        opened.first_error
    );
    let sessions: Arc<[_]> = sessions.into();
    let call = Call::tool(
        &stack.backends[0].gateway_tool(ECHO_TOOL),
        r#"{"text":"hello"}"#,
    )?;
    let closed = |duration: Duration| ClosedLoop {
        concurrency: settings.concurrency,
        duration,
        timeout: settings.timeout,
    };
    // Opens every backend session and warms caches and connections.
    run_closed(&target, sessions.clone(), &call, closed(settings.warmup)).await?;

    let (envoy_before, routers_before) = (gateway.envoy_sample()?, gateway.router_sample()?);
    let redis_before = match redis {
        Some(r) => Some((r.sample()?, r.counts().await?)),
        None => None,
    };
    let run = run_closed(
        &target,
        sessions.clone(),
        &call,
        closed(settings.throughput_duration),
    )
    .await?;
    let (envoy_after, routers_after) = (gateway.envoy_sample()?, gateway.router_sample()?);
    let redis_after = match redis {
        Some(r) => Some((r.sample()?, r.counts().await?)),
        None => None,
    };
    let calls = run.summary();
    let per_thousand = |before: f64, after: f64| {
        if calls.ok == 0 {
            0.0
        } else {
            (after - before).max(0.0) * 1_000.0 / calls.ok as f64
        }
    };
    let per_call = |before: u64, after: u64| {
        if calls.ok == 0 {
            0.0
        } else {
            after.saturating_sub(before) as f64 / calls.ok as f64
        }
    };
    let (redis_cpu, redis_commands, redis_scripts) = match (redis_before, redis_after) {
        (Some((b, bc)), Some((a, ac))) => (
            Some(per_thousand(b.cpu_seconds, a.cpu_seconds)),
            Some(per_call(bc.commands, ac.commands)),
            Some(per_call(bc.scripts, ac.scripts)),
        ),
        _ => (None, None, None),
    };
    let result = ReplicaResult {
        replicas: count,
        store: if redis.is_some() { "redis" } else { "memory" }.to_owned(),
        sessions: sessions.len(),
        concurrency: settings.concurrency,
        errors: (calls.requests - calls.ok) + (opened.requests - opened.ok),
        envoy_cpu_s_per_1000: per_thousand(envoy_before.cpu_seconds, envoy_after.cpu_seconds),
        replicas_cpu_s_per_1000: per_thousand(
            routers_before.cpu_seconds,
            routers_after.cpu_seconds,
        ),
        redis_cpu_s_per_1000: redis_cpu,
        redis_commands_per_call: redis_commands,
        redis_scripts_per_call: redis_scripts,
        replicas_rss_mb: kib_to_mb(routers_after.rss_kib),
        calls,
    };
    eprintln!(
        "mcp-bench: {count} replica(s) on {}: {:.0} calls/s, {} errors, replicas {:.3} ms CPU per call{}",
        result.store,
        result.calls.throughput,
        result.errors,
        result.replicas_cpu_s_per_1000,
        result
            .redis_scripts_per_call
            .zip(result.redis_commands_per_call)
            .map(|(s, c)| format!(", Redis {s:.2} scripts ({c:.2} commands) per call"))
            .unwrap_or_default(),
    );
    Ok(result)
}
