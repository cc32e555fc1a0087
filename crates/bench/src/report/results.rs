//! What a benchmark run produced, as written to `bench/results/<timestamp>.json`, and the
//! derived ratios.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::machine::Machine;
use crate::harness::settings::Settings;
use crate::loadgen::Summary;

/// The ways the same backend is reached: the four, the floor of ext_proc, and the
/// gateway with auth and policy on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathId {
    /// (1) Straight to the backend: the limit for any extra hop.
    Direct,
    /// (2) Plain Envoy as a reverse proxy: the floor of any Envoy-based design.
    PlainEnvoy,
    /// (3) Envoy + mcp-broker-router (ext_proc router and broker).
    Gateway,
    /// (4) Envoy 1.40's own C++ MCP filter (`envoy.filters.http.mcp_router`).
    EnvoyMcpRouter,
    /// (5) Plain Envoy with an ext_proc server that changes nothing, in the gateway's
    /// processing mode: what ext_proc costs Envoy itself, the floor of path (3).
    ExtProcFloor,
    /// (7) Path (3) with `auth:` (Envoy's `jwt_authn`) and a `policy:`, every request
    /// carrying the caller's bearer token: what identity and authorization add per call.
    GatewayAuth,
}

impl PathId {
    /// All paths, in their numbered order.
    pub const ALL: [Self; 6] = [
        Self::Direct,
        Self::PlainEnvoy,
        Self::Gateway,
        Self::EnvoyMcpRouter,
        Self::ExtProcFloor,
        Self::GatewayAuth,
    ];

    /// The number the issue gives the path.
    pub fn number(self) -> u8 {
        match self {
            Self::Direct => 1,
            Self::PlainEnvoy => 2,
            Self::Gateway => 3,
            Self::EnvoyMcpRouter => 4,
            Self::ExtProcFloor => 5,
            Self::GatewayAuth => 7,
        }
    }

    /// The shortest name, for plot legends.
    pub fn short(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::PlainEnvoy => "plain Envoy",
            Self::Gateway => "mcp-gateway",
            Self::EnvoyMcpRouter => "mcp_router",
            Self::ExtProcFloor => "ext_proc floor",
            Self::GatewayAuth => "mcp-gateway + auth",
        }
    }

    /// A short human name.
    pub fn title(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::PlainEnvoy => "plain Envoy",
            Self::Gateway => "Envoy + mcp-gateway",
            Self::EnvoyMcpRouter => "Envoy mcp_router",
            Self::ExtProcFloor => "Envoy + no-op ext_proc",
            Self::GatewayAuth => "Envoy + mcp-gateway, auth + policy",
        }
    }
}

/// One benchmark run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Start time, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started_utc: String,
    /// The command line that produced it.
    pub command: String,
    /// Where it ran.
    pub machine: Machine,
    /// Sizes and durations used.
    pub settings: Settings,
    /// The interleaved comparison of every path.
    pub paths: Vec<PathResult>,
    /// Latency against offered load, for the plot.
    pub sweep: Vec<SweepPoint>,
    /// Many concurrent sessions.
    pub sessions: Vec<SessionsResult>,
    /// Many first calls at once.
    pub storms: Vec<StormResult>,
    /// One process on memory, one on Redis, three replicas on Redis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaResult>,
    /// Aggregated `tools/list` over many backends.
    pub listing: Option<ListingResult>,
    /// Evidence that the load generator and backend were not the bottleneck.
    pub headroom: Option<Headroom>,
    /// The targets, met or not.
    pub targets: Vec<TargetCheck>,
    /// Scenarios that failed, with the error; their results are missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// One path in the interleaved comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathResult {
    /// Which path.
    pub path: PathId,
    /// The tool name called on this path.
    pub tool: String,
    /// Closed loop at fixed concurrency.
    pub throughput: Throughput,
    /// Open loop at the fixed low rate, every round merged.
    pub latency: Summary,
    /// CPU per 1,000 calls during the throughput runs.
    pub cpu_saturated: CpuPerCalls,
    /// CPU per 1,000 calls during the fixed-rate runs.
    pub cpu_at_rate: CpuPerCalls,
    /// Peak resident memory of the processes of the path.
    pub peak_rss_mb: Memory,
    /// Against direct and against Envoy's mcp_router.
    pub ratios: Ratios,
}

