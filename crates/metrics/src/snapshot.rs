//! What is read from the gateway's shared state at scrape time instead of counted on the
//! request path: sessions, backend health, catalog size, config status, audit drops.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::names;

/// One backend as the catalog sees it.
#[derive(Clone, Debug, Default)]
pub struct ServerSnapshot {
    /// The configured name.
    pub name: String,
    /// Its last discovery succeeded.
    pub up: bool,
    /// Tools it exposes.
    pub tools: u64,
}

/// The state-derived metrics at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Live gateway sessions; `None` when the store cannot say (Redis down).
    pub sessions: Option<u64>,
    /// Every enabled server.
    pub servers: Vec<ServerSnapshot>,
    /// Config files applied since start.
    pub config_reloads: u64,
    /// Config files rejected since start.
    pub config_rejections: u64,
    /// The config in force matches its source.
    pub config_in_sync: bool,
    /// Audit lines dropped since start.
    pub audit_dropped: u64,
}

/// Reads a [`Snapshot`] from the running gateway.
pub trait Source: Send + Sync + 'static {
    /// The snapshot now.
    fn snapshot(&self) -> impl Future<Output = Snapshot> + Send;
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(value).encode(metric)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        const SESSIONS_HELP: &str = "Live gateway sessions";
        match self.sessions {
            Some(sessions) => gauge(
                &mut encoder,
                names::SESSIONS,
                SESSIONS_HELP,
                i64::try_from(sessions).unwrap_or(i64::MAX),
            )?,
            // The store cannot say (Redis down): the family without a sample.
            None => {
                encoder.encode_descriptor(
                    names::SESSIONS,
                    SESSIONS_HELP,
                    None,
                    MetricType::Gauge,
                )?;
            }
        }
        {
            let mut family = encoder.encode_descriptor(
                names::BACKEND_UP,
                "1 when the last discovery of the server succeeded",
                None,
                MetricType::Gauge,
            )?;
            for server in &self.servers {
                let labels = [("server", server.name.as_str())];
                ConstGauge::new(i64::from(server.up)).encode(family.encode_family(&labels)?)?;
            }
        }
        {
            let mut family = encoder.encode_descriptor(
                names::CATALOG_TOOLS,
                "Tools the catalog exposes, by server",
                None,
                MetricType::Gauge,
            )?;
            for server in &self.servers {
                let labels = [("server", server.name.as_str())];
                ConstGauge::new(i64::try_from(server.tools).unwrap_or(i64::MAX))
                    .encode(family.encode_family(&labels)?)?;
            }
        }
        counter(
            &mut encoder,
            names::CONFIG_RELOADS,
            "Config files applied since start",
            self.config_reloads,
        )?;
        counter(
            &mut encoder,
            names::CONFIG_REJECTIONS,
            "Config files rejected since start (the last good config stayed in force)",
            self.config_rejections,
        )?;
        gauge(
            &mut encoder,
            names::CONFIG_IN_SYNC,
            "1 when the config in force matches its source",
            i64::from(self.config_in_sync),
        )?;
        counter(
            &mut encoder,
            names::AUDIT_DROPPED,
            "Audit lines dropped because the audit writer fell behind",
            self.audit_dropped,
        )
    }
}
