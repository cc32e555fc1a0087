//! OpenTelemetry traces of the gateway's own work, tied to Envoy's.
//!
//! # Why
//!
//! Envoy's OpenTelemetry tracer (configured by `envoy-config --otlp-endpoint`) makes the
//! request's span and the span of each upstream call, and sends a W3C `traceparent` to the
//! gateway: in the ext_proc stream's metadata to the router and in the request headers to
//! the broker. What Envoy cannot see is the gateway's own work: the router's decision, a
//! backend session opened on the way, the broker's answer and the requests it sends to
//! backends itself. Those become spans here, children of Envoy's, exported over OTLP/gRPC
//! to the same collector, so one trace runs from the client to the backend.
//!
//! # Cost
//!
//! Off unless an OTLP endpoint is configured ([`Settings`]). Off, every span macro is one
//! relaxed atomic load that yields [`tracing::Span::none`], and [`inject`] returns at once:
//! nothing is allocated, no header parsed. On, spans are `tracing` spans of the target
//! [`TARGET`], exported by `tracing-opentelemetry` in batches from a background task; no
//! log line is written per request. Which traces are kept is Envoy's decision (its
//! sampling rate), which the gateway follows through the `traceparent` flags.

mod attributes;
mod propagation;
mod setup;

pub use attributes::{hashed_session, keys};
pub use propagation::{Parent, extract, inject, rename, set_parent};
pub use setup::{Guard, Settings, SetupError, install};

use std::sync::atomic::{AtomicBool, Ordering};

/// The `tracing` target of every span meant for export; only these reach the exporter.
pub const TARGET: &str = "mcp_gateway_trace";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (an OTLP endpoint was configured and the exporter installed).
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A span of the gateway's own work, exported when tracing is on, [`tracing::Span::none`]
/// otherwise. The span's exported name is `otel.name` given here (else the literal name;
/// [`rename`] changes it later); further fields as in [`tracing::info_span!`], declared up
/// front (`field = Empty` to record later).
#[macro_export]
macro_rules! span {
    ($name:literal $(, $($fields:tt)*)?) => {
        if $crate::enabled() {
            ::tracing::info_span!(target: $crate::TARGET, $name $(, $($fields)*)?)
        } else {
            ::tracing::Span::none()
        }
    };
}

/// [`span!`] for work done on behalf of a traced request: [`tracing::Span::none`] unless a
/// span is current, so background work (discovery, refreshes) starts no traces of its own.
#[macro_export]
macro_rules! child_span {
    ($name:literal $(, $($fields:tt)*)?) => {
        if $crate::enabled() && !::tracing::Span::current().is_none() {
            ::tracing::info_span!(target: $crate::TARGET, $name $(, $($fields)*)?)
        } else {
            ::tracing::Span::none()
        }
    };
}
