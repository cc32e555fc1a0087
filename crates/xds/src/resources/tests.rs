use super::*;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::config::route::v3::header_matcher;
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use prost::Message;

const CONFIG: &str = r#"
servers:
  - name: weather
    url: http://weather.internal:8080/mcp
    hostname: weather.mcp.local
    toolPrefix: weather_
  - name: github
    url: https://api.example.com/mcp/v1
    hostname: github.mcp.local
    toolPrefix: gh_
  - name: off
    url: http://off.internal/
    hostname: off.mcp.local
    enabled: false
    toolPrefix: off_
  - name: local
    url: http://127.0.0.1/
    hostname: local.mcp.local
    toolPrefix: local_
"#;

fn config() -> Config {
    Config::from_yaml(CONFIG).expect("test config is valid")
}

fn socket_address(cluster: &Cluster) -> (&str, u32, &str) {
    let assignment = cluster.load_assignment.as_ref().expect("load assignment");
    assert_eq!(assignment.cluster_name, cluster.name);
    let [locality] = assignment.endpoints.as_slice() else {
        panic!("one locality expected: {assignment:?}");
    };
    let [lb_endpoint] = locality.lb_endpoints.as_slice() else {
        panic!("one endpoint expected: {locality:?}");
    };
    let Some(lb_endpoint::HostIdentifier::Endpoint(endpoint)) = &lb_endpoint.host_identifier else {
        panic!("endpoint expected");
    };
    let Some(address::Address::SocketAddress(socket)) =
        endpoint.address.as_ref().and_then(|a| a.address.as_ref())
    else {
        panic!("socket address expected");
    };
    let Some(socket_address::PortSpecifier::PortValue(port)) = socket.port_specifier else {
        panic!("port value expected");
    };
    (&socket.address, port, &endpoint.hostname)
}

/// The backend route of a server's virtual host; also checks that it needs the router's
/// `x-mcp-servername` and that anything else in the virtual host goes to the broker.
fn route_action(vhost: &VirtualHost) -> &RouteAction {
    if vhost.name == BROKER_CLUSTER {
        let [route] = vhost.routes.as_slice() else {
            panic!("the broker's virtual host has one catch-all route");
        };
        let Some(route::Action::Route(action)) = &route.action else {
            panic!("route action expected");
        };
        return action;
    }
    let [stream, route, plain, fallback] = vhost.routes.as_slice() else {
        panic!(
            "stream, observed and plain backend routes and the broker fallback expected in {}",
            vhost.name
        );
    };
    // A resumed GET stream: same backend, observed, but never cut by the request timeout.
    let stream_headers = &stream.r#match.as_ref().expect("match").headers;
    assert_eq!(stream_headers[0].name, ROUTED_HEADER);
    assert_eq!(stream_headers[1].name, ":method");
    assert_eq!(
        stream.request_headers_to_remove,
        [OBSERVE_HEADER, transport::ROUTED_CALLER]
    );
    let Some(route::Action::Route(stream_action)) = &stream.action else {
        panic!("route action expected");
    };
    assert_eq!(stream_action.timeout, Some(seconds(0)));
    assert!(stream_action.retry_policy.is_none());
    // The first route needs the router's observe mark and keeps the response filter; the
    // second is the same backend without it (filter off, backend session id dropped).
    let observed = &route.r#match.as_ref().expect("match").headers;
    assert_eq!(
        observed.len(),
        2,
        "observed route: server mark and observe mark"
    );
    assert_eq!(observed[1].name, OBSERVE_HEADER);
    assert_eq!(
        route.request_headers_to_remove,
        [OBSERVE_HEADER, transport::ROUTED_CALLER],
        "the rate limit key stays in Envoy"
    );
    assert!(route.typed_per_filter_config.is_empty());
    assert!(
        plain
            .typed_per_filter_config
            .contains_key(BACKEND_RESPONSE_FILTER)
    );
    // The replay's response headers reach no client; the plain route drops the backend's
    // session id too.
    let replay_headers = crate::replay::RESPONSE_ONLY_HEADERS.map(str::to_owned);
    assert_eq!(route.response_headers_to_remove, replay_headers);
    assert_eq!(plain.response_headers_to_remove[0], "mcp-session-id");
    assert_eq!(plain.response_headers_to_remove[1..], replay_headers);
    // Both follow one 307 of the backend cluster (a replay), copying its replay headers.
    for backend_route in [route, plain] {
        let Some(route::Action::Route(action)) = &backend_route.action else {
            panic!("route action expected");
        };
        let redirect = action.internal_redirect_policy.as_ref().expect("redirects");
        assert_eq!(redirect.redirect_response_codes, [307]);
        assert_eq!(redirect.max_internal_redirects.map(|m| m.value), Some(1));
        assert_eq!(redirect.response_headers_to_copy.len(), 3);
    }
    assert_eq!(
        plain.r#match.as_ref().map(|m| &m.headers[..]),
        route.r#match.as_ref().map(|m| &m.headers[..1])
    );
    assert!(
        fallback
            .typed_per_filter_config
            .contains_key(BACKEND_RESPONSE_FILTER)
    );
    let server = vhost
        .name
        .strip_prefix("mcp_server_")
        .expect("server vhost");
    let headers = &plain.r#match.as_ref().expect("match").headers;
    let [header] = headers.as_slice() else {
        panic!("the backend route must require exactly one header");
    };
    assert_eq!(header.name, ROUTED_HEADER);
    assert_eq!(
        header.header_match_specifier,
        Some(header_matcher::HeaderMatchSpecifier::StringMatch(
            StringMatcher {
                match_pattern: Some(string_matcher::MatchPattern::Exact(server.to_owned())),
                ..Default::default()
            }
        )),
        "a client-chosen Host alone must not reach {server}"
    );
    let Some(route::Action::Route(fallback)) = &fallback.action else {
        panic!("route action expected");
    };
    assert_eq!(target_cluster(fallback), BROKER_CLUSTER);
    let Some(route_match::PathSpecifier::Prefix(prefix)) = route
        .r#match
        .as_ref()
        .and_then(|m| m.path_specifier.as_ref())
    else {
        panic!("prefix match expected");
    };
    assert_eq!(prefix, "/");
    let Some(route::Action::Route(action)) = &route.action else {
        panic!("route action expected");
    };
    action
}

