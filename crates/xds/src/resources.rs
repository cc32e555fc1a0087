//! The dynamic half of Envoy's configuration: one cluster per enabled MCP server and
//! the route table that sends a request to a server's cluster when its `:authority`
//! is that server's hostname, and to the broker otherwise.

use std::net::IpAddr;

use envoy_types::pb::envoy::config::cluster::v3::{
    CircuitBreakers, Cluster, OutlierDetection,
    circuit_breakers::Thresholds,
    cluster::{ClusterDiscoveryType, CommonLbConfig, DiscoveryType, DnsLookupFamily, LbPolicy},
};
use envoy_types::pb::envoy::config::core::v3::{
    Address, SocketAddress, TransportSocket, address, socket_address, transport_socket,
};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, RetryPolicy, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost,
    header_matcher, retry_policy, route, route_action, route_match,
};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::{
    ExtProcPerRoute, ext_proc_per_route,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CommonTlsContext, UpstreamTlsContext,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{
    RegexMatchAndSubstitute, RegexMatcher, StringMatcher, string_matcher,
};
use envoy_types::pb::envoy::r#type::v3::Percent;
use envoy_types::pb::google::protobuf::{Any, Duration, UInt32Value};
use mcp_gateway_config::{Config, Server, Traffic};
use mcp_gateway_protocol::transport;
use prost::{Message, Name};
use tracing::warn;
use url::{Host, Url};

use crate::traffic;

/// Name of the route table served over ADS; the bootstrap's listener asks for it.
pub const ROUTE_CONFIG_NAME: &str = "mcp_routes";

/// Name of the static broker cluster, the route table's fallback.
pub const BROKER_CLUSTER: &str = "mcp_broker";

/// Name of the static router cluster (ext_proc and ADS).
pub const ROUTER_CLUSTER: &str = "mcp_router";

/// Name of the ext_proc filter that shows the router the responses of routed requests;
/// the broker's routes disable it.
pub const BACKEND_RESPONSE_FILTER: &str = "mcp.backend_response";

/// The header the router sets (to `1`) on a routed request whose response it must see.
pub const OBSERVE_HEADER: &str = transport::OBSERVE;

/// The session header; backends' values never reach clients.
const SESSION_HEADER: &str = transport::SESSION_ID;

/// The header the router sets to the chosen server's name; a backend route matches only
/// with it, so a client-chosen `Host` alone never reaches a backend.
pub const ROUTED_HEADER: &str = transport::ROUTED_SERVER;

/// Upper bound for connections, pending and active requests on every gateway
/// cluster. Envoy's default (1024) would cap concurrent SSE streams; memory is bounded
/// by the listener's connection handling instead.
pub(crate) const CIRCUIT_BREAKER_LIMIT: u32 = 100_000;

/// Route and stream idle timeout: well above any SSE keep-alive interval.
pub(crate) const STREAM_IDLE_TIMEOUT_SECS: i64 = 3600;

const BACKEND_CONNECT_TIMEOUT_SECS: i64 = 2;
const TLS_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.tls";

/// The resources the ADS server sends: clusters (CDS) and the route table (RDS).
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    /// One cluster per enabled server, in config order, then one per `auth` issuer
    /// (fetching its keys).
    pub clusters: Vec<Cluster>,
    /// [`ROUTE_CONFIG_NAME`]: a virtual host per enabled server, then the broker.
    pub routes: RouteConfiguration,
}

/// The Envoy cluster name of a server: `mcp_server_<name>`.
pub fn cluster_name(server_name: &str) -> String {
    format!("mcp_server_{server_name}")
}

/// Builds the clusters and the route table for a config's enabled servers.
///
/// The config's validation guarantees unique names and hostnames, so Envoy never sees
/// duplicate clusters or domains. A server whose URL has no host (impossible after
/// validation) is skipped with a warning rather than producing a resource Envoy
/// would reject, which would reject the whole update with it.
pub fn resources(cfg: &Config) -> Resources {
    let backends: Vec<Backend<'_>> = cfg.enabled_servers().filter_map(Backend::new).collect();
    let auth = cfg.auth().is_some();
    let mut virtual_hosts: Vec<VirtualHost> = backends
        .iter()
        .map(|backend| backend.virtual_host(auth))
        .collect();
    virtual_hosts.push(broker_virtual_host());
    Resources {
        clusters: backends
            .iter()
            .map(Backend::cluster)
            .chain(crate::auth::jwks_clusters(cfg))
            .collect(),
        routes: RouteConfiguration {
            name: ROUTE_CONFIG_NAME.to_owned(),
            virtual_hosts,
            ..Default::default()
        },
    }
}

