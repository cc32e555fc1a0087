//! Calls by (server, tool, method, outcome): one atomic counter per label set, in a
//! lock-free map, found without allocating once the label set exists.
//!
//! The tool label is only ever a name the caller of [`Calls::record`] vouched for (a
//! catalog name); everything else is counted under an empty tool. The number of label sets
//! is capped at [`MAX_SERIES`]: past it, new ones are counted under empty server and tool.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use papaya::Equivalent;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

use crate::names;

/// Most label sets kept; a scrape stays small whatever clients send.
pub const MAX_SERIES: usize = 10_000;

/// How a call ended, as far as the gateway saw it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// Routed to its backend (or answered by the broker).
    Ok,
    /// Answered by the gateway with a JSON-RPC error (bad input, unknown tool, session).
    Error,
    /// Refused by authentication or policy.
    Denied,
    /// The backend could not be reached, opened, given its credential, or lost the session.
    BackendError,
}

impl Outcome {
    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Denied => "denied",
            Self::BackendError => "backend_error",
        }
    }
}

/// One call to count. `name` is the name at the server (or empty); the exported `tool`
/// label is the exposed name [`Calls::record`]'s `exposed` vouches for.
#[derive(Clone, Copy, Debug, Hash)]
pub struct Call<'a> {
    /// The server it went to; empty for the gateway itself.
    pub server: &'a str,
    /// The tool's name at that server; empty when none.
    pub name: &'a str,
    /// The method label (a bounded set, see `mcp_gateway_routing`).
    pub method: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

#[derive(Debug, Hash, PartialEq, Eq)]
struct Key {
    server: Box<str>,
    name: Box<str>,
    method: &'static str,
    outcome: Outcome,
}

impl Equivalent<Key> for Call<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *key.server == *self.server
            && *key.name == *self.name
            && key.method == self.method
            && key.outcome == self.outcome
    }
}

#[derive(Debug)]
struct Series {
    /// The exported tool label.
    tool: Box<str>,
    count: AtomicU64,
}

/// The call counters.
#[derive(Debug, Default)]
pub struct Calls {
    series: papaya::HashMap<Key, Arc<Series>>,
}

impl Calls {
    /// Counts `call`. `exposed` is asked only the first time a label set is seen: it returns
    /// the exposed tool name when `call.name` is a catalog tool of `call.server`, `None`
    /// otherwise (the call is then counted under an empty tool).
    pub fn record(&self, call: Call<'_>, exposed: impl FnOnce() -> Option<String>) {
        let series = self.series.pin();
        if let Some(found) = series.get(&call) {
            found.count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let tool = if call.name.is_empty() {
            None
        } else {
            exposed()
        };
        let (server, name, tool) = match tool {
            Some(tool) if series.len() < MAX_SERIES => (call.server, call.name, tool),
            Some(_) => ("", "", String::new()),
            None if series.len() < MAX_SERIES => (call.server, "", String::new()),
            None => ("", "", String::new()),
        };
        let target = Call {
            server,
            name,
            ..call
        };
        if let Some(found) = series.get(&target) {
            found.count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let key = Key {
            server: server.into(),
            name: name.into(),
            method: call.method,
            outcome: call.outcome,
        };
        let found = series.get_or_insert_with(key, || {
            Arc::new(Series {
                tool: tool.into(),
                count: AtomicU64::new(0),
            })
        });
        found.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Label sets held.
    pub fn series(&self) -> usize {
        self.series.len()
    }
}

impl Collector for Calls {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            names::CALLS,
            "MCP requests the router routed or answered, by server (empty: the gateway), \
             tool (catalog names only), method and outcome",
            None,
            MetricType::Counter,
        )?;
        for (key, series) in self.series.pin().iter() {
            let labels = [
                ("server", &*key.server),
                ("tool", &*series.tool),
                ("method", key.method),
                ("outcome", key.outcome.as_str()),
            ];
            let counter = ConstCounter::new(series.count.load(Ordering::Relaxed));
            counter.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(server: &'a str, name: &'a str) -> Call<'a> {
        Call {
            server,
            name,
            method: "tools/call",
            outcome: Outcome::Ok,
        }
    }

    #[test]
    fn unknown_names_share_one_series() {
        let calls = Calls::default();
        for i in 0..1000 {
            let name = format!("random_{i}");
            calls.record(call("weather", &name), || None);
        }
        calls.record(call("weather", "forecast"), || {
            Some("weather_forecast".into())
        });
        calls.record(call("weather", "forecast"), || {
            panic!("asked again for a known label set")
        });
        assert_eq!(calls.series(), 2);
    }

    #[test]
    fn series_are_capped() {
        let calls = Calls::default();
        for i in 0..(MAX_SERIES + 50) {
            let name = format!("t{i}");
            calls.record(call("s", &name), || Some(format!("p_{name}")));
        }
        // Exactly the cap, plus the one series every call past it is counted under.
        assert_eq!(calls.series(), MAX_SERIES + 1);
        let overflow = calls
            .series
            .pin()
            .get(&call("", ""))
            .map(|series| series.count.load(Ordering::Relaxed));
        assert_eq!(overflow, Some(50));
    }
}
