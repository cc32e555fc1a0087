use std::time::Duration;

use crate::{Config, ConfigError};

fn load(yaml: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(yaml)
}

fn messages(yaml: &str) -> Vec<String> {
    load(yaml)
        .expect_err("invalid")
        .field_errors()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn absent_means_off() {
    assert!(load("servers: []").unwrap().auth().is_none());
    assert!(load("servers: []\nauth: null").unwrap().auth().is_none());
}

#[test]
fn defaults_fill_in() {
    let cfg = load(
        "servers: []
auth:
  resource: http://127.0.0.1:8888/mcp
  issuers:
  - issuer: http://127.0.0.1:8890
    jwksUri: http://127.0.0.1:8890/jwks
",
    )
    .unwrap();
    let auth = cfg.auth().unwrap();
    assert_eq!(auth.resource.as_str(), "http://127.0.0.1:8888/mcp");
    assert_eq!(auth.resource_name, "MCP Gateway");
    assert!(auth.required_scopes.is_empty());
    assert_eq!(auth.console_scope, "mcp-gateway:console");
    let issuer = &auth.issuers[0];
    assert_eq!(issuer.issuer, "http://127.0.0.1:8890");
    assert_eq!(issuer.jwks_uri.as_str(), "http://127.0.0.1:8890/jwks");
    assert_eq!(issuer.audiences, ["http://127.0.0.1:8888/mcp"]);
    assert_eq!(issuer.clock_skew, Duration::from_secs(60));
    assert_eq!(issuer.jwks_cache_duration, Duration::from_secs(300));
    assert_eq!(
        auth.resource_metadata_url(),
        "http://127.0.0.1:8888/.well-known/oauth-protected-resource/mcp"
    );
}

#[test]
fn challenges_name_the_metadata_the_error_and_the_scopes() {
    let cfg = load(
        "servers: []
auth:
  resource: http://gw:8888/mcp
  requiredScopes: [mcp, tools]
  issuers: [{issuer: i, jwksUri: 'https://i.example/k'}]
",
    )
    .unwrap();
    let auth = cfg.auth().unwrap();
    assert_eq!(
        auth.challenge(None, None),
        r#"Bearer scope="mcp tools", resource_metadata="http://gw:8888/.well-known/oauth-protected-resource/mcp""#
    );
    assert_eq!(
        auth.challenge(Some("invalid_token"), Some(r#"Jwt "is" expired"#)),
        r#"Bearer error="invalid_token", error_description="Jwt is expired", scope="mcp tools", resource_metadata="http://gw:8888/.well-known/oauth-protected-resource/mcp""#
    );
}

#[test]
fn metadata_url_of_a_root_resource_has_no_suffix() {
    let cfg = load(
        "servers: []
auth:
  resource: https://gw.example
  issuers: [{issuer: i, jwksUri: 'https://i.example/k'}]
",
    )
    .unwrap();
    assert_eq!(
        cfg.auth().unwrap().resource_metadata_url(),
        "https://gw.example/.well-known/oauth-protected-resource"
    );
}

#[test]
fn everything_set() {
    let cfg = load(
        "servers: []
auth:
  resource: https://gw.example/mcp
  resourceName: Tools
  requiredScopes: [mcp, tools.read]
  consoleScope: ops
  issuers:
  - issuer: https://a.example
    jwksUri: https://a.example/keys
    audiences: [x, y]
    clockSkew: 2m
    jwksCacheDuration: 30
",
    )
    .unwrap();
    let auth = cfg.auth().unwrap();
    assert_eq!(auth.resource_name, "Tools");
    assert_eq!(auth.required_scopes, ["mcp", "tools.read"]);
    assert_eq!(auth.console_scope, "ops");
    assert_eq!(auth.issuers[0].audiences, ["x", "y"]);
    assert_eq!(auth.issuers[0].clock_skew, Duration::from_secs(120));
    assert_eq!(auth.issuers[0].jwks_cache_duration, Duration::from_secs(30));
    // Written back (the controller publishes configs) it loads the same.
    let text = serde_yaml::to_string(&crate::RawConfig::from(&cfg)).unwrap();
    assert_eq!(load(&text).unwrap(), cfg);
}

#[test]
fn every_broken_field_is_named() {
    let errors = messages(
        "servers: []
auth:
  resource: /mcp
  requiredScopes: ['a b']
  consoleScope: ''
  issuers:
  - jwksUri: ftp://x
    clockSkew: 1d
  - issuer: https://a.example
    jwksUri: https://a.example/keys
    clockSkew: 11m
    jwksCacheDuration: 0s
  - issuer: https://a.example
    jwksUri: https://a.example/keys
    audiences: ['']
    clockSkew: 0s
",
    );
    assert_eq!(
        errors,
        [
            r#"auth.resource "/mcp": is not a URL"#,
            r#"auth.consoleScope "": must be a non-empty scope without spaces or quotes"#,
            r#"auth.requiredScopes[0] "a b": must be a non-empty scope without spaces or quotes"#,
            "auth.issuers[0].issuer: is required",
            r#"auth.issuers[0].jwksUri "ftp://x": must be an http or https URL with a host"#,
            r#"auth.issuers[0].clockSkew "1d": must be a whole number of seconds, or end in s, m or h"#,
            "auth.issuers[1].clockSkew: must be at most 10m",
            "auth.issuers[1].jwksCacheDuration: must be at least 1s",
            r#"auth.issuers[2].issuer "https://a.example": is listed twice"#,
            r#"auth.issuers[2].audiences[0] "": is empty"#,
            "auth.issuers[2].clockSkew: must be at least 1s",
        ]
    );
    assert_eq!(
        load("servers: []\nauth: {resource: 'http://g/mcp'}")
            .unwrap_err()
            .field_errors()[0]
            .path(),
        "auth.issuers"
    );
}

#[test]
fn server_errors_come_first() {
    let errors = messages("servers: [{name: a}]\nauth: {}");
    assert_eq!(
        errors,
        [
            "servers[0] (a): url: is required",
            "auth.resource: is required",
            "auth.issuers: must list at least one issuer",
        ]
    );
}
