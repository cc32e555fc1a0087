//! The part of Gateway API `HTTPRoute` (`gateway.networking.k8s.io/v1`) the
//! controller reads: hostnames and backend references. Everything else is ignored
//! when deserializing, and the controller never writes routes.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// `HTTPRoute.spec`, reduced to what resolution needs.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "HTTPRoute",
    plural = "httproutes",
    namespaced,
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteSpec {
    /// Hostnames the route matches; the first exact one is the server's routing hostname.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Routing rules; their backends are where the MCP server runs.
    #[serde(default)]
    pub rules: Vec<RouteRule>,
}

/// One rule of a route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    /// Where matching requests go.
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
}

/// A backend of a rule; a Service when `group` is empty and `kind` is `Service`
/// (both the Gateway API defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    /// API group; empty or unset is the core group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind; unset is `Service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the backend.
    pub name: String,
    /// Namespace of the backend; the route's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

impl BackendRef {
    /// Whether this names a core `Service`.
    pub fn is_service(&self) -> bool {
        self.group.as_deref().unwrap_or("").is_empty()
            && self.kind.as_deref().unwrap_or("Service") == "Service"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_route_and_ignores_unknown_fields() {
        let route: HTTPRoute = serde_json::from_value(serde_json::json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "weather", "namespace": "tools"},
            "spec": {
                "parentRefs": [{"name": "mcp-gateway", "namespace": "gateway-system"}],
                "hostnames": ["weather.mcp.local"],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": "weather", "port": 8080, "weight": 1}]
                }]
            },
            "status": {"parents": []}
        }))
        .expect("parses");
        assert_eq!(route.spec.hostnames, ["weather.mcp.local"]);
        let backend = &route.spec.rules[0].backend_refs[0];
        assert_eq!(backend.name, "weather");
        assert_eq!(backend.port, Some(8080));
        assert!(backend.is_service());
    }

    #[test]
    fn service_detection_follows_gateway_api_defaults() {
        let named = |group: Option<&str>, kind: Option<&str>| BackendRef {
            group: group.map(str::to_owned),
            kind: kind.map(str::to_owned),
            name: "b".to_owned(),
            ..BackendRef::default()
        };
        assert!(named(None, None).is_service());
        assert!(named(Some(""), Some("Service")).is_service());
        assert!(!named(Some("multicluster.x-k8s.io"), Some("ServiceImport")).is_service());
        assert!(!named(None, Some("Backend")).is_service());
    }
}
