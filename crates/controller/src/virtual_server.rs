//! The `MCPVirtualServer` custom resource: a named endpoint (`/v/<metadata.name>/mcp`) that
//! exposes a chosen subset of what the published `MCPServer`s offer. The controller writes
//! each into the gateway config's `virtualServers:` and reports a `Ready` condition.
//!
//! ```yaml
//! apiVersion: mcp.kagenti.com/v1alpha1
//! kind: MCPVirtualServer
//! metadata: {name: maths, namespace: team-a}
//! spec:
//!   mcpServerRefs: [{name: calc}]      # every server these MCPServers publish
//!   tools: [weather_forecast]          # and these exposed names (prefix included)
//! ```

use kube::{CustomResource, CustomResourceExt, ResourceExt};
use mcp_gateway_config::{Config, RawConfig, RawServer, RawVirtualServer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::crd::Condition;
use crate::error::Error;
use crate::plan::ServerPlan;
use crate::reason::{Problem, Reason};

/// Desired state of an `MCPVirtualServer`: what its endpoint exposes.
#[derive(
    CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "mcp.kagenti.com",
    version = "v1alpha1",
    kind = "MCPVirtualServer",
    plural = "mcpvirtualservers",
    shortname = "mcpvs",
    namespaced,
    status = "MCPVirtualServerStatus",
    derive = "PartialEq",
    doc = "A named MCP endpoint of the gateway (/v/<name>/mcp) exposing a subset of its servers' tools, prompts and resources.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct MCPVirtualServerSpec {
    /// MCPServers whose every published server (all their tools, prompts and resources) is
    /// exposed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_server_refs: Vec<MCPServerRef>,
    /// Exposed tool names, as the gateway lists them (prefix included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Exposed prompt names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
    /// Exposed resource URIs and URI templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Host names whose `/mcp` is this virtual server too (the broker's HTTPRoute must
    /// accept them: the chart's `brokerRoute.hostnames`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
}

/// An `MCPServer` by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MCPServerRef {
    /// Name of the MCPServer.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Its namespace; the MCPVirtualServer's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Observed state of an `MCPVirtualServer`, written by the controller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPVirtualServerStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: whether the virtual server is in the gateway config.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The gateway path it is served on, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// What to report for one `MCPVirtualServer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerPlan {
    /// The MCPVirtualServer's namespace.
    pub namespace: String,
    /// Its name, also the gateway's virtual server name.
    pub name: String,
    /// The `metadata.generation` this plan was computed from.
    pub generation: Option<i64>,
    /// `Published`, or why not.
    pub outcome: Problem,
}

/// Adds the virtual servers (oldest first) that are valid with the `accepted` servers and
/// the virtual servers accepted before them; one that is not is left out alone, with why.
pub(crate) fn plan_virtual_servers(
    virtual_servers: &[std::sync::Arc<MCPVirtualServer>],
    server_plans: &[ServerPlan],
    accepted: &[RawServer],
) -> (Vec<RawVirtualServer>, Vec<VirtualServerPlan>) {
    let mut published: Vec<RawVirtualServer> = Vec::new();
    let mut plans = Vec::with_capacity(virtual_servers.len());
    for object in virtual_servers {
        let namespace = object.namespace().unwrap_or_default();
        let name = object.name_any();
        let outcome = match entry(object, &namespace, server_plans) {
            Err(problem) => problem,
            Ok(entry) => {
                let mut together = published.clone();
                together.push(entry.clone());
                let raw = RawConfig {
                    servers: accepted.to_vec(),
                    virtual_servers: together,
                    ..RawConfig::default()
                };
                match Config::try_from(raw) {
                    Ok(_) => {
                        published.push(entry);
                        Problem::new(Reason::Published, "in the gateway config")
                    }
                    Err(error) => {
                        let detail: Vec<String> = error
                            .field_errors()
                            .iter()
                            .map(ToString::to_string)
                            .collect();
                        Problem::new(Reason::Invalid, detail.join("; "))
                    }
                }
            }
        };
        plans.push(VirtualServerPlan {
            namespace,
            name,
            generation: object.metadata.generation,
            outcome,
        });
    }
    (published, plans)
}

/// The config entry of one MCPVirtualServer: its MCPServers resolved to the gateway server
/// names they publish.
fn entry(
    object: &MCPVirtualServer,
    namespace: &str,
    server_plans: &[ServerPlan],
) -> Result<RawVirtualServer, Problem> {
    let mut servers = Vec::new();
    for reference in &object.spec.mcp_server_refs {
        let ref_namespace = reference.namespace.as_deref().unwrap_or(namespace);
        let plan = server_plans
            .iter()
            .find(|p| p.namespace == ref_namespace && p.name == reference.name)
            .ok_or_else(|| {
                Problem::new(
                    Reason::Invalid,
                    format!(
                        "MCPServer {ref_namespace}/{} does not exist",
                        reference.name
                    ),
                )
            })?;
        let before = servers.len();
        servers.extend(
            plan.targets
                .iter()
                .filter(|t| t.ready)
                .filter_map(|t| t.server_name.clone()),
        );
        if servers.len() == before {
            return Err(Problem::new(
                Reason::Invalid,
                format!(
                    "MCPServer {ref_namespace}/{} has no published server yet",
                    reference.name
                ),
            ));
        }
    }
    Ok(RawVirtualServer {
        name: Some(object.name_any()),
        servers,
        tools: object.spec.tools.clone(),
        prompts: object.spec.prompts.clone(),
        resources: object.spec.resources.clone(),
        hostnames: object.spec.hostnames.clone(),
    })
}

/// The status to write for `plan`, keeping `lastTransitionTime` while the condition holds.
pub fn desired_virtual_status(
    plan: &VirtualServerPlan,
    current: Option<&MCPVirtualServerStatus>,
    now: jiff::Timestamp,
) -> MCPVirtualServerStatus {
    let ready = plan.outcome.reason.is_ready();
    let status = if ready { "True" } else { "False" };
    let previous = current.and_then(|c| {
        c.conditions
            .iter()
            .find(|c| c.type_ == crate::status::READY)
    });
    let last_transition_time = match previous {
        Some(previous) if previous.status == status => previous.last_transition_time.clone(),
        _ => crate::status::rfc3339(now),
    };
    MCPVirtualServerStatus {
        observed_generation: plan.generation,
        conditions: vec![Condition {
            type_: crate::status::READY.to_owned(),
            status: status.to_owned(),
            reason: plan.outcome.reason.as_str().to_owned(),
            message: plan.outcome.message.clone(),
            observed_generation: plan.generation,
            last_transition_time,
        }],
        endpoint: ready.then(|| format!("/v/{}/mcp", plan.name)),
    }
}

/// The `MCPVirtualServer` CustomResourceDefinition as YAML, as checked in under `config/crd/`.
pub fn virtual_server_crd_yaml() -> Result<String, Error> {
    serde_yaml::to_string(&MCPVirtualServer::crd()).map_err(Error::Yaml)
}

#[cfg(test)]
mod tests;
