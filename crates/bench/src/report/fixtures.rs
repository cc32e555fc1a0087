//! Test fixtures: results with chosen numbers.

use std::collections::BTreeMap;

use super::results::{CpuPerCalls, Memory, PathId, PathResult, Ratios, Throughput};
use crate::loadgen::{Percentiles, Summary};

/// A path result with the given throughput, fixed-rate p50/p99 (µs) and gateway CPU per 1k.
pub(crate) fn path(id: PathId, throughput: f64, p50: f64, p99: f64, cpu: f64) -> PathResult {
    PathResult {
        path: id,
        tool: "echo".into(),
        throughput: Throughput {
            concurrency: 16,
            rounds: vec![throughput],
            median: throughput,
            ..Throughput::default()
        },
        latency: Summary {
            requests: 100,
            ok: 100,
            errors: BTreeMap::new(),
            first_error: None,
            elapsed_s: 1.0,
            throughput: 100.0,
            offered_rate: Some(100.0),
            latency_us: Percentiles {
                p50,
                p99,
                ..Percentiles::default()
            },
            send_lag_us: None,
        },
        cpu_saturated: CpuPerCalls {
            gateway: cpu,
            ..CpuPerCalls::default()
        },
        cpu_at_rate: CpuPerCalls::default(),
        peak_rss_mb: Memory::default(),
        ratios: Ratios::default(),
    }
}
