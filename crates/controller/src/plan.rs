//! Pure aggregation: every `MCPServer` in a [`Cluster`] -> one validated gateway
//! [`Config`] plus what to report for each `MCPServer`.
//!
//! Validation is the gateway's own ([`Config::try_from`]), applied in three steps so
//! that an error is pinned on the right object:
//! 1. each target's entry alone: a bad entry (e.g. an illegal prefix) fails only that
//!    target (`Invalid`); the MCPServer's other targets are still published;
//! 2. the MCPServer's entries together, then 3. together with everything already
//!    accepted: a conflict (`PrefixConflict`, `HostnameConflict`, `Invalid` for a
//!    name clash) keeps the whole MCPServer out, and only that MCPServer. Older
//!    MCPServers are accepted first, so a newcomer cannot push out an existing one.

use kube::ResourceExt;
use mcp_gateway_config::{Config, ConfigError, FieldError, RawConfig, RawServer};

use crate::cluster::Cluster;
use crate::crd::{MCPServer, TargetStatus};
use crate::reason::{Problem, Reason};
use crate::resolve::{Owner, resolve_target};
use crate::virtual_server::{VirtualServerPlan, plan_virtual_servers};

/// The result of one aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What goes into the ConfigMap: every accepted server, validated together.
    pub config: Config,
    /// One entry per `MCPServer`, in [`Cluster::servers`] order.
    pub servers: Vec<ServerPlan>,
    /// One entry per `MCPVirtualServer`, in [`Cluster::virtual_servers`] order.
    pub virtual_servers: Vec<VirtualServerPlan>,
}

/// What to report for one `MCPServer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPlan {
    /// The MCPServer's namespace.
    pub namespace: String,
    /// The MCPServer's name.
    pub name: String,
    /// The `metadata.generation` this plan was computed from.
    pub generation: Option<i64>,
    /// `Published`, or the first problem (conflicts take precedence).
    pub outcome: Problem,
    /// One status per target, in spec order.
    pub targets: Vec<TargetStatus>,
}

impl ServerPlan {
    /// Whether every target is published.
    pub fn is_ready(&self) -> bool {
        self.outcome.reason.is_ready()
    }
}

/// Aggregates `cluster` into a [`Plan`]. Services are addressed as
/// `<name>.<namespace>.svc.<cluster_domain>`.
pub fn plan(cluster: &Cluster, cluster_domain: &str) -> Plan {
    let mut accepted: Vec<RawServer> = Vec::new();
    let mut servers = Vec::with_capacity(cluster.servers().len());
    for server in cluster.servers() {
        servers.push(plan_server(server, cluster, cluster_domain, &mut accepted));
    }
    let (published, virtual_servers) =
        plan_virtual_servers(cluster.virtual_servers(), &servers, &accepted);
    let config = match Config::try_from(RawConfig {
        servers: accepted,
        virtual_servers: published,
        ..Default::default()
    }) {
        Ok(config) => config,
        Err(e) => {
            // Unreachable by construction: `accepted` only grows by sets that were
            // validated together with it. Publish nothing rather than something invalid.
            tracing::error!(error = %e, "aggregated config failed validation; publishing no servers");
            Config::empty()
        }
    };
    Plan {
        config,
        servers,
        virtual_servers,
    }
}

