use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::route::v3::{Route, route};
use mcp_gateway_config::Config;
use prost::{Message, Name};

use super::*;
use crate::resources::resources;

const POLICY: &str = "{timeout: 90s, connectRetries: 3, maxConnections: 7, maxPendingRequests: 8, \
     maxRequests: 9, outlierDetection: {consecutiveGatewayErrors: 2, consecutive5xx: 4, \
     baseEjectionTime: 10s, maxEjectionTime: 1m}, rateLimit: {server: {requests: 50, per: 1s}, \
     perTool: {requests: 5, per: 1m}, perCaller: {requests: 20, per: 1h}}}";

fn config(traffic: &str, auth: bool) -> Config {
    let auth = if auth {
        "auth:\n  resource: http://127.0.0.1:8888/mcp\n  issuers: [{issuer: 'http://127.0.0.1:8890', jwksUri: 'http://127.0.0.1:8890/jwks'}]\n"
    } else {
        ""
    };
    Config::from_yaml(&format!(
        "{auth}servers:\n- name: s\n  url: http://s.internal/mcp\n  traffic: {traffic}\n"
    ))
    .expect("valid")
}

fn cluster(cfg: &Config) -> Cluster {
    resources(cfg).clusters.remove(0)
}

/// The server's stream, observed and plain routes.
fn routes(cfg: &Config) -> Vec<Route> {
    let mut table = resources(cfg).routes;
    table
        .virtual_hosts
        .remove(0)
        .routes
        .into_iter()
        .take(3)
        .collect()
}

fn action(route: &Route) -> &envoy_types::pb::envoy::config::route::v3::RouteAction {
    match &route.action {
        Some(route::Action::Route(action)) => action,
        other => panic!("route action expected, got {other:?}"),
    }
}

fn rate_limit(route: &Route, filter: &str) -> Option<LocalRateLimit> {
    let any = route.typed_per_filter_config.get(filter)?;
    assert_eq!(any.type_url, LocalRateLimit::type_url());
    Some(LocalRateLimit::decode(any.value.as_slice()).expect("decodes"))
}

#[test]
fn cluster_carries_the_breakers_and_outlier_detection() {
    let cluster = cluster(&config(POLICY, false));
    let thresholds = &cluster.circuit_breakers.expect("breakers").thresholds[0];
    assert_eq!(thresholds.max_connections, Some(UInt32Value { value: 7 }));
    assert_eq!(
        thresholds.max_pending_requests,
        Some(UInt32Value { value: 8 })
    );
    assert_eq!(thresholds.max_requests, Some(UInt32Value { value: 9 }));
    let outlier = cluster.outlier_detection.expect("outlier detection");
    assert_eq!(
        outlier.consecutive_gateway_failure,
        Some(UInt32Value { value: 2 })
    );
    assert_eq!(
        outlier.enforcing_consecutive_gateway_failure,
        Some(UInt32Value { value: 100 })
    );
    assert_eq!(outlier.consecutive_5xx, Some(UInt32Value { value: 4 }));
    assert_eq!(
        outlier.enforcing_consecutive_5xx,
        Some(UInt32Value { value: 100 })
    );
    assert_eq!(outlier.base_ejection_time, Some(seconds(10)));
    assert_eq!(outlier.max_ejection_time, Some(seconds(60)));
    // A one-host backend must be ejectable, and an ejected host gets no traffic.
    assert_eq!(
        outlier.max_ejection_percent,
        Some(UInt32Value { value: 100 })
    );
    let panic = cluster
        .common_lb_config
        .and_then(|c| c.healthy_panic_threshold)
        .expect("panic threshold");
    assert_eq!(panic.value, 0.0);
}

#[test]
fn defaults_eject_on_gateway_errors_only_and_never_cap_a_healthy_deployment() {
    let cluster = cluster(&config("{}", false));
    let thresholds = &cluster.circuit_breakers.expect("breakers").thresholds[0];
    assert_eq!(
        thresholds.max_requests,
        Some(UInt32Value { value: 100_000 })
    );
    let outlier = cluster.outlier_detection.expect("outlier detection");
    assert_eq!(
        outlier.consecutive_gateway_failure,
        Some(UInt32Value { value: 5 })
    );
    // Off: not enforced, and left at Envoy's count rather than "every error".
    assert_eq!(outlier.consecutive_5xx, None);
    assert_eq!(
        outlier.enforcing_consecutive_5xx,
        Some(UInt32Value { value: 0 })
    );
}

