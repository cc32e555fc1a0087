//! Envoy's OpenTelemetry tracer on the MCP listener: spans of every request and of each
//! upstream call, tagged from the router's `mcp` metadata, sent over OTLP/gRPC to a
//! collector. Envoy propagates W3C `traceparent` to the backends, the broker and (in the
//! ext_proc stream's metadata) the router, whose own spans join the same trace.

use std::fmt::Write as _;

use mcp_gateway_protocol::handoff::{
    ERROR_CODE_KEY, METADATA_NAMESPACE, METHOD_KEY, PROMPT_KEY, SERVER_KEY, TOOL_KEY,
};

/// The cluster of the OpenTelemetry collector.
pub const COLLECTOR_CLUSTER: &str = "opentelemetry_collector";

/// The service name of Envoy's spans.
pub const ENVOY_SERVICE_NAME: &str = "mcp-gateway-envoy";

/// Span attributes (OpenTelemetry's MCP conventions where they name one) read from the
/// router's `mcp` metadata when the request's span ends. The session is not among them: its
/// id authorises requests.
const TAGS: &[(&str, &str)] = &[
    ("mcp.method.name", METHOD_KEY),
    ("mcp_gateway.server", SERVER_KEY),
    ("gen_ai.tool.name", TOOL_KEY),
    ("gen_ai.prompt.name", PROMPT_KEY),
    ("rpc.jsonrpc.error_code", ERROR_CODE_KEY),
];

/// Where Envoy sends spans and how many requests it traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracing {
    /// The collector's OTLP/gRPC address: host (name or IP) and port.
    pub collector_host: String,
    /// The collector's port.
    pub collector_port: u16,
    /// Share of requests Envoy traces (its random sampling), in millionths (1_000_000: all).
    pub sampling_ppm: u32,
}

impl Tracing {
    /// Reads a collector endpoint, `http://host:port` or `host:port` (OTLP/gRPC, plaintext),
    /// and a sampling percentage (0 to 100).
    pub fn parse(endpoint: &str, sampling_percent: f64) -> Result<Self, String> {
        let rest = endpoint.trim().trim_end_matches('/');
        let rest = match rest.split_once("://") {
            Some(("http", rest)) => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "{endpoint}: only plaintext OTLP/gRPC (`http://host:port`) is supported; \
                     for {scheme}, run a collector or agent beside Envoy and point it there"
                ));
            }
            None => rest,
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("{endpoint}: expected host:port, e.g. 127.0.0.1:4317"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{endpoint}: the port {port:?} is not a number"))?;
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "{endpoint}: expected host:port, e.g. 127.0.0.1:4317"
            ));
        }
        if !(0.0..=100.0).contains(&sampling_percent) {
            return Err(format!(
                "trace sampling {sampling_percent}: a percentage from 0 to 100"
            ));
        }
        Ok(Self {
            collector_host: host.to_owned(),
            collector_port: port,
            sampling_ppm: (sampling_percent * 10_000.0).round() as u32,
        })
    }
}

/// The connection manager's `tracing:` block, indented for its place, or nothing.
pub(super) fn connection_manager(tracing: Option<&Tracing>) -> String {
    let Some(tracing) = tracing else {
        return String::new();
    };
    let percent = f64::from(tracing.sampling_ppm) / 10_000.0;
    let mut yaml = format!(
        r#"          # OpenTelemetry traces (`envoy-config --otlp-endpoint`): a span per request and
          # per upstream call, W3C traceparent to the broker, the router and the backends.
          tracing:
            random_sampling:
              value: {percent}
            spawn_upstream_span: true
            provider:
              name: envoy.tracers.opentelemetry
              typed_config:
                "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
                service_name: {ENVOY_SERVICE_NAME}
                grpc_service:
                  envoy_grpc:
                    cluster_name: {COLLECTOR_CLUSTER}
                  timeout: 2s
            # What the router decided (its `mcp` metadata), read when the span ends.
            custom_tags:"#
    );
    for (tag, key) in TAGS {
        let _ = write!(
            yaml,
            r#"
            - tag: {tag}
              metadata:
                kind: {{request: {{}}}}
                metadata_key:
                  key: {namespace}
                  path: [{{key: {key}}}]"#,
            namespace = METADATA_NAMESPACE,
        );
    }
    yaml.push('\n');
    yaml
}

/// The collector's cluster (HTTP/2 for gRPC), indented for `clusters:`, or nothing.
pub(super) fn collector_cluster(tracing: Option<&Tracing>) -> String {
    let Some(tracing) = tracing else {
        return String::new();
    };
    format!(
        r#"
  # The OpenTelemetry collector Envoy sends its spans to (OTLP/gRPC).
  - name: {COLLECTOR_CLUSTER}
    type: STRICT_DNS
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {{}}
    load_assignment:
      cluster_name: {COLLECTOR_CLUSTER}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: "{host}"
                port_value: {port}"#,
        host = tracing.collector_host,
        port = tracing.collector_port,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_read() {
        let t = Tracing::parse("http://collector.monitoring:4317/", 100.0).expect("valid");
        assert_eq!(
            (t.collector_host.as_str(), t.collector_port, t.sampling_ppm),
            ("collector.monitoring", 4317, 1_000_000)
        );
        let t = Tracing::parse("127.0.0.1:4317", 0.5).expect("valid");
        assert_eq!(
            (t.collector_host.as_str(), t.sampling_ppm),
            ("127.0.0.1", 5_000)
        );
        let t = Tracing::parse("[::1]:4317", 1.0).expect("valid");
        assert_eq!(t.collector_host, "::1");
    }

    #[test]
    fn bad_endpoints_say_why() {
        for (endpoint, percent, says) in [
            ("https://c:4317", 1.0, "plaintext"),
            ("collector", 1.0, "host:port"),
            ("c:port", 1.0, "not a number"),
            ("c:4317", 101.0, "0 to 100"),
            ("http://c:4317/v1/traces", 1.0, "not a number"),
        ] {
            let error = Tracing::parse(endpoint, percent).expect_err(endpoint);
            assert!(error.contains(says), "{endpoint}: {error}");
        }
    }
}
