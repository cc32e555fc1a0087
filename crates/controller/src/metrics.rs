//! Prometheus metrics of the controller (prefix `mcp_controller_`), served on
//! `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Error;
use crate::reason::Reason;

/// `result` of a reconcile: `success` or an [`Error::metric_label`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// `reason` of the `Ready` condition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The controller's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabel, Counter>,
    reconcile_duration: Histogram,
    mcpservers: Family<ReasonLabel, Gauge>,
    published_servers: Gauge,
    status_patches: Counter,
    configmap_applies: Counter,
    leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp_controller");
        let reconciles = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reconciles",
            "Full reconciles, by result (success or error kind)",
            reconciles.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register(
            "reconcile_duration_seconds",
            "Time of one full reconcile",
            reconcile_duration.clone(),
        );
        let mcpservers = Family::<ReasonLabel, Gauge>::default();
        registry.register(
            "mcpservers",
            "MCPServers by the reason of their Ready condition",
            mcpservers.clone(),
        );
        let published_servers = Gauge::default();
        registry.register(
            "published_servers",
            "Server entries in the gateway config ConfigMap",
            published_servers.clone(),
        );
        let status_patches = Counter::default();
        registry.register(
            "status_patches",
            "MCPServer status patches written",
            status_patches.clone(),
        );
        let configmap_applies = Counter::default();
        registry.register(
            "configmap_applies",
            "Gateway config ConfigMap applies written",
            configmap_applies.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease (or runs without election)",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_duration,
            mcpservers,
            published_servers,
            status_patches,
            configmap_applies,
            leader,
        }
    }

    /// Records one reconcile's duration and result.
    pub fn reconciled(&self, took: Duration, result: Result<(), &Error>) {
        self.reconcile_duration.observe(took.as_secs_f64());
        let result = result.err().map_or("success", Error::metric_label);
        self.reconciles.get_or_create(&ResultLabel { result }).inc();
    }

    /// Sets the MCPServer counts by reason and the number of published entries.
    pub fn set_servers(&self, reasons: impl IntoIterator<Item = Reason>, published: usize) {
        let reasons: Vec<Reason> = reasons.into_iter().collect();
        for reason in Reason::ALL {
            let count = reasons.iter().filter(|r| **r == reason).count();
            self.mcpservers
                .get_or_create(&ReasonLabel {
                    reason: reason.as_str(),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.published_servers
            .set(i64::try_from(published).unwrap_or(i64::MAX));
    }

    /// Counts one status patch.
    pub fn status_patched(&self) {
        self.status_patches.inc();
    }

    /// Counts one ConfigMap apply.
    pub fn configmap_applied(&self) {
        self.configmap_applies.inc();
    }

    /// Sets whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// `GET /metrics`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_recorded_values() {
        let metrics = Metrics::new();
        metrics.reconciled(Duration::from_millis(20), Ok(()));
        let err = Error::Yaml(serde::de::Error::custom("x"));
        metrics.reconciled(Duration::from_millis(20), Err(&err));
        metrics.set_servers(
            [Reason::Published, Reason::Published, Reason::PrefixConflict],
            3,
        );
        metrics.set_leader(true);
        let text = metrics.encode().expect("encodes");
        assert!(
            text.contains(r#"mcp_controller_reconciles_total{result="success"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_controller_reconciles_total{result="serialize"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_controller_mcpservers{reason="Published"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_controller_mcpservers{reason="PrefixConflict"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_controller_mcpservers{reason="RouteNotFound"} 0"#),
            "{text}"
        );
        assert!(
            text.contains("mcp_controller_published_servers 3"),
            "{text}"
        );
        assert!(text.contains("mcp_controller_leader 1"), "{text}");
    }
}
