//! The broker's spans: one per POST it answers, a child of Envoy's upstream span (its
//! `traceparent` arrives in the request headers), with the method, the hashed session and
//! the JSON-RPC error code of an error answer; lists record their size, fan-outs get a span
//! of their own with each backend request under it.

use axum::http::HeaderMap;
use mcp_gateway_telemetry::{hashed_session, keys};
use tracing::Span;
use tracing::field::Empty;

/// The span of one POST (`Span::none()` when tracing is off).
pub(crate) fn request(headers: &HeaderMap) -> Span {
    let span = mcp_gateway_telemetry::span!(
        "broker",
        otel.kind = "server",
        { keys::METHOD } = Empty,
        { keys::SESSION } = Empty,
        { keys::ITEMS } = Empty,
        { keys::ERROR_TYPE } = Empty,
        { keys::ERROR_CODE } = Empty,
        otel.status_code = Empty,
    );
    if !span.is_none() {
        let parent = mcp_gateway_telemetry::extract(|key| headers.get(key)?.to_str().ok());
        mcp_gateway_telemetry::set_parent(&span, parent);
    }
    span
}

/// Names the current request span after its method, when MCP defines it (a client's own
/// text, before any authentication, never names a span or an attribute: it would grow the
/// collector's names with every variation).
pub(crate) fn method(method: &str) {
    let span = Span::current();
    if span.is_none() || !mcp_gateway_telemetry::enabled() {
        return;
    }
    let method = mcp_gateway_protocol::methods::known(method).unwrap_or("other");
    mcp_gateway_telemetry::rename(&span, method.to_owned());
    span.record(keys::METHOD, method);
}

/// Records the (gateway) session of the current request, hashed.
pub(crate) fn session(session: &str) {
    if mcp_gateway_telemetry::enabled() {
        Span::current().record(keys::SESSION, hashed_session(session));
    }
}

/// Records how many items a list answered with.
pub(crate) fn items(count: usize) {
    if mcp_gateway_telemetry::enabled() {
        Span::current().record(keys::ITEMS, count as u64);
    }
}

/// Records the JSON-RPC error the request was answered with on `span`.
pub(crate) fn error(span: &Span, code: i64) {
    if span.is_none() {
        return;
    }
    span.record(keys::ERROR_CODE, code);
    span.record(keys::ERROR_TYPE, code.to_string());
    span.record("otel.status_code", "ERROR");
}

/// The span of a message sent to several backends (`logging/setLevel`,
/// `notifications/cancelled`), a child of the current request's.
pub(crate) fn fanout(method: &str) -> Span {
    mcp_gateway_telemetry::child_span!(
        "fan-out",
        otel.name = format!("fan-out {method}"),
        { keys::METHOD } = method,
        mcp_gateway.fanout.servers = Empty,
        mcp_gateway.fanout.failed = Empty,
    )
}
