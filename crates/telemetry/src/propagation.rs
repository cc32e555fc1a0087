//! W3C trace context (`traceparent`, `tracestate`) in and out of the gateway.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::enabled;

/// The remote span a request came from, to make the gateway's span its child.
#[derive(Debug, Clone)]
pub struct Parent(Context);

/// The trace context carried by a request's headers, read through `get` (a lower-case
/// header name to its value); `None` when tracing is off, or there is none or it is not
/// valid.
pub fn extract<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<Parent> {
    if !enabled() {
        return None;
    }
    let context = read(get);
    context
        .span()
        .span_context()
        .is_valid()
        .then_some(Parent(context))
}

fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Context {
    // The marker makes `&self` outlive no more than `'a`, so values may be returned as is.
    struct Lookup<'a, F>(F, std::marker::PhantomData<&'a str>);
    impl<'a, F: Fn(&str) -> Option<&'a str>> Extractor for Lookup<'a, F> {
        fn get(&self, key: &str) -> Option<&str> {
            (self.0)(key)
        }
        fn keys(&self) -> Vec<&str> {
            Vec::new()
        }
    }
    TraceContextPropagator::new().extract(&Lookup(get, std::marker::PhantomData))
}

/// Makes `span` a child of the remote span `parent` (from [`extract`]); without one, `span`
/// stays as it is (a root, or the child of the current span).
pub fn set_parent(span: &tracing::Span, parent: Option<Parent>) {
    if let Some(Parent(context)) = parent
        && !span.is_none()
    {
        // Fails only for a span already started or not exported, which then stays as it is.
        let _ = span.set_parent(context);
    }
}

/// Names `span` for export once what it did is known (its exported name is otherwise fixed
/// when it starts). Nothing for a span that is not exported.
pub fn rename(span: &tracing::Span, name: impl Into<std::borrow::Cow<'static, str>>) {
    if enabled() && !span.is_none() {
        span.context().span().update_name(name.into());
    }
}

/// Adds the current span's trace context to `headers` of a request the gateway sends, so the
/// receiver's spans join the trace. Nothing when tracing is off or no span is current.
pub fn inject(headers: &mut http::HeaderMap) {
    if !enabled() {
        return;
    }
    let current = tracing::Span::current();
    if current.is_none() {
        return;
    }
    let context = current.context();
    if !context.span().span_context().is_valid() {
        return;
    }
    struct Headers<'a>(&'a mut http::HeaderMap);
    impl Injector for Headers<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(key.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }
    TraceContextPropagator::new().inject_context(&context, &mut Headers(headers));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_is_read() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = read(|key| (key == "traceparent").then_some(header));
        let span = context.span().span_context().clone();
        assert!(span.is_valid());
        assert!(span.is_remote());
        assert!(span.is_sampled());
        assert_eq!(
            span.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn garbage_is_no_context() {
        for header in [
            "",
            "00-xyz",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            let context = read(|key| (key == "traceparent").then_some(header));
            assert!(!context.span().span_context().is_valid(), "{header:?}");
        }
    }

    #[test]
    fn nothing_is_read_or_injected_when_off() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(extract(|_| Some(header)).is_none());
        let mut headers = http::HeaderMap::new();
        inject(&mut headers);
        assert!(headers.is_empty());
    }
}
