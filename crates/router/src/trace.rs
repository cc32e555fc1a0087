//! The router's span: one per request body it decides on, a child of the span Envoy's
//! ext_proc filter opened for the stream (its `traceparent` arrives in the gRPC metadata),
//! carrying what was decided. A backend session opened for the request is a child of it.

use mcp_gateway_routing::{Addressed, Plan, RequestContext};
use mcp_gateway_telemetry::{Parent, hashed_session, keys};
use tonic::metadata::MetadataMap;
use tracing::Span;
use tracing::field::Empty;

/// The trace context of an ext_proc stream; `None` when tracing is off or Envoy sent none.
pub(crate) fn parent(metadata: &MetadataMap) -> Option<Parent> {
    mcp_gateway_telemetry::extract(|key| metadata.get(key)?.to_str().ok())
}

/// The span of one routing decision (`Span::none()` when tracing is off).
pub(crate) fn decision(parent: Option<Parent>) -> Span {
    let span = mcp_gateway_telemetry::span!(
        "route",
        otel.kind = "server",
        { keys::METHOD } = Empty,
        { keys::SERVER } = Empty,
        { keys::TOOL } = Empty,
        { keys::PROMPT } = Empty,
        { keys::SESSION } = Empty,
        { keys::ERROR_TYPE } = Empty,
        { keys::ERROR_CODE } = Empty,
        otel.status_code = Empty,
    );
    mcp_gateway_telemetry::set_parent(&span, parent);
    span
}

/// Records on `span` what the body phase decided.
pub(crate) fn record(span: &Span, ctx: &RequestContext, plan: &Plan) {
    if span.is_none() {
        return;
    }
    let method = ctx.method_label().unwrap_or("");
    if !method.is_empty() {
        mcp_gateway_telemetry::rename(span, format!("route {method}"));
        span.record(keys::METHOD, method);
    }
    if let Some(session) = ctx.session() {
        span.record(keys::SESSION, hashed_session(session));
    }
    match plan {
        Plan::Route(route) => {
            if let Some(meta) = &route.metadata {
                span.record(keys::SERVER, meta.server.as_str());
                match &meta.addressed {
                    Some((Addressed::Tool, name)) => span.record(keys::TOOL, name.as_str()),
                    Some((Addressed::Prompt, name)) => span.record(keys::PROMPT, name.as_str()),
                    _ => span,
                };
            }
        }
        Plan::Reject(reject) => {
            span.record(keys::ERROR_CODE, reject.code);
            span.record(keys::ERROR_TYPE, reject.code.to_string());
            span.record("otel.status_code", "ERROR");
        }
        Plan::Continue | Plan::Respond(_) => {}
    }
}
