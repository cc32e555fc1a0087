//! The comparison: every path measured interleaved in one run (A/B/C/..., then .../C/B/A, ...)
//! so that machine drift hits every path alike, then the latency-vs-load sweep.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::cpu::CpuTally;
use super::settings::Settings;
use super::stack::{PathUnderTest, Stack};
use crate::loadgen::{
    Call, ClosedLoop, OpenLoop, Recorder, Run, Session, Target, open_sessions, run_closed, run_open,
};
use crate::report::{
    Memory, PathId, PathResult, Ratios, SweepPoint, Throughput, compute_ratios, kib_to_mb, median,
};

/// Most connections an open-loop run may open.
const MAX_CONNECTIONS: usize = 512;
/// A sweep point is saturated below this share of the offered rate...
const SATURATED_BELOW: f64 = 0.9;
/// ...or above this share of errors, or with a median above this (queueing, not service).
const SATURATED_ERRORS: f64 = 0.01;
const SATURATED_P50_US: f64 = 20_000.0;

/// What is kept per path while the rounds run.
struct PathRun {
    path: PathUnderTest,
    target: Target,
    sessions: Arc<[Session]>,
    call: Call,
    rounds: Vec<f64>,
    closed: Recorder,
    open: Recorder,
    open_elapsed: std::time::Duration,
    cpu_saturated: CpuTally,
    cpu_at_rate: CpuTally,
}

/// Runs the interleaved rounds; returns one result per path.
pub async fn compare(stack: &Stack, settings: &Settings) -> Result<Vec<PathResult>> {
    let mut runs = Vec::new();
    for path in stack.paths() {
        let target = path.target().await?;
        let sessions = sessions(&target, settings, path.id).await?;
        let call = Call::tool(&path.tool, r#"{"text":"hello"}"#)?;
        runs.push(PathRun {
            path,
            target,
            sessions,
            call,
            rounds: Vec::new(),
            closed: Recorder::new(),
            open: Recorder::new(),
            open_elapsed: std::time::Duration::ZERO,
            cpu_saturated: CpuTally::default(),
            cpu_at_rate: CpuTally::default(),
        });
    }
    for round in 0..settings.rounds {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let run = &mut runs[index];
            measure_round(stack, settings, run).await?;
            eprintln!(
                "mcp-bench: round {}/{} {:<20} {:>9.0} req/s closed-loop, open-loop p50 {:.0} µs",
                round + 1,
                settings.rounds,
                run.path.id.title(),
                run.rounds.last().copied().unwrap_or(0.0),
                run.open.summary(run.open_elapsed, None).latency_us.p50,
            );
        }
    }
    let mut results = Vec::new();
    for run in runs {
        let sample = stack.sample(run.path.id)?;
        let closed = run.closed.summary(std::time::Duration::from_secs(1), None);
        results.push(PathResult {
            path: run.path.id,
            tool: run.path.tool.clone(),
            throughput: Throughput {
                concurrency: settings.concurrency,
                median: median(&run.rounds),
                rounds: run.rounds.clone(),
                p50_us: closed.latency_us.p50,
                p99_us: closed.latency_us.p99,
                errors: closed.errors,
            },
            latency: run.open.summary(run.open_elapsed, Some(settings.rate)),
            cpu_saturated: run.cpu_saturated.per_thousand(),
            cpu_at_rate: run.cpu_at_rate.per_thousand(),
            peak_rss_mb: Memory {
                envoy: sample.envoy.map(|s| kib_to_mb(s.peak_rss_kib)),
                router: sample.router.map(|s| kib_to_mb(s.peak_rss_kib)),
            },
            ratios: Ratios::default(),
        });
    }
    compute_ratios(&mut results);
    Ok(results)
}

async fn sessions(target: &Target, settings: &Settings, id: PathId) -> Result<Arc<[Session]>> {
    let opened = open_sessions(
        target,
        settings.sessions,
        settings.concurrency,
        settings.timeout,
    )
    .await;
    if opened.sessions.len() != settings.sessions {
        bail!(
            "{}: {} of {} sessions opened: {:?}",
            id.title(),
            opened.sessions.len(),
            settings.sessions,
            opened.run.summary().first_error
        );
    }
    Ok(opened.sessions.into())
}