fn target_cluster(action: &RouteAction) -> &str {
    let Some(route_action::ClusterSpecifier::Cluster(cluster)) = &action.cluster_specifier else {
        panic!("cluster target expected");
    };
    cluster
}

#[test]
fn cluster_names_carry_the_server_name() {
    assert_eq!(cluster_name("weather"), "mcp_server_weather");
}

#[test]
fn one_cluster_per_enabled_server_in_config_order() {
    let names: Vec<String> = resources(&config())
        .clusters
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        [
            "mcp_server_weather",
            "mcp_server_github",
            "mcp_server_local"
        ]
    );
}

#[test]
fn plain_http_cluster_resolves_the_url_host_and_port() {
    let clusters = resources(&config()).clusters;
    let weather = &clusters[0];
    assert_eq!(
        weather.cluster_discovery_type,
        Some(ClusterDiscoveryType::Type(DiscoveryType::StrictDns as i32))
    );
    assert_eq!(weather.connect_timeout, Some(seconds(2)));
    assert_eq!(weather.lb_policy, LbPolicy::RoundRobin as i32);
    assert_eq!(
        weather.dns_lookup_family,
        DnsLookupFamily::V4Preferred as i32
    );
    assert_eq!(
        socket_address(weather),
        ("weather.internal", 8080, "weather.internal")
    );
    assert!(weather.transport_socket.is_none(), "http must not use TLS");
}

#[test]
fn default_ports_follow_the_scheme() {
    let clusters = resources(&config()).clusters;
    assert_eq!(socket_address(&clusters[1]).1, 443);
    assert_eq!(socket_address(&clusters[2]), ("127.0.0.1", 80, "127.0.0.1"));
}

#[test]
fn https_cluster_uses_tls_with_sni_of_the_url_host() {
    let clusters = resources(&config()).clusters;
    let socket = clusters[1]
        .transport_socket
        .as_ref()
        .expect("TLS for https");
    assert_eq!(socket.name, "envoy.transport_sockets.tls");
    let Some(ConfigType::TypedConfig(any)) = &socket.config_type else {
        panic!("typed config expected");
    };
    assert_eq!(
        any.type_url,
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
    );
    let tls = UpstreamTlsContext::decode(any.value.as_slice()).expect("decodes");
    assert_eq!(tls.sni, "api.example.com");
    let common = tls.common_tls_context.expect("common context");
    assert_eq!(common.alpn_protocols, ["http/1.1"]);
    assert!(common.tls_certificates.is_empty(), "no client certificates");
}

#[test]
fn backend_clusters_lift_the_default_request_limits() {
    let clusters = resources(&config()).clusters;
    let thresholds = &clusters[0]
        .circuit_breakers
        .as_ref()
        .expect("breakers")
        .thresholds;
    assert_eq!(
        thresholds[0].max_requests,
        Some(UInt32Value {
            value: CIRCUIT_BREAKER_LIMIT
        })
    );
}

