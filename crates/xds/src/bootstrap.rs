//! The static half of Envoy's configuration: the bootstrap YAML file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use mcp_gateway_protocol::handoff::{
    PHASES_METADATA, PHASES_REQUEST, PHASES_RESPONSE, UPSTREAM_SESSIONS_METADATA,
};

use crate::auth::{JWT_AUTHN_FILTER, JWT_AUTHN_TYPE};
use crate::resources::{
    BACKEND_RESPONSE_FILTER, ROUTE_CONFIG_NAME, ROUTER_CLUSTER, STREAM_IDLE_TIMEOUT_SECS,
};

/// Headers only the gateway sets; clients' copies are removed.
const INTERNAL_HEADER_PREFIX: &str = mcp_gateway_protocol::transport::INTERNAL_PREFIX;

/// Where `jwt_authn` records verified payloads; forwarded to the router.
const JWT_AUTHN_NAMESPACE: &str = mcp_gateway_identity::JWT_AUTHN_NAMESPACE;

/// Where Envoy listens and where it finds the gateway, plus the few knobs that
/// differ between deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapOptions {
    /// The MCP listener clients connect to.
    pub listen: SocketAddr,
    /// Envoy's admin interface (keep it on loopback).
    pub admin: SocketAddr,
    /// The gateway's gRPC port (ext_proc and ADS) of each replica; Envoy round-robins over
    /// the healthy ones.
    pub routers: Vec<SocketAddr>,
    /// The broker's HTTP port of each replica; Envoy round-robins over the healthy ones.
    pub brokers: Vec<SocketAddr>,
    /// Largest request body Envoy buffers for the router; larger bodies get a 413.
    pub max_request_bytes: u32,
    /// How long Envoy waits for the router's answer to one ext_proc message.
    pub message_timeout: Duration,
    /// How long a client may take to send the request headers.
    pub request_headers_timeout: Duration,
    /// How long a client may take to send the whole request (body included, and the
    /// router's decision): a slow sender is cut off. Responses, SSE streams and long tool
    /// calls included, are not limited by it.
    pub request_timeout: Duration,
    /// How long a client connection may stay open with no request on it.
    pub idle_timeout: Duration,
    /// Most client connections Envoy keeps open at once (SSE streams hold theirs).
    pub max_connections: u32,
    /// OpenTelemetry traces: where Envoy sends spans; `None`: no tracing.
    pub tracing: Option<Tracing>,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8888),
            admin: SocketAddr::new(loopback, 9901),
            routers: vec![SocketAddr::new(loopback, 50051)],
            brokers: vec![SocketAddr::new(loopback, 8080)],
            max_request_bytes: 4 * 1024 * 1024,
            message_timeout: Duration::from_secs(10),
            request_headers_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            max_connections: 50_000,
            tracing: None,
        }
    }
}

