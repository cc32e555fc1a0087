//! When each server's tools were last listed successfully: a gauge of Unix seconds for
//! alerts on a backend that stopped answering, and the "last listing" the console shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::names;

/// Time of the last successful discovery listing, by server (Unix milliseconds in a
/// lock-free map; written by discovery, never by the request path).
#[derive(Debug, Default)]
pub struct LastListed {
    at: papaya::HashMap<Box<str>, AtomicU64>,
}

impl LastListed {
    /// Notes that `server` was listed at `at`.
    pub fn mark(&self, server: &str, at: SystemTime) {
        let millis = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let at = self.at.pin();
        match at.get(server) {
            Some(slot) => slot.store(millis, Ordering::Relaxed),
            None => {
                at.insert(server.into(), AtomicU64::new(millis));
            }
        }
    }

    /// When `server` was last listed successfully, if ever.
    pub fn get(&self, server: &str) -> Option<SystemTime> {
        let millis = self.at.pin().get(server)?.load(Ordering::Relaxed);
        Some(UNIX_EPOCH + Duration::from_millis(millis))
    }
}

impl Collector for LastListed {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            names::DISCOVERY_LAST_SUCCESS,
            "Unix time of the last successful discovery listing, by server",
            None,
            MetricType::Gauge,
        )?;
        for (server, millis) in self.at.pin().iter() {
            let seconds = millis.load(Ordering::Relaxed) as f64 / 1000.0;
            let labels = [("server", &**server)];
            ConstGauge::new(seconds).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_time_per_server() {
        let listed = LastListed::default();
        assert_eq!(listed.get("calc"), None);
        let first = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        listed.mark("calc", first);
        listed.mark("calc", first + Duration::from_secs(30));
        assert_eq!(listed.get("calc"), Some(first + Duration::from_secs(30)));
        assert_eq!(listed.get("text"), None);
    }
}
