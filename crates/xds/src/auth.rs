//! Caller authentication in Envoy: the `jwt_authn` filter's config, served over ADS as an
//! extension config (ECDS) so that an `auth:` change is hot-reloaded like clusters and
//! routes, and one cluster per issuer for fetching its keys.
//!
//! The filter verifies tokens but refuses nothing itself (`allow_missing_or_failed`): it
//! writes a verified payload, or why verification failed, into dynamic metadata
//! ([`mcp_gateway_identity::JWT_AUTHN_NAMESPACE`]) and the router, which has read the
//! request body, answers 401/403/503 as a JSON-RPC error with the request's id. With `auth:`
//! absent the filter has no providers and does nothing.

use envoy_types::pb::envoy::config::cluster::v3::{
    Cluster,
    cluster::{ClusterDiscoveryType, DiscoveryType, DnsLookupFamily, LbPolicy},
};
use envoy_types::pb::envoy::config::core::v3::{
    HttpUri, RetryPolicy, TypedExtensionConfig, http_uri,
};
use envoy_types::pb::envoy::config::route::v3::{RouteMatch, route_match};
use envoy_types::pb::envoy::extensions::filters::http::jwt_authn::v3::{
    JwtAuthentication, JwtHeader, JwtProvider, JwtRequirement, RemoteJwks, RequirementRule,
    jwt_provider, jwt_requirement, requirement_rule,
};
use envoy_types::pb::google::protobuf::{Duration, Empty, UInt32Value};
use mcp_gateway_config::{Auth, Config, Issuer};
use mcp_gateway_identity::{FAILURE_METADATA_KEY, PAYLOAD_HEADER, PAYLOAD_METADATA_KEY};
use url::Host;

use crate::resources::{load_assignment, seconds, tls_transport_socket, to_any};

/// Name of the `jwt_authn` filter in the listener, and of the extension config resource
/// (ECDS) that configures it.
pub const JWT_AUTHN_FILTER: &str = "mcp.jwt_authn";

/// Type URL of the `jwt_authn` filter's config.
pub(crate) const JWT_AUTHN_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

/// How long Envoy waits for an issuer's key set.
const JWKS_FETCH_TIMEOUT_SECS: i64 = 5;

/// The Envoy cluster that fetches issuer `index`'s keys: `mcp_jwks_<index>`.
pub fn jwks_cluster_name(index: usize) -> String {
    format!("mcp_jwks_{index}")
}

/// The provider name of issuer `index` in the filter config.
fn provider_name(index: usize) -> String {
    format!("issuer_{index}")
}

/// The `jwt_authn` filter config as an extension config resource.
pub(crate) fn jwt_authn_extension(cfg: &Config) -> TypedExtensionConfig {
    TypedExtensionConfig {
        name: JWT_AUTHN_FILTER.to_owned(),
        typed_config: Some(to_any(&jwt_authn(cfg.auth()))),
    }
}

/// The filter config: one provider per issuer, every token verified, none refused.
pub fn jwt_authn(auth: Option<&Auth>) -> JwtAuthentication {
    let Some(auth) = auth else {
        return JwtAuthentication::default();
    };
    let providers = auth
        .issuers
        .iter()
        .enumerate()
        .map(|(i, issuer)| (provider_name(i), provider(i, issuer)))
        .collect();
    let rule = RequirementRule {
        r#match: Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_owned())),
            ..Default::default()
        }),
        requirement_type: Some(requirement_rule::RequirementType::Requires(
            JwtRequirement {
                requires_type: Some(jwt_requirement::RequiresType::AllowMissingOrFailed(
                    Empty {},
                )),
            },
        )),
    };
    JwtAuthentication {
        providers,
        rules: vec![rule],
        ..Default::default()
    }
}

fn provider(index: usize, issuer: &Issuer) -> JwtProvider {
    let remote = RemoteJwks {
        http_uri: Some(HttpUri {
            uri: issuer.jwks_uri.to_string(),
            timeout: Some(seconds(JWKS_FETCH_TIMEOUT_SECS)),
            http_upstream_type: Some(http_uri::HttpUpstreamType::Cluster(jwks_cluster_name(
                index,
            ))),
        }),
        cache_duration: Some(Duration {
            seconds: i64::try_from(issuer.jwks_cache_duration.as_secs()).unwrap_or(i64::MAX),
            nanos: 0,
        }),
        retry_policy: Some(RetryPolicy {
            num_retries: Some(UInt32Value { value: 1 }),
            ..Default::default()
        }),
        ..Default::default()
    };
    JwtProvider {
        issuer: issuer.issuer.clone(),
        audiences: issuer.audiences.clone(),
        // Only `Authorization: Bearer`: never a query parameter (the MCP authorization
        // spec forbids tokens in URLs), which Envoy would also accept by default.
        from_headers: vec![JwtHeader {
            name: mcp_gateway_protocol::transport::AUTHORIZATION.to_owned(),
            value_prefix: "Bearer ".to_owned(),
        }],
        // The router reads the token (for credential code) and removes it before a
        // backend sees it unless a server's credentials say otherwise.
        forward: true,
        payload_in_metadata: PAYLOAD_METADATA_KEY.to_owned(),
        // The same payload for the Envoy module, which reads headers, not metadata.
        forward_payload_header: PAYLOAD_HEADER.to_owned(),
        failed_status_in_metadata: FAILURE_METADATA_KEY.to_owned(),
        clock_skew_seconds: u32::try_from(issuer.clock_skew.as_secs()).unwrap_or(u32::MAX),
        jwks_source_specifier: Some(jwt_provider::JwksSourceSpecifier::RemoteJwks(remote)),
        ..Default::default()
    }
}

/// One cluster per issuer, reaching its `jwksUri` (TLS with SNI for `https`).
pub(crate) fn jwks_clusters(cfg: &Config) -> Vec<Cluster> {
    let Some(auth) = cfg.auth() else {
        return Vec::new();
    };
    auth.issuers
        .iter()
        .enumerate()
        .filter_map(|(i, issuer)| {
            let url = &issuer.jwks_uri;
            let address = match url.host()? {
                Host::Domain(domain) => domain.to_owned(),
                Host::Ipv4(ip) => ip.to_string(),
                Host::Ipv6(ip) => ip.to_string(),
            };
            let port = url.port_or_known_default()?;
            let name = jwks_cluster_name(i);
            Some(Cluster {
                cluster_discovery_type: Some(ClusterDiscoveryType::Type(
                    DiscoveryType::StrictDns as i32,
                )),
                connect_timeout: Some(seconds(2)),
                lb_policy: LbPolicy::RoundRobin as i32,
                dns_lookup_family: DnsLookupFamily::V4Preferred as i32,
                load_assignment: Some(load_assignment(&name, &address, port)),
                transport_socket: (url.scheme() == "https").then(|| tls_transport_socket(&address)),
                name,
                ..Default::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
