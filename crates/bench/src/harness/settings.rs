//! Sizes and durations of a run: the full preset behind `make bench` (about ten minutes on
//! two cores) and the `--quick` preset for development.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything a run is parameterised by.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// Shortened sizes for development; numbers are not comparable with a full run.
    pub quick: bool,
    /// Interleaved rounds over every path (order reversed every other round).
    pub rounds: usize,
    /// Closed-loop connections for throughput.
    pub concurrency: usize,
    /// Sessions requests are spread over, per path.
    pub sessions: usize,
    /// Closed-loop measured time per path per round.
    #[serde(with = "secs")]
    pub throughput_duration: Duration,
    /// Open-loop fixed low rate, req/s.
    pub rate: f64,
    /// Open-loop measured time per path per round.
    #[serde(with = "secs")]
    pub latency_duration: Duration,
    /// Unmeasured run before each measurement.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// Per-request timeout.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// Offered rates of the sweep, as fractions of the fastest path's throughput.
    pub sweep_fractions: Vec<f64>,
    /// Open-loop time per sweep point.
    #[serde(with = "secs")]
    pub sweep_duration: Duration,
    /// Concurrent sessions scenario: sessions.
    pub scale_sessions: usize,
    /// ...and the client connections they share.
    pub scale_connections: usize,
    /// First-call storm: new sessions calling at once.
    pub storm_sessions: usize,
    /// Listing scenario: synthetic backends.
    pub listing_backends: usize,
    /// ...tools per backend.
    pub listing_tools: usize,
    /// ...measured time per path and mode.
    #[serde(with = "secs")]
    pub listing_duration: Duration,
    /// ...closed-loop connections for throughput.
    pub listing_concurrency: usize,
    /// The gateway's `--discovery-interval` in the listing scenario.
    #[serde(with = "secs")]
    pub discovery_interval: Duration,
    /// Envoy `--concurrency` (worker threads) of every Envoy.
    pub envoy_concurrency: usize,
    /// Echo backend worker threads (0: one per CPU).
    pub backend_threads: usize,
}

impl Settings {
    /// The preset behind `make bench`.
    pub fn full() -> Self {
        Self {
            quick: false,
            rounds: 3,
            concurrency: 16,
            sessions: 64,
            throughput_duration: Duration::from_secs(8),
            rate: 500.0,
            latency_duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            sweep_fractions: vec![0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.7, 0.85],
            sweep_duration: Duration::from_secs(3),
            scale_sessions: 10_000,
            scale_connections: 64,
            storm_sessions: 1_000,
            listing_backends: 100,
            listing_tools: 100,
            listing_duration: Duration::from_secs(5),
            listing_concurrency: 4,
            // The gateway's default: what users run. A change shows within one interval.
            discovery_interval: Duration::from_secs(30),
            envoy_concurrency: 1,
            backend_threads: 0,
        }
    }

    /// Short runs and small scenarios, to check that everything works.
    pub fn quick() -> Self {
        Self {
            quick: true,
            rounds: 1,
            sessions: 16,
            throughput_duration: Duration::from_secs(1),
            latency_duration: Duration::from_secs(1),
            warmup: Duration::from_millis(300),
            sweep_fractions: vec![0.05, 0.15, 0.3],
            sweep_duration: Duration::from_secs(1),
            scale_sessions: 1_000,
            storm_sessions: 100,
            listing_backends: 10,
            listing_tools: 100,
            listing_duration: Duration::from_secs(1),
            discovery_interval: Duration::from_secs(2),
            ..Self::full()
        }
    }
}

/// Durations as seconds (f64) in JSON.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_as_seconds() {
        let settings = Settings::quick();
        let json = serde_json::to_value(&settings).expect("serialises");
        assert_eq!(json["warmup"], 0.3);
        let back: Settings = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, settings);
    }

    #[test]
    fn quick_is_smaller_than_full() {
        let (quick, full) = (Settings::quick(), Settings::full());
        assert!(quick.rounds <= full.rounds);
        assert!(quick.throughput_duration < full.throughput_duration);
        assert!(quick.scale_sessions < full.scale_sessions);
        assert_eq!(full.scale_sessions, 10_000);
        assert_eq!(full.storm_sessions, 1_000);
        assert_eq!(full.listing_backends * full.listing_tools, 10_000);
    }
}