#[test]
fn calls_get_the_timeout_and_retry_only_what_never_reached_the_backend() {
    let cfg = config(POLICY, false);
    let routes = routes(&cfg);
    let [stream, observed, plain] = routes.as_slice() else {
        panic!("three backend routes");
    };
    for route in [observed, plain] {
        let action = action(route);
        assert_eq!(action.timeout, Some(seconds(90)));
        let retry = action.retry_policy.as_ref().expect("retry policy");
        assert_eq!(
            retry.retry_on,
            "connect-failure,refused-stream,reset-before-request"
        );
        for unsafe_condition in ["5xx", "gateway-error", "reset,", "retriable-status-codes"] {
            assert!(
                !retry.retry_on.contains(unsafe_condition),
                "{unsafe_condition}"
            );
        }
        assert_eq!(retry.num_retries, Some(UInt32Value { value: 3 }));
    }
    // A resumed GET stream is never cut, retried or rate limited.
    let stream = action(stream);
    assert_eq!(stream.timeout, Some(seconds(0)));
    assert!(stream.retry_policy.is_none());
    assert!(routes[0].typed_per_filter_config.is_empty());

    let off = config("{timeout: 0, connectRetries: 0}", false);
    let routes = self::routes(&off);
    assert_eq!(action(&routes[1]).timeout, Some(seconds(0)));
    assert!(action(&routes[1]).retry_policy.is_none());
}

#[test]
fn rate_limits_are_route_configs_of_their_filters() {
    let cfg = config(POLICY, false);
    let routes = routes(&cfg);
    for route in &routes[1..] {
        let server = rate_limit(route, SERVER_RATE_LIMIT_FILTER).expect("server limit");
        let bucket = server.token_bucket.expect("bucket");
        assert_eq!(bucket.max_tokens, 50);
        assert_eq!(bucket.fill_interval, Some(seconds(1)));
        assert!(server.descriptors.is_empty());
        assert!(server.enable_retry_after_header);
        let enabled = server
            .filter_enabled
            .and_then(|f| f.default_value)
            .expect("enabled");
        assert_eq!(enabled.numerator, 100);
        assert_eq!(server.stat_prefix, "mcp_ratelimit_server_s");

        let tool = rate_limit(route, TOOL_RATE_LIMIT_FILTER).expect("tool limit");
        assert_eq!(
            tool.always_consume_default_token_bucket,
            Some(BoolValue { value: false })
        );
        let [descriptor] = tool.descriptors.as_slice() else {
            panic!("one wildcard descriptor");
        };
        assert_eq!(descriptor.entries[0].key, "tool");
        assert_eq!(descriptor.entries[0].value, "", "one bucket per tool");
        let bucket = descriptor.token_bucket.expect("bucket");
        assert_eq!(
            (bucket.max_tokens, bucket.fill_interval),
            (5, Some(seconds(60)))
        );
        let Some(rate_limit::action::ActionSpecifier::RequestHeaders(header)) =
            &tool.rate_limits[0].actions[0].action_specifier
        else {
            panic!("the tool comes from the router's header");
        };
        assert_eq!(header.header_name, transport::ROUTED_TOOL);
        assert!(header.skip_if_absent, "other methods pass the tool limit");

        let caller = rate_limit(route, CALLER_RATE_LIMIT_FILTER).expect("caller limit");
        assert_eq!(caller.descriptors[0].entries[0].key, "remote_address");
        assert!(matches!(
            caller.rate_limits[0].actions[0].action_specifier,
            Some(rate_limit::action::ActionSpecifier::RemoteAddress(_))
        ));
    }
}

#[test]
fn with_auth_a_caller_is_its_verified_issuer_and_subject() {
    let cfg = config("{rateLimit: {perCaller: {requests: 2, per: 1s}}}", true);
    let route = &routes(&cfg)[1];
    assert!(rate_limit(route, SERVER_RATE_LIMIT_FILTER).is_none());
    assert!(rate_limit(route, TOOL_RATE_LIMIT_FILTER).is_none());
    let caller = rate_limit(route, CALLER_RATE_LIMIT_FILTER).expect("caller limit");
    assert_eq!(caller.descriptors[0].entries[0].key, "caller");
    // Not `sub` alone: the same `sub` at two issuers is two callers. The router's key of
    // (issuer, subject), in an internal header clients cannot send.
    let Some(rate_limit::action::ActionSpecifier::RequestHeaders(header)) =
        &caller.rate_limits[0].actions[0].action_specifier
    else {
        panic!("the caller comes from the router's caller key");
    };
    assert_eq!(header.header_name, transport::ROUTED_CALLER);
    assert!(header.header_name.starts_with(transport::INTERNAL_PREFIX));
    assert_eq!(header.descriptor_key, "caller");
}

#[test]
fn no_limits_no_filter_configs() {
    let cfg = config("{}", false);
    for route in routes(&cfg) {
        for filter in RATE_LIMIT_FILTERS {
            assert!(!route.typed_per_filter_config.contains_key(filter));
        }
    }
}
