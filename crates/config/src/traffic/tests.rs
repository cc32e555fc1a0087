use std::time::Duration;

use super::*;
use crate::{Config, ConfigError};

fn yaml(traffic: &str) -> String {
    format!("servers:\n- name: a\n  url: http://a.example.com/mcp\n  traffic: {traffic}\n")
}

fn traffic_of(traffic: &str) -> Traffic {
    let config = Config::from_yaml(&yaml(traffic)).expect("valid");
    config.servers()[0].traffic.clone()
}

fn errors(traffic: &str) -> Vec<String> {
    match Config::from_yaml(&yaml(traffic)) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { errors, .. }) => {
            errors.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected validation errors, got {other}"),
    }
}

#[test]
fn absent_traffic_means_the_defaults() {
    let config = Config::from_yaml("servers:\n- {name: a, url: 'http://a/'}\n").expect("valid");
    let traffic = &config.servers()[0].traffic;
    assert_eq!(*traffic, Traffic::default());
    assert_eq!(traffic.timeout, Some(DEFAULT_TIMEOUT));
    assert_eq!(traffic.connect_retries, 2);
    assert_eq!(traffic.outlier.consecutive_gateway_errors, 5);
    assert_eq!(traffic.rate_limit, RateLimit::default());
}

#[test]
fn every_field_is_read() {
    let traffic = traffic_of(
        "{timeout: 1500ms, connectRetries: 0, maxConnections: 3, maxPendingRequests: 4, \
         maxRequests: 5, outlierDetection: {consecutiveGatewayErrors: 2, consecutive5xx: 7, \
         baseEjectionTime: 10s, maxEjectionTime: 2m}, rateLimit: {server: {requests: 100, per: 1s}, \
         perTool: {requests: 3, per: 1m}, perCaller: {requests: 9, per: 1h}}}",
    );
    assert_eq!(traffic.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(traffic.connect_retries, 0);
    assert_eq!(
        (
            traffic.max_connections,
            traffic.max_pending_requests,
            traffic.max_requests
        ),
        (3, 4, 5)
    );
    assert_eq!(
        traffic.outlier,
        OutlierDetection {
            consecutive_gateway_errors: 2,
            consecutive_5xx: 7,
            base_ejection_time: Duration::from_secs(10),
            max_ejection_time: Duration::from_secs(120),
        }
    );
    let limit = |requests, secs| {
        Some(Limit {
            requests,
            per: Duration::from_secs(secs),
        })
    };
    assert_eq!(
        traffic.rate_limit,
        RateLimit {
            server: limit(100, 1),
            per_tool: limit(3, 60),
            per_caller: limit(9, 3600),
        }
    );
}

#[test]
fn zero_timeout_means_none() {
    assert_eq!(traffic_of("{timeout: 0}").timeout, None);
}

#[test]
fn nonsense_is_rejected_with_the_field_path() {
    let table: &[(&str, &[&str])] = &[
        (
            "{timeout: soon}",
            &[
                "servers[0].traffic.timeout \"soon\": must be a whole number followed by ms, s, m or h (e.g. 30s)",
            ],
        ),
        (
            "{timeout: 5ms}",
            &["servers[0].traffic.timeout \"5ms\": must be at least 100ms (or 0 for no timeout)"],
        ),
        (
            "{connectRetries: 11}",
            &["servers[0].traffic.connectRetries \"11\": must be at most 10"],
        ),
        (
            "{maxRequests: 0}",
            &[
                "servers[0].traffic.maxRequests \"0\": must be at least 1 (0 would refuse every request)",
            ],
        ),
        (
            "{outlierDetection: {baseEjectionTime: 1m, maxEjectionTime: 10s}}",
            &[
                "servers[0].traffic.outlierDetection.maxEjectionTime \"10s\": must not be shorter than baseEjectionTime (60s)",
            ],
        ),
        (
            "{rateLimit: {perTool: {requests: 0, per: 1s}}}",
            &[
                "servers[0].traffic.rateLimit.perTool.requests \"0\": must be at least 1 (disable a server instead of allowing it nothing)",
            ],
        ),
        (
            "{rateLimit: {server: {requests: 5}}}",
            &["servers[0].traffic.rateLimit.server.per: is required (e.g. 1s, 1m)"],
        ),
        (
            "{rateLimit: {perCaller: {requests: 5, per: 1500ms}}}",
            &[
                "servers[0].traffic.rateLimit.perCaller.per \"1500ms\": must be a whole number of seconds from 1s to 24h",
            ],
        ),
        (
            "{rateLimit: {perCaller: {requests: 5, per: 25h}}}",
            &[
                "servers[0].traffic.rateLimit.perCaller.per \"25h\": must be a whole number of seconds from 1s to 24h",
            ],
        ),
    ];
    for (traffic, want) in table {
        assert_eq!(errors(traffic), *want, "traffic: {traffic}");
    }
}

#[test]
fn unknown_keys_are_an_error_not_ignored() {
    // A misspelt limit must not silently leave a server unprotected.
    let error = Config::from_yaml(&yaml("{timout: 5s}")).expect_err("rejected");
    assert!(error.to_string().contains("timout"), "{error}");
}

#[test]
fn durations_parse_and_print_back() {
    for (text, want) in [
        ("250ms", Duration::from_millis(250)),
        ("90", Duration::from_secs(90)),
        ("90s", Duration::from_secs(90)),
        ("5m", Duration::from_secs(300)),
        ("2h", Duration::from_secs(7200)),
    ] {
        assert_eq!(parse_duration(text), Ok(want), "{text}");
        assert_eq!(parse_duration(&format_duration(want)), Ok(want));
    }
    for bad in ["", "s", "1.5s", "-1s", "1d", "99999999999999999999h"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn written_back_it_validates_to_the_same_policy() {
    let traffic = traffic_of(
        "{timeout: 0, connectRetries: 1, outlierDetection: {consecutiveGatewayErrors: 0}, \
         rateLimit: {perTool: {requests: 3, per: 1m}}}",
    );
    let config = Config::from_yaml(&yaml(
        "{timeout: 0, connectRetries: 1, outlierDetection: {consecutiveGatewayErrors: 0}, \
         rateLimit: {perTool: {requests: 3, per: 1m}}}",
    ))
    .expect("valid");
    let raw = crate::RawConfig::from(&config);
    let again = Config::try_from(raw).expect("valid again");
    assert_eq!(again.servers()[0].traffic, traffic);
}