async fn measure_round(stack: &Stack, settings: &Settings, run: &mut PathRun) -> Result<()> {
    let closed = |duration| ClosedLoop {
        concurrency: settings.concurrency,
        duration,
        timeout: settings.timeout,
    };
    let open = |duration| OpenLoop {
        rate: settings.rate,
        duration,
        timeout: settings.timeout,
        max_connections: MAX_CONNECTIONS,
    };
    let id = run.path.id;
    run_closed(
        &run.target,
        run.sessions.clone(),
        &run.call,
        closed(settings.warmup),
    )
    .await?;
    let before = stack.sample(id)?;
    let measured = run_closed(
        &run.target,
        run.sessions.clone(),
        &run.call,
        closed(settings.throughput_duration),
    )
    .await?;
    let after = stack.sample(id)?;
    run.cpu_saturated.add(
        &before,
        &after,
        measured.recorder.ok_count() + measured.recorder.error_count(),
    );
    run.rounds.push(measured.summary().throughput);
    run.closed.merge(&measured.recorder);

    run_open(
        &run.target,
        run.sessions.clone(),
        &run.call,
        open(settings.warmup / 2),
    )
    .await?;
    let before = stack.sample(id)?;
    let measured = run_open(
        &run.target,
        run.sessions.clone(),
        &run.call,
        open(settings.latency_duration),
    )
    .await?;
    let after = stack.sample(id)?;
    run.cpu_at_rate.add(
        &before,
        &after,
        measured.recorder.ok_count() + measured.recorder.error_count(),
    );
    run.open.merge(&measured.recorder);
    run.open_elapsed += measured.elapsed;
    Ok(())
}

/// Offered rates of the sweep: `fractions` of the best proxied path's throughput (paths 2-4),
/// rounded to 10 req/s, ascending, without duplicates or zeros.
pub fn sweep_rates(results: &[PathResult], fractions: &[f64]) -> Vec<f64> {
    let best = results
        .iter()
        .filter(|r| r.path != PathId::Direct)
        .map(|r| r.throughput.median)
        .fold(0.0_f64, f64::max);
    let mut rates: Vec<f64> = fractions
        .iter()
        .map(|f| (best * f / 10.0).round() * 10.0)
        .filter(|r| *r > 0.0)
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    rates
}

/// Latency against offered load: every rate on every path (interleaved per rate) until the
/// path saturates.
pub async fn sweep(
    stack: &Stack,
    settings: &Settings,
    results: &[PathResult],
) -> Result<Vec<SweepPoint>> {
    let rates = sweep_rates(results, &settings.sweep_fractions);
    let mut prepared = Vec::new();
    for path in stack.paths() {
        let target = path.target().await?;
        let sessions = sessions(&target, settings, path.id).await?;
        let call = Call::tool(&path.tool, r#"{"text":"hello"}"#)?;
        prepared.push((path.id, target, sessions, call));
    }
    let mut saturated: BTreeMap<PathId, bool> = BTreeMap::new();
    let mut points = Vec::new();
    for rate in rates {
        for (id, target, sessions, call) in &prepared {
            if saturated.get(id).copied().unwrap_or(false) {
                continue;
            }
            let spec = OpenLoop {
                rate,
                duration: settings.sweep_duration,
                timeout: settings.timeout,
                max_connections: MAX_CONNECTIONS,
            };
            let run: Run = run_open(target, sessions.clone(), call, spec)
                .await
                .with_context(|| format!("sweep {} at {rate} req/s", id.title()))?;
            // Fails when a process of the path died during the run.
            stack.sample(*id)?;
            let point = sweep_point(*id, &run);
            eprintln!(
                "mcp-bench: sweep {:<20} {:>8.0} req/s offered: p50 {:.0} µs, p99 {:.0} µs{}",
                id.title(),
                rate,
                point.p50_us,
                point.p99_us,
                if point.saturated { " (saturated)" } else { "" }
            );
            saturated.insert(*id, point.saturated);
            points.push(point);
        }
    }
    Ok(points)
}

fn sweep_point(id: PathId, run: &Run) -> SweepPoint {
    let summary = run.summary();
    let offered = summary.offered_rate.unwrap_or(0.0);
    let errors = summary.requests - summary.ok;
    let error_share = if summary.requests == 0 {
        1.0
    } else {
        errors as f64 / summary.requests as f64
    };
    SweepPoint {
        path: id,
        offered,
        achieved: summary.throughput,
        p50_us: summary.latency_us.p50,
        p99_us: summary.latency_us.p99,
        errors,
        saturated: summary.throughput < offered * SATURATED_BELOW
            || error_share > SATURATED_ERRORS
            || summary.latency_us.p50 > SATURATED_P50_US,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_rates_follow_the_best_proxied_path() {
        let mut results = Vec::new();
        for (id, tp) in [
            (PathId::Direct, 50_000.0),
            (PathId::PlainEnvoy, 10_000.0),
            (PathId::Gateway, 4_000.0),
        ] {
            let mut r = crate::report::fixtures::path(id, tp, 100.0, 200.0, 0.1);
            r.throughput.median = tp;
            results.push(r);
        }
        let rates = sweep_rates(&results, &[0.5, 0.1, 0.1, 0.0, 0.333]);
        assert_eq!(rates, vec![1_000.0, 3_330.0, 5_000.0]);
        assert!(sweep_rates(&[], &[0.5]).is_empty());
    }
}