fn plan_server(
    server: &MCPServer,
    cluster: &Cluster,
    cluster_domain: &str,
    accepted: &mut Vec<RawServer>,
) -> ServerPlan {
    let namespace = server.namespace().unwrap_or_default();
    let name = server.name_any();
    let owner = Owner {
        namespace: &namespace,
        name: &name,
    };
    let mut targets = Vec::with_capacity(server.spec.target_refs.len());
    let mut entries = Vec::new();
    let mut first_problem: Option<Problem> = None;
    for target in &server.spec.target_refs {
        let resolved = resolve_target(cluster, owner, target, cluster_domain).and_then(check_alone);
        let route_namespace = target
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.clone());
        let status = match resolved {
            Ok(entry) => {
                let status = published(&target.name, route_namespace, &entry);
                entries.push(entry);
                status
            }
            Err(problem) => {
                let status = failed(&target.name, route_namespace, &problem);
                first_problem.get_or_insert(problem);
                status
            }
        };
        targets.push(status);
    }
    if server.spec.target_refs.is_empty() {
        first_problem = Some(Problem::new(Reason::Invalid, "spec.targetRefs is empty"));
    }

    let conflict = check_together(&entries, &[])
        .and_then(|()| check_together(&entries, accepted))
        .err();
    let outcome = match conflict {
        Some(problem) => {
            for target in targets.iter_mut().filter(|t| t.ready) {
                mark_failed(target, &problem);
            }
            problem
        }
        None => {
            accepted.append(&mut entries);
            first_problem.unwrap_or_else(|| {
                Problem::new(Reason::Published, "all targets are in the gateway config")
            })
        }
    };
    ServerPlan {
        namespace,
        name,
        generation: server.metadata.generation,
        outcome,
        targets,
    }
}

/// Validates one entry on its own: anything wrong is wrong with its values.
fn check_alone(entry: RawServer) -> Result<RawServer, Problem> {
    let servers = vec![entry.clone()];
    match Config::try_from(RawConfig {
        servers,
        ..Default::default()
    }) {
        Ok(_) => Ok(entry),
        Err(e) => Err(Problem::new(Reason::Invalid, describe(&e, 0))),
    }
}

/// Validates `entries`, each already valid alone, after `before`. Any error is
/// then a cross-server rule (unique names and hostnames, prefix overlap) broken by
/// one of `entries`, so the field tells the kind of conflict.
fn check_together(entries: &[RawServer], before: &[RawServer]) -> Result<(), Problem> {
    if entries.is_empty() {
        return Ok(());
    }
    let servers = before.iter().chain(entries).cloned().collect();
    let Err(error) = Config::try_from(RawConfig {
        servers,
        ..Default::default()
    }) else {
        return Ok(());
    };
    let fields = || {
        error
            .field_errors()
            .iter()
            .filter(|e| e.index() >= before.len())
            .map(FieldError::field)
    };
    let reason = if fields().any(|f| f == "toolPrefix" || f == "prefix") {
        Reason::PrefixConflict
    } else if fields().any(|f| f == "hostname") {
        Reason::HostnameConflict
    } else {
        Reason::Invalid
    };
    Err(Problem::new(reason, describe(&error, before.len())))
}

/// The validation errors about servers at index `first` or later, on one line.
fn describe(error: &ConfigError, first: usize) -> String {
    let parts: Vec<String> = error
        .field_errors()
        .iter()
        .filter(|e| e.index() >= first)
        .map(ToString::to_string)
        .collect();
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join("; ")
    }
}

fn published(route: &str, namespace: String, entry: &RawServer) -> TargetStatus {
    TargetStatus {
        name: route.to_owned(),
        namespace,
        ready: true,
        reason: Reason::Published.as_str().to_owned(),
        message: None,
        server_name: entry.name.clone(),
        url: entry.url.clone(),
        hostname: entry.hostname.clone(),
        discovered_tools: None,
    }
}

fn failed(route: &str, namespace: String, problem: &Problem) -> TargetStatus {
    TargetStatus {
        name: route.to_owned(),
        namespace,
        ready: false,
        reason: problem.reason.as_str().to_owned(),
        message: Some(problem.message.clone()),
        server_name: None,
        url: None,
        hostname: None,
        discovered_tools: None,
    }
}

fn mark_failed(target: &mut TargetStatus, problem: &Problem) {
    target.ready = false;
    target.reason = problem.reason.as_str().to_owned();
    target.message = Some(problem.message.clone());
}

#[cfg(test)]
mod tests;
