//! The `MCPServer` custom resource (`mcp.kagenti.com/v1alpha1`) and its CRD.
//!
//! ```yaml
//! apiVersion: mcp.kagenti.com/v1alpha1
//! kind: MCPServer
//! metadata: {name: ai-tools, namespace: team-a}
//! spec:
//!   targetRefs:
//!   - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: weather-route, toolPrefix: weather_}
//! ```

use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// API group of the routes a target may name.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// The only kind a target may name.
pub const HTTP_ROUTE_KIND: &str = "HTTPRoute";
/// Path of the MCP endpoint on the backend when a target sets none.
pub const DEFAULT_PATH: &str = "/mcp";

/// Desired state of an `MCPServer`: the MCP servers it publishes, one per target.
#[derive(CustomResource, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "mcp.kagenti.com",
    version = "v1alpha1",
    kind = "MCPServer",
    plural = "mcpservers",
    shortname = "mcps",
    namespaced,
    status = "MCPServerStatus",
    derive = "PartialEq",
    doc = "MCP servers reached through Gateway API HTTPRoutes, published to the MCP gateway.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerSpec {
    /// The routes that lead to the MCP servers; each becomes one gateway server.
    #[schemars(length(min = 1))]
    pub target_refs: Vec<TargetRef>,
}

/// One HTTPRoute in front of an MCP server, and how the gateway exposes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    /// API group of the target.
    #[serde(default = "default_group")]
    pub group: String,
    /// Kind of the target.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Name of the HTTPRoute.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the HTTPRoute; the MCPServer's own when unset. ReferenceGrants
    /// are not checked yet: any namespace may be named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// Prepended to the server's tool and prompt names. Empty is allowed only when
    /// this is the only server in the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9_.-]*$"))]
    pub tool_prefix: Option<String>,
    /// Path of the MCP endpoint on the backend; `/mcp` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^/"))]
    pub path: Option<String>,
}

/// Observed state of an `MCPServer`, written by the controller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: whether every target is published to the gateway.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// One entry per `spec.targetRefs` item, in the same order.
    #[serde(default)]
    pub targets: Vec<TargetStatus>,
}

/// A condition in the usual Kubernetes shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type; the controller sets `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable CamelCase reason, e.g. `RouteNotFound` or `PrefixConflict`.
    pub reason: String,
    /// Human-readable details.
    #[serde(default)]
    pub message: String,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
}

/// What became of one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// The HTTPRoute's name.
    pub name: String,
    /// The HTTPRoute's namespace.
    pub namespace: String,
    /// Whether the target is in the gateway config.
    pub ready: bool,
    /// Why (same reasons as the `Ready` condition).
    pub reason: String,
    /// Details when not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Name of the server entry in the gateway config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Backend URL the gateway sends this server's traffic to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Hostname Envoy routes this server by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The tools the controller found on this server at its last listing, by the
    /// names clients see (prefix included). Absent until the first listing and
    /// while the server cannot be listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_tools: Option<Vec<String>>,
}

fn default_group() -> String {
    GATEWAY_GROUP.to_owned()
}

fn default_kind() -> String {
    HTTP_ROUTE_KIND.to_owned()
}

/// The `MCPServer` CustomResourceDefinition as YAML, as checked in under
/// `config/crd/`.
pub fn crd_yaml() -> Result<String, Error> {
    serde_yaml::to_string(&MCPServer::crd()).map_err(Error::Yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in copy must be what the types generate.
    const CHECKED_IN: &str = include_str!("../../../config/crd/mcp.kagenti.com_mcpservers.yaml");

    #[test]
    fn checked_in_crd_matches_the_types() {
        let generated = crd_yaml().expect("CRD serializes");
        assert!(
            generated == CHECKED_IN,
            "config/crd/mcp.kagenti.com_mcpservers.yaml is out of date; regenerate it with \
             `cargo run -q -p mcp-gateway-cli -- crd > config/crd/mcp.kagenti.com_mcpservers.yaml` \
             (or `make crds`)"
        );
    }

    #[test]
    fn crd_names_and_scope() {
        let crd = MCPServer::crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("mcpservers.mcp.kagenti.com")
        );
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.kind, "MCPServer");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .is_some_and(|s| s.status.is_some())
        );
    }

    #[test]
    fn group_and_kind_default_and_optional_fields_stay_unset() {
        let spec: MCPServerSpec = serde_json::from_str(
            r#"{"targetRefs":[{"name":"weather-route","toolPrefix":"weather_"}]}"#,
        )
        .expect("parses");
        let target = &spec.target_refs[0];
        assert_eq!(target.group, GATEWAY_GROUP);
        assert_eq!(target.kind, HTTP_ROUTE_KIND);
        assert_eq!(target.tool_prefix.as_deref(), Some("weather_"));
        assert_eq!(target.namespace, None);
        assert_eq!(target.path, None);
    }

    #[test]
    fn schema_carries_defaults_and_prefix_pattern() {
        let yaml = crd_yaml().expect("CRD serializes");
        assert!(
            yaml.contains("default: gateway.networking.k8s.io"),
            "{yaml}"
        );
        assert!(yaml.contains("default: HTTPRoute"), "{yaml}");
        assert!(yaml.contains("^[A-Za-z0-9_.-]*$"), "{yaml}");
    }
}
