//! Turning export on: the OTLP/gRPC exporter, the tracer provider and the `tracing` layer.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

use crate::{ENABLED, TARGET};

/// The service name spans are exported under unless `OTEL_SERVICE_NAME` says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "mcp-broker-router";

/// Where spans go. Everything else follows the standard `OTEL_*` variables the OpenTelemetry
/// SDK reads: `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
/// `OTEL_TRACES_SAMPLER(_ARG)` (default `parentbased_always_on`: follow the sampled flag
/// of the `traceparent` Envoy sends), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The collector's OTLP/gRPC endpoint (`http://collector:4317`); `None`: traces are off.
    pub endpoint: Option<String>,
}

impl Settings {
    /// The endpoint of `--otlp-endpoint`, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, unless
    /// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
    pub fn from_flag_and_env(flag: Option<&str>) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let endpoint = flag
            .map(str::to_owned)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        Self {
            endpoint: endpoint.filter(|_| !disabled),
        }
    }
}

/// Why export could not be turned on.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The exporter could not be built (e.g. a malformed endpoint).
    #[error("OTLP trace exporter for {endpoint}: {source}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// What the exporter said.
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// Keeps export running; dropping it sends what is still buffered and stops.
#[derive(Debug)]
pub struct Guard(Option<SdkTracerProvider>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            ENABLED.store(false, std::sync::atomic::Ordering::Relaxed);
            // Errors here (a collector that went away) only lose the last batch.
            let _ = provider.shutdown();
        }
    }
}

/// The `tracing` layer exporting the spans of [`TARGET`] (and nothing else) over OTLP/gRPC,
/// and the guard that keeps it running; `None` with no endpoint. Call inside the Tokio
/// runtime that serves the gateway: batches are sent from a task of it.
#[allow(clippy::type_complexity)]
pub fn install<S>(settings: &Settings) -> Result<(Option<impl Layer<S>>, Guard), SetupError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(endpoint) = &settings.endpoint else {
        return Ok((None, Guard(None)));
    };
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .build()
        .map_err(|source| SetupError::Exporter {
            endpoint: endpoint.clone(),
            source,
        })?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(DEFAULT_SERVICE_NAME);
    }
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter, Tokio).build())
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("mcp-gateway");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(Targets::new().with_target(TARGET, LevelFilter::INFO));
    ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok((Some(layer), Guard(Some(provider))))
}