/// An enabled server with its URL taken apart the way Envoy needs it.
struct Backend<'a> {
    server: &'a Server,
    /// Host to resolve or connect to: a DNS name or an IP literal without brackets.
    address: String,
    port: u16,
    tls: bool,
}

impl<'a> Backend<'a> {
    fn new(server: &'a Server) -> Option<Self> {
        let url = &server.url;
        let address = match url.host() {
            Some(Host::Domain(domain)) => domain.to_owned(),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip).to_string(),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip).to_string(),
            None => {
                warn!(server = %server.name, url = %url, "server URL has no host; not routed");
                return None;
            }
        };
        let Some(port) = url.port_or_known_default() else {
            warn!(server = %server.name, url = %url, "server URL has no port; not routed");
            return None;
        };
        Some(Self {
            server,
            address,
            port,
            tls: url.scheme() == "https",
        })
    }

    fn cluster(&self) -> Cluster {
        let name = cluster_name(&self.server.name);
        Cluster {
            cluster_discovery_type: Some(ClusterDiscoveryType::Type(
                DiscoveryType::StrictDns as i32,
            )),
            connect_timeout: Some(seconds(BACKEND_CONNECT_TIMEOUT_SECS)),
            lb_policy: LbPolicy::RoundRobin as i32,
            dns_lookup_family: DnsLookupFamily::V4Preferred as i32,
            load_assignment: Some(load_assignment(&name, &self.address, self.port)),
            transport_socket: self.tls.then(|| tls_transport_socket(&self.address)),
            typed_extension_protocol_options: [(
                crate::replay::HTTP_PROTOCOL_OPTIONS.to_owned(),
                crate::replay::protocol_options(&self.server.name),
            )]
            .into(),
            circuit_breakers: Some(circuit_breakers(&self.server.traffic)),
            outlier_detection: Some(outlier_detection(&self.server.traffic.outlier)),
            // An ejected host gets no traffic even when it is the only one: calls fail at
            // once instead of piling up on a dead backend (Envoy's default of 50% would
            // send to every host again once half of them are ejected).
            common_lb_config: Some(CommonLbConfig {
                healthy_panic_threshold: Some(Percent { value: 0.0 }),
                ..Default::default()
            }),
            name,
            ..Default::default()
        }
    }

    /// The server's virtual host. Only a request the router marked for this server
    /// (`x-mcp-servername`, a header clients cannot set: the router removes client
    /// copies) reaches the backend; anything else that merely names the hostname — a
    /// client choosing `Host: <backend hostname>` — still goes to the broker.
    ///
    /// Two backend routes: when the router wants to see the response (it sets
    /// `x-mcp-observe`: the client may be sent server requests on an SSE response) the
    /// response filter runs; otherwise it is off and Envoy itself drops the backend's
    /// session id from the response, saving the router a message per call. (A header, not
    /// dynamic metadata: Envoy 1.40 picks the route before it stores ext_proc's metadata.)
    ///
    /// The server's traffic policy applies to both: its request timeout, its retries of what
    /// never reached it and its rate limits. A resumed GET stream (always observed) has a
    /// route of its own before them, without timeout or rate limits: a stream is not a
    /// request that should finish.
    fn virtual_host(&self, auth: bool) -> VirtualHost {
        let hostname = &self.server.hostname;
        let traffic = &self.server.traffic;
        let stream_action = RouteAction {
            cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(cluster_name(
                &self.server.name,
            ))),
            host_rewrite_specifier: Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(
                authority(&self.server.url),
            )),
            regex_rewrite: Some(whole_path_rewrite(self.server.url.path())),
            // A call whose backend session the backend refused is replayed once (the
            // cluster's 307, see `crate::replay`).
            internal_redirect_policy: Some(crate::replay::internal_redirect()),
            ..sse_route_action()
        };
        let replay_headers = crate::replay::RESPONSE_ONLY_HEADERS.map(str::to_owned);
        let action = RouteAction {
            timeout: Some(traffic::route_timeout(traffic)),
            retry_policy: traffic::connect_retry_policy(traffic),
            ..stream_action.clone()
        };
        let mut stream_match = self.backend_match();
        stream_match.headers.push(HeaderMatcher {
            name: ":method".to_owned(),
            header_match_specifier: Some(header_matcher::HeaderMatchSpecifier::StringMatch(exact(
                "GET",
            ))),
            ..Default::default()
        });
        let stream = Route {
            r#match: Some(stream_match),
            action: Some(route::Action::Route(stream_action)),
            request_headers_to_remove: not_for_backends(),
            response_headers_to_remove: replay_headers.to_vec(),
            ..Default::default()
        };
        let mut observed_match = self.backend_match();
        observed_match.headers.push(HeaderMatcher {
            name: OBSERVE_HEADER.to_owned(),
            header_match_specifier: Some(header_matcher::HeaderMatchSpecifier::StringMatch(exact(
                "1",
            ))),
            ..Default::default()
        });
        let mut observed = Route {
            r#match: Some(observed_match),
            action: Some(route::Action::Route(action.clone())),
            request_headers_to_remove: not_for_backends(),
            response_headers_to_remove: replay_headers.to_vec(),
            ..Default::default()
        };
        let mut plain = Route {
            r#match: Some(self.backend_match()),
            action: Some(route::Action::Route(action)),
            request_headers_to_remove: not_for_backends(),
            response_headers_to_remove: [SESSION_HEADER.to_owned()]
                .into_iter()
                .chain(replay_headers)
                .collect(),
            ..Default::default()
        };
        disable_response_filter(&mut plain);
        for (filter, config) in traffic::rate_limit_configs(self.server, auth) {
            for route in [&mut observed, &mut plain] {
                route
                    .typed_per_filter_config
                    .insert(filter.to_owned(), config.clone());
            }
        }
        VirtualHost {
            name: cluster_name(&self.server.name),
            domains: vec![hostname.clone(), format!("{hostname}:*")],
            routes: vec![stream, observed, plain, broker_route()],
            ..Default::default()
        }
    }

    /// Any path, and only with the router's mark for this server.
    fn backend_match(&self) -> RouteMatch {
        RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_owned())),
            headers: vec![HeaderMatcher {
                name: ROUTED_HEADER.to_owned(),
                header_match_specifier: Some(header_matcher::HeaderMatchSpecifier::StringMatch(
                    exact(&self.server.name),
                )),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}

fn exact(value: &str) -> StringMatcher {
    StringMatcher {
        match_pattern: Some(string_matcher::MatchPattern::Exact(value.to_owned())),
        ..Default::default()
    }
}

/// Switches the response filter off on `route`.
fn disable_response_filter(route: &mut Route) {
    let disabled = ExtProcPerRoute {
        r#override: Some(ext_proc_per_route::Override::Disabled(true)),
    };
    route.typed_per_filter_config.insert(
        BACKEND_RESPONSE_FILTER.to_owned(),
        Any {
            type_url: ExtProcPerRoute::type_url(),
            value: disabled.encode_to_vec(),
        },
    );
}

/// The fallback: every host no server claims goes to the broker.
fn broker_virtual_host() -> VirtualHost {
    VirtualHost {
        name: BROKER_CLUSTER.to_owned(),
        domains: vec!["*".to_owned()],
        routes: vec![broker_route()],
        ..Default::default()
    }
}

/// The broker's route: the response filter is off (nothing to map back), so requests the
/// broker answers cost the router one message at most. A request that could not reach a
/// broker replica at all goes to another one.
fn broker_route() -> Route {
    let mut route = catch_all_route(RouteAction {
        cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(
            BROKER_CLUSTER.to_owned(),
        )),
        retry_policy: Some(unreached_replica_retry()),
        ..sse_route_action()
    });
    disable_response_filter(&mut route);
    route
}

