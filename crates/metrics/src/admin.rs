//! The admin HTTP endpoint: `GET /metrics`, apart from the MCP traffic.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::{Source, global};

/// Path of the metrics endpoint.
pub const METRICS_PATH: &str = "/metrics";

/// Content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The admin app: `GET /metrics` with `source`'s state-derived metrics.
pub fn router<S: Source>(source: Arc<S>) -> Router {
    Router::new()
        .route(METRICS_PATH, get(metrics::<S>))
        .with_state(source)
}

async fn metrics<S: Source>(State(source): State<Arc<S>>) -> impl IntoResponse {
    let snapshot = source.snapshot().await;
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        global().render(snapshot),
    )
}