/// Closed-loop throughput over the rounds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// Connections, one request in flight each.
    pub concurrency: usize,
    /// Successful calls per second, one value per round.
    pub rounds: Vec<f64>,
    /// The median of the rounds.
    pub median: f64,
    /// p50 / p99 latency of the throughput runs (every round merged), microseconds.
    pub p50_us: f64,
    /// See `p50_us`.
    pub p99_us: f64,
    /// Errors by kind over all rounds.
    pub errors: BTreeMap<String, u64>,
}

/// CPU seconds per 1,000 calls, by process.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuPerCalls {
    /// The path's Envoy, when it has one.
    pub envoy: Option<f64>,
    /// mcp-broker-router, on the gateway path.
    pub router: Option<f64>,
    /// Envoy + router: what the gateway adds (0 for direct).
    pub gateway: f64,
    /// The echo backend.
    pub backend: f64,
    /// The load generator (the mcp-bench process).
    pub loadgen: f64,
    /// Calls the figures are based on.
    pub calls: u64,
}

/// Peak resident set sizes (VmHWM), MB (10^6 bytes).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Memory {
    /// The path's Envoy.
    pub envoy: Option<f64>,
    /// mcp-broker-router.
    pub router: Option<f64>,
}

/// A path against (1) direct and (4) Envoy's mcp_router.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Ratios {
    /// Throughput / direct's.
    pub throughput_vs_direct: Option<f64>,
    /// Throughput / mcp_router's.
    pub throughput_vs_mcp_router: Option<f64>,
    /// p50 minus direct's p50 at the fixed rate, microseconds.
    pub p50_added_us: Option<f64>,
    /// p99 minus direct's p99 at the fixed rate, microseconds.
    pub p99_added_us: Option<f64>,
    /// p50 / mcp_router's p50 at the fixed rate.
    pub p50_vs_mcp_router: Option<f64>,
    /// Gateway CPU per call / mcp_router's Envoy CPU per call (saturated).
    pub cpu_vs_mcp_router: Option<f64>,
    /// Path (7) only: p50 minus path (3)'s at the fixed rate, microseconds (what auth and
    /// policy add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_added_vs_gateway_us: Option<f64>,
}

/// One point of the latency-vs-load sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Which path.
    pub path: PathId,
    /// Scheduled rate, req/s.
    pub offered: f64,
    /// Completed successfully, req/s.
    pub achieved: f64,
    /// Latency from the scheduled time, microseconds.
    pub p50_us: f64,
    /// See `p50_us`.
    pub p99_us: f64,
    /// Failed requests.
    pub errors: u64,
    /// The path could not keep up (higher rates were skipped).
    pub saturated: bool,
}

/// Many sessions, each initialized and making one call, all kept open.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionsResult {
    /// Which path.
    pub path: PathId,
    /// Sessions asked for.
    pub sessions: usize,
    /// Client connections they shared.
    pub connections: usize,
    /// `initialize` + `notifications/initialized`.
    pub init: Summary,
    /// One `tools/call` per session.
    pub calls: Summary,
    /// Failures of either step.
    pub errors: u64,
    /// Backend `initialize`s during the scenario.
    pub backend_initializes: u64,
    /// Memory after the calls, sessions still open, MB.
    pub rss_mb: Memory,
    /// Peak memory, MB.
    pub peak_rss_mb: Memory,
}

/// New sessions whose first calls all arrive at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StormResult {
    /// Which path.
    pub path: PathId,
    /// New sessions.
    pub sessions: usize,
    /// Calls each session sends at the same instant (tools of both backends, one twice).
    pub calls_per_session: usize,
    /// Backends the calls reach.
    pub backends_used: usize,
    /// sessions × backends used.
    pub expected_initializes: u64,
    /// Backend `initialize`s counted by the backends during the scenario.
    pub initializes: u64,
    /// The calls.
    pub calls: Summary,
    /// Failed calls and failed session openings.
    pub errors: u64,
}

/// One gateway deployment of the replica scenario, closed loop on one tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaResult {
    /// `mcp-broker-router` processes behind the one Envoy.
    pub replicas: usize,
    /// Session store: `memory` or `redis`.
    pub store: String,
    /// Sessions the calls are spread over.
    pub sessions: usize,
    /// Connections, one call in flight each.
    pub concurrency: usize,
    /// The calls.
    pub calls: Summary,
    /// Failed calls and failed session openings.
    pub errors: u64,
    /// Envoy's CPU seconds per 1,000 calls.
    pub envoy_cpu_s_per_1000: f64,
    /// Every replica's CPU seconds per 1,000 calls, summed.
    pub replicas_cpu_s_per_1000: f64,
    /// Redis's CPU seconds per 1,000 calls.
    pub redis_cpu_s_per_1000: Option<f64>,
    /// Redis commands per call, those its scripts run included (`INFO`).
    pub redis_commands_per_call: Option<f64>,
    /// Redis scripts per call: one round trip each.
    #[serde(default)]
    pub redis_scripts_per_call: Option<f64>,
    /// Memory of the replicas after the run, summed, MB.
    pub replicas_rss_mb: f64,
}

