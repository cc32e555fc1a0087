//! The bootstrap's two static clusters, the router's gRPC port (ext_proc and ADS) and the
//! broker, each with one endpoint per gateway replica, and the retry policy the ext_proc
//! filters use to reach a live replica.
//!
//! Replicas share nothing but Redis, so any replica serves any request: the clusters
//! round-robin without stickiness. A dead replica must get no traffic: active TCP health
//! checks take it out within about two seconds, `healthy_panic_threshold: 0` keeps Envoy
//! from spreading traffic over unhealthy hosts when too few are left, and until the health
//! check notices, a stream that cannot even reach its replica (connection refused or reset
//! before the request went out) is retried on another one. Nothing that reached a replica
//! is retried: that replica may have acted on it.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::resources::{BROKER_CLUSTER, CIRCUIT_BREAKER_LIMIT, ROUTER_CLUSTER};

/// Envoy gRPC streams of the ext_proc filters: one that cannot reach its replica is opened
/// again on another (never the same one), at most twice. Indented for its place under
/// `grpc_service:`.
pub(super) const EXT_PROC_RETRY_POLICY: &str = r#"                # A replica that is gone (refused, reset before the stream was
                # sent) is skipped for another; nothing it received is sent again.
                retry_policy:
                  retry_on: connect-failure,refused-stream,reset-before-request
                  num_retries: 2
                  retry_back_off:
                    base_interval: 0.01s
                    max_interval: 0.1s
                  retry_host_predicate:
                  - name: envoy.retry_host_predicates.previous_hosts
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
                  host_selection_retry_max_attempts: 5"#;

/// The `clusters:` entries of the router and broker, indented for `static_resources`.
pub(super) fn static_clusters(routers: &[SocketAddr], brokers: &[SocketAddr]) -> String {
    format!(
        r#"  # The gateway's gRPC port: ext_proc streams and the ADS stream (HTTP/2), one endpoint
  # per replica. Replicas share sessions through Redis, so any of them serves any request.
  - name: {ROUTER_CLUSTER}
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
{health}
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options:
            connection_keepalive:
              interval: 30s
              timeout: 5s
    # Every in-flight request holds an ext_proc stream: lift the default 1024. When a
    # replica stops, every stream opened before its health check fails retries at once
    # (see the ext_proc retry policy): lift the default of 3 concurrent retries too, or
    # the overflow fails calls that another replica would have served.
    circuit_breakers:
      thresholds:
      - max_connections: {CIRCUIT_BREAKER_LIMIT}
        max_pending_requests: {CIRCUIT_BREAKER_LIMIT}
        max_requests: {CIRCUIT_BREAKER_LIMIT}
        max_retries: {CIRCUIT_BREAKER_LIMIT}
    load_assignment:
      cluster_name: {ROUTER_CLUSTER}
      endpoints:
      - lb_endpoints:
{router_endpoints}
  # The broker (HTTP/1.1): initialize, lists, GET notification streams, DELETE; one
  # endpoint per replica.
  - name: {BROKER_CLUSTER}
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
{health}
    # Each open SSE stream holds a request: lift the default 1024.
    circuit_breakers:
      thresholds:
      - max_connections: {CIRCUIT_BREAKER_LIMIT}
        max_pending_requests: {CIRCUIT_BREAKER_LIMIT}
        max_requests: {CIRCUIT_BREAKER_LIMIT}
    load_assignment:
      cluster_name: {BROKER_CLUSTER}
      endpoints:
      - lb_endpoints:
{broker_endpoints}"#,
        health = HEALTH.trim_end(),
        router_endpoints = endpoints(routers),
        broker_endpoints = endpoints(brokers),
    )
}

/// Active health checks (a TCP connect) and no panic mode: a replica that does not accept
/// connections gets no traffic, even when it is the only one left (then requests fail
/// with the JSON-RPC 503 of an unavailable router or broker).
const HEALTH: &str = r#"    common_lb_config:
      healthy_panic_threshold:
        value: 0
    health_checks:
    - timeout: 0.5s
      interval: 1s
      no_traffic_interval: 1s
      unhealthy_threshold: 2
      healthy_threshold: 1
      tcp_health_check: {}
"#;

/// One `lb_endpoints` entry per address.
fn endpoints(addrs: &[SocketAddr]) -> String {
    let mut yaml = String::new();
    for (i, addr) in addrs.iter().enumerate() {
        if i > 0 {
            yaml.push('\n');
        }
        // Writing to a String cannot fail.
        let _ = write!(
            yaml,
            r#"        - endpoint:
            address:
              socket_address:
                address: "{}"
                port_value: {}"#,
            addr.ip(),
            addr.port()
        );
    }
    yaml
}
