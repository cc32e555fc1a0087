use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use mcp_gateway_config::Auth;
use mcp_gateway_protocol::transport;
use serde::Serialize;

use crate::BrokerState;

/// OAuth 2.0 protected-resource metadata (RFC 9728) served at
/// `/.well-known/oauth-protected-resource`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OAuthMetadata {
    /// `OAUTH_RESOURCE_NAME`, default "MCP Server".
    pub resource_name: String,
    /// `OAUTH_RESOURCE`, default "/mcp".
    pub resource: String,
    /// `OAUTH_AUTHORIZATION_SERVERS` (comma-separated), default empty.
    pub authorization_servers: Vec<String>,
    /// `OAUTH_BEARER_METHODS_SUPPORTED` (comma-separated), default ["header"].
    pub bearer_methods_supported: Vec<String>,
    /// `OAUTH_SCOPES_SUPPORTED` (comma-separated), default ["basic"].
    pub scopes_supported: Vec<String>,
}

impl OAuthMetadata {
    /// Reads the `OAUTH_*` variables through `var` (so tests need not touch the environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let list = |name: &str, default: &[&str]| match var(name) {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => default.iter().map(|s| (*s).to_owned()).collect(),
        };
        Self {
            resource_name: var("OAUTH_RESOURCE_NAME").unwrap_or_else(|| "MCP Server".into()),
            resource: var("OAUTH_RESOURCE").unwrap_or_else(|| transport::MCP_PATH.into()),
            authorization_servers: list("OAUTH_AUTHORIZATION_SERVERS", &[]),
            bearer_methods_supported: list("OAUTH_BEARER_METHODS_SUPPORTED", &["header"]),
            scopes_supported: list("OAUTH_SCOPES_SUPPORTED", &["basic"]),
        }
    }

    /// Reads the `OAUTH_*` variables from the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The metadata of the config's `auth:` section: exactly what Envoy's `jwt_authn` filter
    /// enforces (the resource its tokens are for, the issuers it trusts, the scopes the
    /// router requires). Bearer tokens go in the `Authorization` header only.
    pub fn from_auth(auth: &Auth) -> Self {
        Self {
            resource_name: auth.resource_name.clone(),
            resource: auth.resource.to_string(),
            authorization_servers: auth.issuers.iter().map(|i| i.issuer.clone()).collect(),
            bearer_methods_supported: vec!["header".to_owned()],
            scopes_supported: auth.required_scopes.clone(),
        }
    }
}

/// `/.well-known/oauth-protected-resource[/...]`: from `auth:` when it is set (so it follows
/// config reloads), else from the `OAUTH_*` variables.
pub(crate) async fn metadata(State(state): State<Arc<BrokerState>>) -> Json<OAuthMetadata> {
    match state.config.load().auth() {
        Some(auth) => Json(OAuthMetadata::from_auth(auth)),
        None => Json(state.oauth.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let d = OAuthMetadata::from_vars(|_| None);
        assert_eq!(d.resource_name, "MCP Server");
        assert_eq!(d.resource, "/mcp");
        assert!(d.authorization_servers.is_empty());
        assert_eq!(d.bearer_methods_supported, ["header"]);
        assert_eq!(d.scopes_supported, ["basic"]);

        let o = OAuthMetadata::from_vars(|n| match n {
            "OAUTH_AUTHORIZATION_SERVERS" => Some("https://a.example, https://b.example".into()),
            "OAUTH_SCOPES_SUPPORTED" => Some("read,write".into()),
            _ => None,
        });
        assert_eq!(
            o.authorization_servers,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(o.scopes_supported, ["read", "write"]);
        let json = serde_json::to_value(&o).unwrap();
        let cfg = mcp_gateway_config::Config::from_yaml(
            "servers: []
auth:
  resource: http://127.0.0.1:8888/mcp
  requiredScopes: [mcp]
  issuers: [{issuer: 'http://127.0.0.1:8890', jwksUri: 'http://127.0.0.1:8890/jwks'}]
",
        )
        .unwrap();
        let m = OAuthMetadata::from_auth(cfg.auth().unwrap());
        assert_eq!(m.resource, "http://127.0.0.1:8888/mcp");
        assert_eq!(m.authorization_servers, ["http://127.0.0.1:8890"]);
        assert_eq!(m.scopes_supported, ["mcp"]);
        assert_eq!(m.resource_name, "MCP Gateway");
        for key in [
            "resource_name",
            "resource",
            "authorization_servers",
            "bearer_methods_supported",
            "scopes_supported",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