/// Aggregated `tools/list` of many synthetic backends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListingResult {
    /// Backends (one echo process).
    pub backends: usize,
    /// Tools per backend.
    pub tools_per_backend: usize,
    /// The gateway's `--discovery-interval`, seconds.
    pub discovery_interval_s: f64,
    /// One entry per path measured.
    pub paths: Vec<ListingPath>,
}

/// `tools/list` on one path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListingPath {
    /// Which path.
    pub path: PathId,
    /// Tools the path listed.
    pub tools_listed: usize,
    /// One request at a time (latency).
    pub sequential: Summary,
    /// Closed loop at the listing concurrency (throughput).
    pub concurrent: Summary,
    /// After one backend's tool list changed.
    pub after_change: Option<AfterChange>,
}

/// The first `tools/list` that shows a backend's changed tools.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AfterChange {
    /// From the change to the first list showing it, milliseconds.
    pub visible_after_ms: f64,
    /// Latency of that first list, microseconds.
    pub first_latency_us: f64,
    /// `tools/list` requests made until it showed.
    pub polls: u64,
    /// Median of the next lists, one at a time, right after it showed, microseconds.
    pub next_p50_us: f64,
}

/// How far the load generator and the echo backend were from being the bottleneck.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Headroom {
    /// Direct-path throughput: what loadgen + backend sustain together on this machine.
    pub direct_throughput: f64,
    /// The best throughput of the proxied paths.
    pub best_proxied_throughput: f64,
    /// direct / best proxied.
    pub factor: f64,
    /// Load generator CPU per call on the direct path, microseconds.
    pub loadgen_cpu_us_per_call: f64,
    /// Echo backend CPU per call on the direct path, microseconds.
    pub backend_cpu_us_per_call: f64,
    /// Gateway (Envoy + router) CPU per call, microseconds.
    pub gateway_cpu_us_per_call: f64,
}

/// One of the targets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetCheck {
    /// The target as stated.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// Met, missed, or not measured in this run.
    pub met: Option<bool>,
}

impl Results {
    /// The result of `path` in the interleaved comparison.
    pub fn path(&self, path: PathId) -> Option<&PathResult> {
        self.paths.iter().find(|p| p.path == path)
    }
}

/// `a / b`, when `b` is positive.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

/// Fills every path's ratios against direct and against Envoy's mcp_router.
pub fn compute_ratios(paths: &mut [PathResult]) {
    let find = |id: PathId| paths.iter().find(|p| p.path == id).cloned();
    let direct = find(PathId::Direct);
    let peer = find(PathId::EnvoyMcpRouter);
    let gateway = find(PathId::Gateway);
    for path in paths.iter_mut() {
        let p50 = path.latency.latency_us.p50;
        let p99 = path.latency.latency_us.p99;
        path.ratios = Ratios {
            throughput_vs_direct: direct
                .as_ref()
                .and_then(|d| ratio(path.throughput.median, d.throughput.median)),
            throughput_vs_mcp_router: peer
                .as_ref()
                .and_then(|d| ratio(path.throughput.median, d.throughput.median)),
            p50_added_us: direct.as_ref().map(|d| p50 - d.latency.latency_us.p50),
            p99_added_us: direct.as_ref().map(|d| p99 - d.latency.latency_us.p99),
            p50_vs_mcp_router: peer
                .as_ref()
                .and_then(|d| ratio(p50, d.latency.latency_us.p50)),
            cpu_vs_mcp_router: peer
                .as_ref()
                .and_then(|d| ratio(path.cpu_saturated.gateway, d.cpu_saturated.gateway)),
            p50_added_vs_gateway_us: gateway
                .as_ref()
                .filter(|_| path.path == PathId::GatewayAuth)
                .map(|g| p50 - g.latency.latency_us.p50),
        };
    }
}

