//! CPU time of a path's processes, summed over runs and divided by the calls they served.

use super::stack::PathSample;
use crate::report::CpuPerCalls;

/// CPU seconds and calls summed over the runs of one path.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTally {
    envoy: Option<f64>,
    router: Option<f64>,
    backend: f64,
    loadgen: f64,
    calls: u64,
}

impl CpuTally {
    /// Adds one run: the samples before and after it, and the calls it completed.
    pub fn add(&mut self, before: &PathSample, after: &PathSample, calls: u64) {
        let delta = |b: f64, a: f64| (a - b).max(0.0);
        if let (Some(b), Some(a)) = (before.envoy, after.envoy) {
            *self.envoy.get_or_insert(0.0) += delta(b.cpu_seconds, a.cpu_seconds);
        }
        if let (Some(b), Some(a)) = (before.router, after.router) {
            *self.router.get_or_insert(0.0) += delta(b.cpu_seconds, a.cpu_seconds);
        }
        self.backend += delta(before.backend.cpu_seconds, after.backend.cpu_seconds);
        self.loadgen += delta(before.loadgen.cpu_seconds, after.loadgen.cpu_seconds);
        self.calls += calls;
    }

    /// CPU seconds per 1,000 calls.
    pub fn per_thousand(&self) -> CpuPerCalls {
        let per = |seconds: f64| {
            if self.calls == 0 {
                0.0
            } else {
                seconds * 1_000.0 / self.calls as f64
            }
        };
        let envoy = self.envoy.map(per);
        let router = self.router.map(per);
        CpuPerCalls {
            envoy,
            router,
            gateway: envoy.unwrap_or(0.0) + router.unwrap_or(0.0),
            backend: per(self.backend),
            loadgen: per(self.loadgen),
            calls: self.calls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::procfs::ProcSample;

    fn sample(envoy: Option<f64>, router: Option<f64>, backend: f64, loadgen: f64) -> PathSample {
        let cpu = |cpu_seconds| ProcSample {
            cpu_seconds,
            ..ProcSample::default()
        };
        PathSample {
            envoy: envoy.map(cpu),
            router: router.map(cpu),
            backend: cpu(backend),
            loadgen: cpu(loadgen),
        }
    }

    #[test]
    fn sums_runs_and_divides_by_calls() {
        let mut tally = CpuTally::default();
        tally.add(
            &sample(Some(1.0), Some(2.0), 0.0, 0.0),
            &sample(Some(1.5), Some(2.25), 0.1, 0.2),
            5_000,
        );
        tally.add(
            &sample(Some(2.0), Some(3.0), 1.0, 1.0),
            &sample(Some(2.5), Some(3.25), 1.1, 1.2),
            5_000,
        );
        let per = tally.per_thousand();
        assert_eq!(per.calls, 10_000);
        assert!((per.envoy.expect("envoy") - 0.1).abs() < 1e-12);
        assert!((per.router.expect("router") - 0.05).abs() < 1e-12);
        assert!((per.gateway - 0.15).abs() < 1e-12);
        assert!((per.backend - 0.02).abs() < 1e-12);
        assert!((per.loadgen - 0.04).abs() < 1e-12);
    }

    #[test]
    fn direct_has_no_gateway_cost_and_zero_calls_divide_safely() {
        let mut tally = CpuTally::default();
        tally.add(
            &sample(None, None, 0.0, 0.0),
            &sample(None, None, 1.0, 1.0),
            0,
        );
        let per = tally.per_thousand();
        assert_eq!(
            (per.envoy, per.router, per.gateway, per.backend),
            (None, None, 0.0, 0.0)
        );
    }
}
