//! The broker-router's Prometheus metrics.
//!
//! Counters on the request path are atomics in lock-free maps ([`Calls`], [`Labeled`],
//! [`LatencyHistogram`]), reached through [`global`] so that any crate can count without
//! threading a handle through every constructor. What can be read from the gateway's shared
//! state (sessions, backend health, catalog size, config status, audit drops) is read at
//! scrape time instead ([`Snapshot`]). [`admin::router`] serves it all as OpenMetrics text
//! on `GET /metrics`. Names are in [`names`], once.

pub mod admin;
mod calls;
mod histogram;
mod labeled;
mod listed;
pub mod names;
mod snapshot;

use std::sync::{Arc, LazyLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

pub use calls::{Call, Calls, MAX_SERIES, Outcome};
pub use histogram::LatencyHistogram;
pub use labeled::Labeled;
pub use listed::LastListed;
pub use snapshot::{ServerSnapshot, Snapshot, Source};

/// Result label: it worked.
pub const OK: &str = "ok";
/// Result label: it failed.
pub const FAILED: &str = "failed";

/// The counters of this process.
#[derive(Debug)]
pub struct Metrics {
    /// MCP requests by server, tool, method and outcome.
    pub calls: Arc<Calls>,
    /// Time of the router's decision on a request body.
    pub decision: Arc<LatencyHistogram>,
    /// ext_proc streams opened by Envoy.
    pub ext_proc_streams: Counter,
    /// ext_proc messages received.
    pub ext_proc_messages: Counter,
    /// Backend sessions opened, by server.
    pub backend_opens: Arc<Labeled>,
    /// Backend sessions that failed to open, by server.
    pub backend_failures: Arc<Labeled>,
    /// Backend sessions forgotten after the backend lost them, by server.
    pub backend_heals: Arc<Labeled>,
    /// Discovery listings, by server and result.
    pub discovery: Arc<Labeled>,
    /// When each server was last listed successfully.
    pub last_listed: Arc<LastListed>,
    /// Aggregated lists served from the broker's cache, by list method.
    pub broker_lists: Arc<Labeled>,
    /// Token requests, by server and result.
    pub token_requests: Arc<Labeled>,
}

impl Metrics {
    fn new() -> Self {
        Self {
            calls: Arc::default(),
            decision: Arc::new(LatencyHistogram::new(
                names::DECISION_SECONDS,
                "Time the router took to decide a request body, including a backend session \
                 it opened and a credential it fetched for it",
            )),
            ext_proc_streams: Counter::default(),
            ext_proc_messages: Counter::default(),
            backend_opens: Arc::new(Labeled::new(
                names::BACKEND_SESSION_OPENS,
                "Backend sessions opened, by server",
                "server",
                None,
            )),
            backend_failures: Arc::new(Labeled::new(
                names::BACKEND_SESSION_FAILURES,
                "Backend sessions that could not be opened, by server",
                "server",
                None,
            )),
            backend_heals: Arc::new(Labeled::new(
                names::BACKEND_SESSION_HEALS,
                "Backend sessions forgotten because the backend lost them (the next call \
                 opens a new one), by server",
                "server",
                None,
            )),
            discovery: Arc::new(Labeled::new(
                names::DISCOVERY_LISTINGS,
                "Discovery listings of a backend's tools, prompts and resources, by server \
                 and result",
                "server",
                Some("result"),
            )),
            last_listed: Arc::default(),
            broker_lists: Arc::new(Labeled::new(
                names::BROKER_LISTS,
                "Aggregated lists the broker served from its cache, by method",
                "method",
                None,
            )),
            token_requests: Arc::new(Labeled::new(
                names::TOKEN_REQUESTS,
                "Requests to token endpoints for backend credentials, by server and result",
                "server",
                Some("result"),
            )),
        }
    }

    /// The OpenMetrics text of every metric, with `snapshot`'s.
    pub fn render(&self, snapshot: Snapshot) -> String {
        let mut registry = Registry::with_prefix(names::PREFIX);
        registry.register_collector(Box::new(self.calls.clone()));
        registry.register_collector(Box::new(self.decision.clone()));
        registry.register(
            names::EXT_PROC_STREAMS,
            "ext_proc streams Envoy opened to the router (one per request and filter)",
            self.ext_proc_streams.clone(),
        );
        registry.register(
            names::EXT_PROC_MESSAGES,
            "ext_proc messages the router received",
            self.ext_proc_messages.clone(),
        );
        for family in [
            &self.backend_opens,
            &self.backend_failures,
            &self.backend_heals,
            &self.discovery,
            &self.broker_lists,
            &self.token_requests,
        ] {
            registry.register_collector(Box::new(family.clone()));
        }
        registry.register_collector(Box::new(self.last_listed.clone()));
        registry.register_collector(Box::new(snapshot));
        let mut text = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    /// ext_proc messages so far (for tests and the console).
    pub fn ext_proc_messages(&self) -> u64 {
        self.ext_proc_messages.get()
    }
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// This process's metrics.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

/// The sample names this process exports (`_total`, `_bucket`, … included), sorted: what
/// dashboards and alerts may name. Checked in as `crates/metrics/exported-names.txt`, which
/// `make k8s-validate` checks the chart's Grafana dashboard against; a test keeps the two
/// equal.
pub fn exported_names() -> Vec<String> {
    let text = Metrics::new().render(Snapshot::default());
    let mut names = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        match kind {
            "counter" => names.push(format!("{name}_total")),
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.push(format!("{name}{suffix}"));
                }
            }
            _ => names.push(name.to_owned()),
        }
    }
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crates/metrics/exported-names.txt` lists exactly what is exported.
    /// `UPDATE_EXPORTED_NAMES=1 cargo test -p mcp-gateway-metrics` rewrites it.
    #[test]
    fn the_checked_list_of_names_is_what_is_exported() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exported-names.txt");
        let names = exported_names();
        assert!(names.len() > 15, "{names:?}");
        let want = names.join("\n") + "\n";
        if std::env::var_os("UPDATE_EXPORTED_NAMES").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            have,
            want,
            "{} is out of date: rewrite it with `UPDATE_EXPORTED_NAMES=1 cargo test -p \
             mcp-gateway-metrics`, then check the chart's dashboard (`make k8s-validate`)",
            path.display()
        );
    }

    #[test]
    fn renders_every_family() {
        let metrics = Metrics::new();
        metrics.calls.record(
            Call {
                server: "weather",
                name: "forecast",
                method: "tools/call",
                outcome: Outcome::Ok,
            },
            || Some("weather_forecast".into()),
        );
        metrics
            .decision
            .observe(std::time::Duration::from_micros(70));
        metrics.discovery.inc("weather", OK);
        metrics.last_listed.mark(
            "weather",
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500),
        );
        let text = metrics.render(Snapshot {
            sessions: Some(3),
            servers: vec![ServerSnapshot {
                name: "weather".into(),
                up: true,
                tools: 2,
            }],
            ..Snapshot::default()
        });
        assert!(text.contains(
            "mcp_gateway_calls_total{server=\"weather\",tool=\"weather_forecast\",method=\"tools/call\",outcome=\"ok\"} 1"
        ), "{text}");
        assert!(
            text.contains("mcp_gateway_router_decision_seconds_bucket{le=\"0.0001\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mcp_gateway_router_decision_seconds_count 1"),
            "{text}"
        );
        assert!(text.contains("mcp_gateway_sessions 3"), "{text}");
        assert!(
            text.contains("mcp_gateway_backend_up{server=\"weather\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "mcp_gateway_discovery_listings_total{server=\"weather\",result=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "mcp_gateway_discovery_last_success_timestamp_seconds{server=\"weather\"} 1700000000.5"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