/// How far load generator and backend were from limiting the proxied paths, from the
/// comparison's direct path.
pub fn headroom(paths: &[PathResult]) -> Option<Headroom> {
    let direct = paths.iter().find(|p| p.path == PathId::Direct)?;
    let best = paths
        .iter()
        .filter(|p| p.path != PathId::Direct)
        .map(|p| p.throughput.median)
        .fold(0.0_f64, f64::max);
    let gateway = paths.iter().find(|p| p.path == PathId::Gateway);
    // Seconds per 1,000 calls to microseconds per call.
    let us = |per_thousand: f64| per_thousand * 1_000.0;
    Some(Headroom {
        direct_throughput: direct.throughput.median,
        best_proxied_throughput: best,
        factor: ratio(direct.throughput.median, best)?,
        loadgen_cpu_us_per_call: us(direct.cpu_saturated.loadgen),
        backend_cpu_us_per_call: us(direct.cpu_saturated.backend),
        gateway_cpu_us_per_call: gateway.map_or(0.0, |g| us(g.cpu_saturated.gateway)),
    })
}

/// The median of `values` (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// KiB (as `/proc` reports) to MB (10^6 bytes).
pub fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::path;

    #[test]
    fn ratios_against_direct_and_the_peer() {
        let mut paths = vec![
            path(PathId::Direct, 20_000.0, 100.0, 200.0, 0.0),
            path(PathId::Gateway, 5_000.0, 400.0, 900.0, 0.2),
            path(PathId::EnvoyMcpRouter, 4_000.0, 300.0, 800.0, 0.1),
        ];
        compute_ratios(&mut paths);
        let gateway = paths[1].ratios;
        assert_eq!(gateway.throughput_vs_direct, Some(0.25));
        assert_eq!(gateway.throughput_vs_mcp_router, Some(1.25));
        assert_eq!(gateway.p50_added_us, Some(300.0));
        assert_eq!(gateway.p99_added_us, Some(700.0));
        assert_eq!(gateway.p50_vs_mcp_router, Some(400.0 / 300.0));
        assert_eq!(gateway.cpu_vs_mcp_router, Some(2.0));
        let direct = paths[0].ratios;
        assert_eq!(direct.throughput_vs_direct, Some(1.0));
        assert_eq!(direct.p50_added_us, Some(0.0));
        assert_eq!(direct.cpu_vs_mcp_router, Some(0.0));
        assert_eq!(gateway.p50_added_vs_gateway_us, None);
    }

    #[test]
    fn auth_is_compared_with_the_gateway() {
        let mut paths = vec![
            path(PathId::Gateway, 5_000.0, 400.0, 900.0, 0.2),
            path(PathId::GatewayAuth, 4_000.0, 460.0, 1_000.0, 0.25),
        ];
        compute_ratios(&mut paths);
        assert_eq!(paths[1].ratios.p50_added_vs_gateway_us, Some(60.0));
        assert_eq!(paths[0].ratios.p50_added_vs_gateway_us, None);
        assert_eq!(PathId::GatewayAuth.number(), 7);
        let json = serde_json::to_value(PathId::GatewayAuth).expect("serialises");
        assert_eq!(json, "gateway_auth");
    }

    #[test]
    fn ratios_without_a_baseline_are_absent() {
        let mut paths = vec![path(PathId::Gateway, 5_000.0, 400.0, 900.0, 0.2)];
        compute_ratios(&mut paths);
        assert_eq!(paths[0].ratios, Ratios::default());
        assert_eq!(ratio(1.0, 0.0), None);
    }

    #[test]
    fn headroom_compares_direct_with_the_best_proxied_path() {
        let mut paths = vec![
            path(PathId::Direct, 40_000.0, 100.0, 200.0, 0.0),
            path(PathId::PlainEnvoy, 10_000.0, 150.0, 300.0, 0.07),
            path(PathId::Gateway, 5_000.0, 400.0, 900.0, 0.2),
        ];
        paths[0].cpu_saturated.loadgen = 0.02;
        paths[0].cpu_saturated.backend = 0.01;
        let h = headroom(&paths).expect("direct present");
        assert_eq!(h.factor, 4.0);
        assert_eq!(h.best_proxied_throughput, 10_000.0);
        assert!((h.loadgen_cpu_us_per_call - 20.0).abs() < 1e-9);
        assert!((h.backend_cpu_us_per_call - 10.0).abs() < 1e-9);
        assert!((h.gateway_cpu_us_per_call - 200.0).abs() < 1e-9);
        assert!(headroom(&paths[1..]).is_none());
    }

    #[test]
    fn medians_and_units() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
        assert!((kib_to_mb(44_000) - 45.056).abs() < 1e-9);
    }
}
