//! Latency histograms and error counts, and their JSON summary.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::BenchError;

/// Highest latency the histograms hold, in nanoseconds (larger values are clamped).
const MAX_NANOS: u64 = 120_000_000_000;
/// Significant decimal digits kept.
const DIGITS: u8 = 3;

fn histogram() -> Histogram<u64> {
    // Constant, valid bounds: creation cannot fail.
    Histogram::new_with_bounds(1, MAX_NANOS, DIGITS).expect("constant histogram bounds are valid")
}

/// Latencies of successful requests, the open loop's send lag, and errors by kind.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    first_error: Option<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self {
            latency: histogram(),
            lag: histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            first_error: None,
        }
    }

    /// A successful request and its latency.
    pub fn ok(&mut self, latency: Duration) {
        self.ok += 1;
        self.latency.saturating_record(nanos(latency));
    }

    /// How late the open loop sent a request after its scheduled time.
    pub fn lag(&mut self, lag: Duration) {
        self.lag.saturating_record(nanos(lag));
    }

    /// A failed request.
    pub fn error(&mut self, error: &BenchError) {
        *self.errors.entry(error.kind()).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error.to_string());
        }
    }

    /// Adds another recorder's counts.
    pub fn merge(&mut self, other: &Self) {
        self.ok += other.ok;
        // Same bounds on both sides: adding cannot fail.
        self.latency.add(&other.latency).ok();
        self.lag.add(&other.lag).ok();
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += count;
        }
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    /// Successful requests.
    pub fn ok_count(&self) -> u64 {
        self.ok
    }

    /// Failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The summary of a run that lasted `elapsed`, offered at `offered` req/s when open loop.
    pub fn summary(&self, elapsed: Duration, offered: Option<f64>) -> Summary {
        let secs = elapsed.as_secs_f64();
        Summary {
            requests: self.ok + self.error_count(),
            ok: self.ok,
            errors: self.errors.clone(),
            first_error: self.first_error.clone(),
            elapsed_s: secs,
            throughput: if secs > 0.0 {
                self.ok as f64 / secs
            } else {
                0.0
            },
            offered_rate: offered,
            latency_us: Percentiles::of(&self.latency),
            send_lag_us: (!self.lag.is_empty()).then(|| Percentiles::of(&self.lag)),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// What one run did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Requests completed (successes and errors).
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Errors by kind (see [`BenchError::kind`]).
    pub errors: BTreeMap<String, u64>,
    /// The first error, in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Length of the measured window, seconds.
    pub elapsed_s: f64,
    /// Successful requests per second.
    pub throughput: f64,
    /// The open loop's scheduled rate, req/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_rate: Option<f64>,
    /// Latency of successful requests, microseconds (open loop: from the scheduled send time).
    pub latency_us: Percentiles,
    /// Open loop only: how late requests left after their scheduled time, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_us: Option<Percentiles>,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Number of samples.
    pub count: u64,
}

impl Percentiles {
    /// The percentiles of a histogram of nanoseconds (all zero when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let us = |nanos: u64| nanos as f64 / 1_000.0;
        Self {
            p50: us(histogram.value_at_quantile(0.50)),
            p90: us(histogram.value_at_quantile(0.90)),
            p99: us(histogram.value_at_quantile(0.99)),
            p99_9: us(histogram.value_at_quantile(0.999)),
            max: us(histogram.max()),
            mean: histogram.mean() / 1_000.0,
            count: histogram.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b * 0.002 + 0.01
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut recorder = Recorder::new();
        for us in 1..=1000u64 {
            recorder.ok(Duration::from_micros(us));
        }
        let summary = recorder.summary(Duration::from_secs(2), None);
        assert_eq!(summary.ok, 1000);
        assert!(close(summary.throughput, 500.0));
        let p = summary.latency_us;
        assert!(close(p.p50, 500.0), "{p:?}");
        assert!(close(p.p90, 900.0), "{p:?}");
        assert!(close(p.p99, 990.0), "{p:?}");
        assert!(close(p.p99_9, 999.0), "{p:?}");
        assert!(close(p.max, 1000.0), "{p:?}");
        assert!(close(p.mean, 500.5), "{p:?}");
        assert_eq!(p.count, 1000);
        assert!(summary.send_lag_us.is_none());
    }

    #[test]
    fn merge_adds_counts_and_errors() {
        let mut a = Recorder::new();
        a.ok(Duration::from_micros(100));
        a.error(&BenchError::Timeout(Duration::from_secs(1)));
        let mut b = Recorder::new();
        b.ok(Duration::from_micros(300));
        b.error(&BenchError::Timeout(Duration::from_secs(1)));
        b.error(&BenchError::Protocol("x".into()));
        b.lag(Duration::from_micros(5));
        a.merge(&b);
        assert_eq!((a.ok_count(), a.error_count()), (2, 3));
        let summary = a.summary(Duration::from_secs(1), Some(10.0));
        assert_eq!(summary.errors["timeout"], 2);
        assert_eq!(summary.errors["protocol"], 1);
        assert!(summary.first_error.expect("kept").contains("no response"));
        assert!(close(summary.latency_us.max, 300.0));
        assert!(summary.send_lag_us.is_some());
        assert_eq!(summary.offered_rate, Some(10.0));
    }

    #[test]
    fn empty_and_huge_values_do_not_panic() {
        let mut recorder = Recorder::new();
        assert_eq!(recorder.summary(Duration::ZERO, None).throughput, 0.0);
        recorder.ok(Duration::from_secs(1_000));
        recorder.ok(Duration::ZERO);
        assert_eq!(recorder.ok_count(), 2);
    }
}
