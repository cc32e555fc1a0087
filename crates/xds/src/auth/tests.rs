use envoy_types::pb::envoy::extensions::filters::http::jwt_authn::v3::{
    JwtAuthentication, jwt_provider, jwt_requirement, requirement_rule,
};
use mcp_gateway_config::Config;
use prost::{Message, Name};

use super::*;

fn config(auth: &str) -> Config {
    Config::from_yaml(&format!("servers: []\n{auth}")).unwrap()
}

const TWO_ISSUERS: &str = "auth:
  resource: http://127.0.0.1:8888/mcp
  issuers:
  - issuer: http://127.0.0.1:8890
    jwksUri: http://127.0.0.1:8890/jwks
    clockSkew: 5s
    jwksCacheDuration: 2s
  - issuer: https://login.example
    jwksUri: https://keys.example/jwks.json
    audiences: [api://gw]
";

#[test]
fn off_is_a_filter_without_providers() {
    let ext = jwt_authn_extension(&config(""));
    assert_eq!(ext.name, JWT_AUTHN_FILTER);
    let any = ext.typed_config.unwrap();
    assert_eq!(any.type_url, JWT_AUTHN_TYPE);
    assert_eq!(JwtAuthentication::type_url(), JWT_AUTHN_TYPE);
    let filter = JwtAuthentication::decode(any.value.as_slice()).unwrap();
    assert_eq!(filter, JwtAuthentication::default());
    assert!(jwks_clusters(&config("")).is_empty());
}

#[test]
fn one_provider_per_issuer_verifying_without_refusing() {
    let filter = jwt_authn(config(TWO_ISSUERS).auth());
    assert_eq!(filter.providers.len(), 2);
    let first = &filter.providers["issuer_0"];
    assert_eq!(first.issuer, "http://127.0.0.1:8890");
    assert_eq!(first.audiences, ["http://127.0.0.1:8888/mcp"]);
    assert_eq!(first.clock_skew_seconds, 5);
    assert_eq!(first.payload_in_metadata, "jwt_payload");
    assert_eq!(first.failed_status_in_metadata, "jwt_failure");
    assert!(first.forward);
    assert_eq!(first.from_headers.len(), 1);
    assert_eq!(first.from_headers[0].name, "authorization");
    assert_eq!(first.from_headers[0].value_prefix, "Bearer ");
    assert!(first.from_params.is_empty(), "never a token in the URL");
    let Some(jwt_provider::JwksSourceSpecifier::RemoteJwks(remote)) = &first.jwks_source_specifier
    else {
        panic!("remote JWKS expected");
    };
    let uri = remote.http_uri.as_ref().unwrap();
    assert_eq!(uri.uri, "http://127.0.0.1:8890/jwks");
    assert_eq!(
        uri.http_upstream_type,
        Some(http_uri::HttpUpstreamType::Cluster("mcp_jwks_0".into()))
    );
    assert_eq!(remote.cache_duration.unwrap().seconds, 2);
    assert_eq!(filter.providers["issuer_1"].audiences, ["api://gw"]);

    assert_eq!(filter.rules.len(), 1);
    let Some(requirement_rule::RequirementType::Requires(requires)) =
        &filter.rules[0].requirement_type
    else {
        panic!("a requirement expected");
    };
    assert!(matches!(
        requires.requires_type,
        Some(jwt_requirement::RequiresType::AllowMissingOrFailed(_))
    ));
}

#[test]
fn a_cluster_per_issuer_with_tls_for_https() {
    let clusters = jwks_clusters(&config(TWO_ISSUERS));
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0].name, "mcp_jwks_0");
    assert!(clusters[0].transport_socket.is_none());
    let endpoint = format!("{:?}", clusters[1].load_assignment);
    assert!(
        endpoint.contains("keys.example") && endpoint.contains("443"),
        "{endpoint}"
    );
    assert!(clusters[1].transport_socket.is_some());
}