#[test]
fn route_table_has_one_virtual_host_per_server_and_the_broker_last() {
    let routes = resources(&config()).routes;
    assert_eq!(routes.name, ROUTE_CONFIG_NAME);
    let names: Vec<&str> = routes
        .virtual_hosts
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "mcp_server_weather",
            "mcp_server_github",
            "mcp_server_local",
            "mcp_broker"
        ]
    );
    let broker = routes.virtual_hosts.last().expect("broker vhost");
    assert_eq!(broker.domains, ["*"]);
    let action = route_action(broker);
    assert_eq!(target_cluster(action), "mcp_broker");
    assert_eq!(action.timeout, Some(seconds(0)));
    assert!(action.regex_rewrite.is_none() && action.host_rewrite_specifier.is_none());
}

#[test]
fn server_virtual_host_matches_hostname_with_any_port() {
    let routes = resources(&config()).routes;
    assert_eq!(
        routes.virtual_hosts[0].domains,
        ["weather.mcp.local", "weather.mcp.local:*"]
    );
}

#[test]
fn server_route_rewrites_host_and_path_to_the_backend_url() {
    let routes = resources(&config()).routes;
    let cases = [
        (0, "mcp_server_weather", "weather.internal:8080", "/mcp"),
        (1, "mcp_server_github", "api.example.com", "/mcp/v1"),
        (2, "mcp_server_local", "127.0.0.1", "/"),
    ];
    for (index, cluster, host, path) in cases {
        let action = route_action(&routes.virtual_hosts[index]);
        assert_eq!(target_cluster(action), cluster);
        assert_eq!(
            action.host_rewrite_specifier,
            Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(
                host.to_owned()
            )),
            "{cluster}"
        );
        let rewrite = action.regex_rewrite.as_ref().expect("path rewrite");
        assert_eq!(
            rewrite.pattern.as_ref().map(|p| p.regex.as_str()),
            Some("^.*$")
        );
        assert_eq!(rewrite.substitution, path, "{cluster}");
        assert_eq!(
            action.timeout,
            Some(seconds(600)),
            "a call's answer (SSE included) must be complete within the default timeout"
        );
        assert_eq!(action.idle_timeout, Some(seconds(STREAM_IDLE_TIMEOUT_SECS)));
    }
}

#[test]
fn empty_config_still_routes_everything_to_the_broker() {
    let resources = resources(&Config::empty());
    assert!(resources.clusters.is_empty());
    let [broker] = resources.routes.virtual_hosts.as_slice() else {
        panic!("only the broker expected");
    };
    assert_eq!(target_cluster(route_action(broker)), "mcp_broker");
}

/// Broker replicas: a request that never reached one (refused, reset before it was sent)
/// goes to another; nothing a broker received is sent twice.
#[test]
fn broker_requests_that_reached_no_replica_go_to_another() {
    let resources = resources(&Config::empty());
    let retry = route_action(&resources.routes.virtual_hosts[0])
        .retry_policy
        .as_ref()
        .expect("a retry policy");
    assert_eq!(
        retry.retry_on,
        "connect-failure,refused-stream,reset-before-request"
    );
    assert_eq!(
        retry.retry_host_predicate[0].name,
        "envoy.retry_host_predicates.previous_hosts"
    );
}

#[test]
fn ipv6_backends_connect_to_the_bare_address_and_keep_brackets_in_host() {
    let cfg = Config::from_yaml(
        "servers:\n  - name: six\n    url: http://[::1]:9000/mcp\n    hostname: six.mcp.local\n",
    )
    .expect("valid");
    let resources = resources(&cfg);
    assert_eq!(socket_address(&resources.clusters[0]).0, "::1");
    assert_eq!(
        route_action(&resources.routes.virtual_hosts[0]).host_rewrite_specifier,
        Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(
            "[::1]:9000".to_owned()
        ))
    );
}

#[test]
fn path_rewrite_escapes_backslashes_for_re2() {
    assert_eq!(whole_path_rewrite(r"/a\b").substitution, r"/a\\b");
}

#[test]
fn stdio_servers_are_routed_by_name_to_their_loopback_bridge() {
    let cfg = Config::from_yaml(
        "servers:\n  - name: ev\n    command: node\n    args: [server.js, stdio]\n    port: 9101\n",
    )
    .expect("valid");
    let resources = resources(&cfg);
    assert_eq!(
        socket_address(&resources.clusters[0]),
        ("127.0.0.1", 9101, "127.0.0.1")
    );
    assert_eq!(resources.routes.virtual_hosts[0].domains, ["ev", "ev:*"]);
}