/// Retries only what never reached a replica (refused, or reset before the request was
/// sent), on another replica: safe for any request, since nothing acted on it.
fn unreached_replica_retry() -> RetryPolicy {
    RetryPolicy {
        retry_on: "connect-failure,refused-stream,reset-before-request".to_owned(),
        num_retries: Some(UInt32Value { value: 2 }),
        retry_host_predicate: vec![retry_policy::RetryHostPredicate {
            name: "envoy.retry_host_predicates.previous_hosts".to_owned(),
            config_type: Some(retry_policy::retry_host_predicate::ConfigType::TypedConfig(
                Any {
                    type_url: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate".to_owned(),
                    value: Vec::new(),
                },
            )),
        }],
        host_selection_retry_max_attempts: 5,
        ..Default::default()
    }
}

fn catch_all_route(action: RouteAction) -> Route {
    Route {
        r#match: Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_owned())),
            ..Default::default()
        }),
        action: Some(route::Action::Route(action)),
        ..Default::default()
    }
}

/// No overall timeout (SSE responses stay open), an idle timeout above keep-alives.
fn sse_route_action() -> RouteAction {
    RouteAction {
        timeout: Some(seconds(0)),
        idle_timeout: Some(seconds(STREAM_IDLE_TIMEOUT_SECS)),
        ..Default::default()
    }
}

/// Replaces the whole path (the query string is kept) with the backend's own path:
/// clients talk to the gateway's endpoint, a backend may live at `/` or `/mcp/v1`.
fn whole_path_rewrite(path: &str) -> RegexMatchAndSubstitute {
    RegexMatchAndSubstitute {
        pattern: Some(RegexMatcher {
            regex: "^.*$".to_owned(),
            ..Default::default()
        }),
        // RE2 substitutions treat `\` as an escape; URL paths never hold one (the url
        // crate turns it into `/`), but escaping keeps the rewrite literal regardless.
        substitution: path.replace('\\', "\\\\"),
    }
}