/// The router may stretch one message's timeout (`override_message_timeout`) up to
/// this, e.g. while it initialises a backend session on the first routed call.
const MAX_MESSAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Renders the Envoy v3 bootstrap as commented YAML.
///
/// Static: the MCP listener with ext_proc, and the router and broker clusters.
/// Dynamic, over ADS from the router's gRPC port: one cluster per enabled MCP
/// server and the route table [`ROUTE_CONFIG_NAME`].
pub fn render_bootstrap(opts: &BootstrapOptions) -> String {
    let max_message_timeout = opts.message_timeout.max(MAX_MESSAGE_TIMEOUT);
    format!(
        r#"# Envoy bootstrap for mcp-gateway, rendered by `mcp-broker-router envoy-config`.
# Regenerate instead of editing: see envoy/README.md.
#
# Static here: the MCP listener (ext_proc, then the router filter) and two clusters,
# the gateway's gRPC port (ext_proc + ADS) and its broker, with one endpoint per
# replica (`--router`/`--broker` repeated). Dynamic, served over ADS
# by the gateway itself: the jwt_authn filter's config and its issuers' key clusters
# (when `auth:` is set), one cluster per enabled MCP server and the route table
# `{ROUTE_CONFIG_NAME}`, which sends a request to a server when the ext_proc router has
# set `:authority` to that server's hostname, and to the broker otherwise.

node:
  id: mcp-gateway
  cluster: mcp-gateway

admin:
  address:
    socket_address:
      address: "{admin_ip}"
      port_value: {admin_port}

# Bounds open client connections (SSE streams hold theirs for long).
overload_manager:
  resource_monitors:
  - name: envoy.resource_monitors.global_downstream_max_connections
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
      max_active_downstream_connections: {max_connections}

dynamic_resources:
  # Clusters and routes come from the gateway over one gRPC stream (state of the world).
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    set_node_on_first_message_only: true
    grpc_services:
    - envoy_grpc:
        cluster_name: {ROUTER_CLUSTER}
  cds_config:
    ads: {{}}
    resource_api_version: V3

static_resources:
  listeners:
  - name: mcp
    address:
      socket_address:
        address: "{listen_ip}"
        port_value: {listen_port}
    # Also the most Envoy buffers of one request body for ext_proc: beyond it the
    # client gets a 413 (rewritten to a JSON-RPC error below).
    per_connection_buffer_limit_bytes: {max_request_bytes}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: mcp
          codec_type: AUTO
{tracing}          # Envoy is the edge: it sets X-Forwarded-For and drops client x-envoy-* headers.
          use_remote_address: true
          normalize_path: true
          merge_slashes: true
          # Slow clients are cut off: the headers, then the whole request (body and the
          # router's decision) must arrive in time. Responses are not limited: SSE streams
          # and long tool calls stay open, bounded only by the idle timeout, far above
          # any keep-alive interval. A connection with no request open is closed.
          request_headers_timeout: {request_headers_timeout}
          request_timeout: {request_timeout}
          stream_idle_timeout: {STREAM_IDLE_TIMEOUT_SECS}s
          common_http_protocol_options:
            idle_timeout: {idle_timeout}
            # `mcp_session_id` would reach a backend that folds `_` into `-` (CGI, WSGI)
            # as a second session header the router never checked.
            headers_with_underscores_action: REJECT_REQUEST
          http2_protocol_options:
            max_concurrent_streams: 100
          rds:
            route_config_name: {ROUTE_CONFIG_NAME}
            config_source:
              ads: {{}}
              resource_api_version: V3
{local_reply_config}
          http_filters:
          # Client-supplied x-mcp-* headers are the gateway's to set: removed before any
          # filter (or RBAC, rate limit, access log) reads them.
          - name: envoy.filters.http.header_mutation
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation
              mutations:
                request_mutations:
                - remove_on_match:
                    key_matcher:
                      prefix: {INTERNAL_HEADER_PREFIX}
{custom_response_filter}
          # Caller authentication: verifies `Authorization: Bearer` tokens against the
          # issuers of the gateway config's `auth:` section and records the verified payload
          # (or why it failed) in dynamic metadata for the router, which answers 401/403
          # with the request's id. Its config comes over ADS (ECDS) and follows config
          # changes; until it arrives, and with `auth:` absent, it has no providers and
          # does nothing (the router still refuses unauthenticated calls when auth is on).
          - name: {JWT_AUTHN_FILTER}
            config_discovery:
              config_source:
                ads: {{}}
                resource_api_version: V3
              default_config:
                "@type": {JWT_AUTHN_TYPE}
              apply_default_config_without_warming: true
              type_urls:
              - {JWT_AUTHN_TYPE}
          # The router: checks the request headers (session, Origin, protocol version), reads
          # the buffered JSON-RPC body, picks the target, sets :authority and x-mcp-* headers
          # and clears the route cache. Two messages per request with a body, one for GET and
          # DELETE. (Envoy applies header changes sent with the body only when it has sent the
          # headers phase, so that phase cannot be skipped.)
          - name: envoy.filters.http.ext_proc
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
              grpc_service:
                envoy_grpc:
                  cluster_name: {ROUTER_CLUSTER}
{ext_proc_retry_policy}
                # The backend clusters (over ADS) set each upstream request's session id
                # from the router's internal header and replay a call whose backend session
                # was refused: the router leaves the client's session id on the request.
                initial_metadata:
                - key: {UPSTREAM_SESSIONS_METADATA}
                  value: "1"
                # Only the request's phases reach this stream: the router ends it after the
                # body, so a replica that stops later fails no call it routed.
                - key: {PHASES_METADATA}
                  value: {PHASES_REQUEST}
              # Never let a request bypass the router.
              failure_mode_allow: false
              # Envoy picks a route from the client's own headers before any filter runs;
              # pick it again after every answer of the router, so only the router's
              # decision (x-mcp-servername, set after removing client copies) selects a
              # backend. The router also asks for this itself.
              route_cache_action: CLEAR
              processing_mode:
                request_header_mode: SEND
                response_header_mode: SKIP
                request_body_mode: BUFFERED
                response_body_mode: NONE
                request_trailer_mode: SKIP
                response_trailer_mode: SKIP
              metadata_options:
                # The router sets dynamic metadata (method, server, tool, request id) for
                # RBAC, rate limits, access logs, the error bodies above and the response
                # filter below.
                receiving_namespaces:
                  untyped: [mcp]
                # The verified token payload (or the reason verification failed).
                forwarding_namespaces:
                  untyped: [{JWT_AUTHN_NAMESPACE}]
              message_timeout: {message_timeout}
              max_message_timeout: {max_message_timeout}
              mutation_rules:
                # Routing headers (:authority, :path) may be set; x-mcp-* headers are
                # allowed by default, x-envoy-* and other system headers are not.
                allow_all_routing: true
{rate_limit_filters}
          # Responses of requests routed to a backend: the router maps the backend's session
          # id back to the gateway's and notices a backend that lost its session. The broker's
          # routes disable it, so only routed calls pay for this message.
          - name: {BACKEND_RESPONSE_FILTER}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
              grpc_service:
                envoy_grpc:
                  cluster_name: {ROUTER_CLUSTER}
{ext_proc_retry_policy}
                # Only the response's phases reach this stream: the router ends it after the
                # headers, or after the body it asked for.
                initial_metadata:
                - key: {PHASES_METADATA}
                  value: {PHASES_RESPONSE}
              failure_mode_allow: false
              processing_mode:
                request_header_mode: SKIP
                response_header_mode: SEND
                request_body_mode: NONE
                response_body_mode: NONE
                request_trailer_mode: SKIP
                response_trailer_mode: SKIP
              # For an SSE response that may carry server requests (the client declared
              # sampling, elicitation or roots), the router streams the body through itself
              # to make those requests' ids unique.
              allow_mode_override: true
              metadata_options:
                forwarding_namespaces:
                  untyped: [mcp]
              message_timeout: {message_timeout}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

  clusters:
{static_clusters}{collector_cluster}
"#,
        admin_ip = opts.admin.ip(),
        admin_port = opts.admin.port(),
        listen_ip = opts.listen.ip(),
        listen_port = opts.listen.port(),
        static_clusters = clusters::static_clusters(&opts.routers, &opts.brokers),
        tracing = trace::connection_manager(opts.tracing.as_ref()),
        collector_cluster = trace::collector_cluster(opts.tracing.as_ref()),
        ext_proc_retry_policy = clusters::EXT_PROC_RETRY_POLICY,
        max_request_bytes = opts.max_request_bytes,
        local_reply_config = errors::local_reply_config(opts.max_request_bytes),
        custom_response_filter = errors::custom_response_filter(),
        rate_limit_filters = rate_limit_filters(),
        message_timeout = proto_duration(opts.message_timeout),
        request_headers_timeout = proto_duration(opts.request_headers_timeout),
        request_timeout = proto_duration(opts.request_timeout),
        idle_timeout = proto_duration(opts.idle_timeout),
        max_connections = opts.max_connections,
        max_message_timeout = proto_duration(max_message_timeout),
    )
}