/// `host[:port]` as the backend expects it in `Host`; the port only when not the
/// scheme's default.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

pub(crate) fn load_assignment(cluster: &str, address: &str, port: u16) -> ClusterLoadAssignment {
    let endpoint = Endpoint {
        address: Some(Address {
            address: Some(address::Address::SocketAddress(SocketAddress {
                address: address.to_owned(),
                port_specifier: Some(socket_address::PortSpecifier::PortValue(u32::from(port))),
                ..Default::default()
            })),
        }),
        hostname: address.to_owned(),
        ..Default::default()
    };
    ClusterLoadAssignment {
        cluster_name: cluster.to_owned(),
        endpoints: vec![LocalityLbEndpoints {
            lb_endpoints: vec![LbEndpoint {
                host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(endpoint)),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// TLS to the backend with SNI set to the URL's host and HTTP/1.1 offered by ALPN.
///
/// The config has no trust settings yet, so the backend's certificate is not
/// verified (Envoy verifies only when given a CA bundle, and which bundle exists
/// depends on where Envoy runs).
pub(crate) fn tls_transport_socket(host: &str) -> TransportSocket {
    let context = UpstreamTlsContext {
        sni: host.to_owned(),
        common_tls_context: Some(CommonTlsContext {
            alpn_protocols: vec!["http/1.1".to_owned()],
            ..Default::default()
        }),
        ..Default::default()
    };
    TransportSocket {
        name: TLS_TRANSPORT_SOCKET.to_owned(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(to_any(&context))),
    }
}

/// The server's `traffic` thresholds: beyond them Envoy fails a request at once (response
/// flag `UO`) instead of queueing it on an overloaded backend.
fn circuit_breakers(traffic: &Traffic) -> CircuitBreakers {
    let limit = |value| Some(UInt32Value { value });
    CircuitBreakers {
        thresholds: vec![Thresholds {
            max_connections: limit(traffic.max_connections),
            max_pending_requests: limit(traffic.max_pending_requests),
            max_requests: limit(traffic.max_requests),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Ejects a backend host for a while after consecutive gateway errors (connect failures,
/// resets, timeouts, 502/503/504), so a dead backend fails fast; other 5xx eject only when
/// `consecutive5xx` is set (a backend's 500 is usually an answer, not an outage). A count
/// of 0 turns its detector off.
fn outlier_detection(outlier: &mcp_gateway_config::OutlierDetection) -> OutlierDetection {
    // Off: Envoy's default count, never enforced (a count of 1 would "detect" every error).
    let count = |n: u32| (n > 0).then_some(UInt32Value { value: n });
    let enforcing = |n: u32| {
        Some(UInt32Value {
            value: if n == 0 { 0 } else { 100 },
        })
    };
    OutlierDetection {
        consecutive_gateway_failure: count(outlier.consecutive_gateway_errors),
        enforcing_consecutive_gateway_failure: enforcing(outlier.consecutive_gateway_errors),
        consecutive_5xx: count(outlier.consecutive_5xx),
        enforcing_consecutive_5xx: enforcing(outlier.consecutive_5xx),
        enforcing_success_rate: Some(UInt32Value { value: 0 }),
        base_ejection_time: Some(proto_duration(outlier.base_ejection_time)),
        max_ejection_time: Some(proto_duration(outlier.max_ejection_time)),
        // Envoy's default, 10%, would never eject the only host of a one-host backend
        // (it counts as 100%): the common case here.
        max_ejection_percent: Some(UInt32Value { value: 100 }),
        ..Default::default()
    }
}

/// A `std` duration as a protobuf one.
pub(crate) fn proto_duration(duration: std::time::Duration) -> Duration {
    Duration {
        seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(duration.subsec_nanos()).unwrap_or(0),
    }
}

pub(crate) fn seconds(seconds: i64) -> Duration {
    Duration { seconds, nanos: 0 }
}

/// Packs a message as `google.protobuf.Any` with its canonical type URL.
pub(crate) fn to_any<M: Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

/// Headers the router sets for Envoy's own filters that a backend must not get: the observed
/// route's marker and the per-caller rate limit's key (the caller's issuer and subject).
/// The router filter removes them as it sends the request upstream, after every rate limit
/// filter has read them.
fn not_for_backends() -> Vec<String> {
    vec![
        OBSERVE_HEADER.to_owned(),
        transport::ROUTED_CALLER.to_owned(),
    ]
}

#[cfg(test)]
mod tests;