/// The `local_ratelimit` filters, one per limit dimension, list items for `http_filters`.
/// Without a route's own config (a server's `traffic.rateLimit`) each passes every request.
pub(crate) fn rate_limit_filters() -> String {
    let mut yaml = String::from(
        "          # Rate limits of MCP servers (`traffic.rateLimit`), one filter per dimension:\n          \
         # all requests of a server, each tool, each caller. Configured per route over ADS;\n          \
         # they only act where a server has a limit. After the router, so the route and the\n          \
         # x-mcp-* headers are its.",
    );
    for name in crate::traffic::RATE_LIMIT_FILTERS {
        yaml.push_str(&format!(
            r#"
          - name: {name}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
              stat_prefix: {stat}"#,
            stat = name.replace('.', "_"),
        ));
    }
    yaml
}

/// A protobuf JSON/YAML duration: seconds with up to nine fractional digits.
fn proto_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match duration.subsec_nanos() {
        0 => format!("{seconds}s"),
        nanos => {
            let fraction = format!("{nanos:09}");
            format!("{seconds}.{}s", fraction.trim_end_matches('0'))
        }
    }
}

mod clusters;
mod errors;
mod trace;

pub use trace::{COLLECTOR_CLUSTER, Tracing};

#[cfg(test)]
mod tests;
