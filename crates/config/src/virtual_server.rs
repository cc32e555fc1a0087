//! The `virtualServers:` section: named endpoints that expose a chosen subset of the catalog.
//!
//! ```yaml
//! virtualServers:
//!   - name: weather                  # required, unique: served on /v/weather/mcp
//!     servers: [weather-service]     # everything these servers offer
//!     tools: [news_headlines]        # and these exposed tool names,
//!     prompts: [news_summary]        # prompt names,
//!     resources: ["news+docs://{id}"] # resource URIs and URI templates (exact, as listed)
//!     hostnames: [weather.mcp.example.com] # also served on /mcp of these hosts
//! ```
//!
//! Names are exact (no patterns): the gateway's exposed names, prefix included. A resource
//! read by a URI that a listed URI template produces is in the subset too. A client of the
//! endpoint sees and reaches nothing else; its gateway session is bound to the endpoint.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use mcp_gateway_protocol::uri_template;
use serde::{Deserialize, Serialize};

use crate::config::Server;
use crate::error::FieldError;
use crate::policy::Offering;

/// One entry of `virtualServers:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawVirtualServer {
    /// Unique name, also the path segment. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Servers (configured names) whose every tool, prompt and resource is exposed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// Exposed tool names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Exposed prompt names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
    /// Exposed resource URIs and URI templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Hosts whose `/mcp` is this virtual server too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
}

/// A validated virtual server, its subset precomputed as sets (checked without allocating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Unique name, `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 63 characters.
    pub name: String,
    servers: HashSet<String>,
    /// Tools, prompts and resources (URIs and templates), by exposed name.
    names: [HashSet<String>; 3],
    /// The listed resources that are URI templates, to match URIs read through them.
    templates: Vec<String>,
    /// Equal for equal subsets (across reloads too): the key of cached filtered lists.
    pub fingerprint: u64,
    /// Hosts (lower case) whose `/mcp` is this virtual server, unique among virtual servers
    /// and not an enabled server's hostname.
    pub hostnames: Vec<String>,
}

impl VirtualServer {
    /// Whether the exposed `name` (a tool or prompt name, or a resource URI or URI template)
    /// of `server` is in this virtual server's subset: the one test lists and calls share.
    pub fn offers(&self, kind: Offering, server: &str, name: &str) -> bool {
        self.servers.contains(server)
            || self.names[kind as usize].contains(name)
            || (kind == Offering::Resource
                && self
                    .templates
                    .iter()
                    .any(|template| uri_template::matches(template, name)))
    }

    /// The servers named whole, in no particular order.
    pub fn servers(&self) -> impl Iterator<Item = &str> {
        self.servers.iter().map(String::as_str)
    }

    /// The exposed names of one kind listed one by one, in no particular order.
    pub fn names(&self, kind: Offering) -> impl Iterator<Item = &str> {
        self.names[kind as usize].iter().map(String::as_str)
    }
}

/// What a gateway session is bound to: the caller's subject (auth on) and, on a virtual
/// server, its name. A session opened on one endpoint is unknown on every other. Plain `/mcp`
/// keeps the subject alone, so its sessions are exactly as before virtual servers existed.
pub fn session_binding(subject: Option<&str>, virtual_server: Option<&str>) -> Option<String> {
    match (subject, virtual_server) {
        (subject, None) => subject.map(str::to_owned),
        // `v<len>:<name>|<subject>`: subjects start with a digit (`Caller::session_subject`),
        // and the length keeps a name from running into the subject.
        (subject, Some(name)) => Some(format!(
            "v{}:{name}|{}",
            name.len(),
            subject.unwrap_or_default()
        )),
    }
}

/// The virtual server a [`session_binding`] names, if any.
pub fn binding_virtual_server(binding: &str) -> Option<&str> {
    let (len, rest) = binding.strip_prefix('v')?.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let name = rest.get(..len)?;
    rest[len..].starts_with('|').then_some(name)
}

/// Validates `virtualServers:` against the validated `servers`, pushing every problem.
pub(crate) fn validate(
    raw: Vec<RawVirtualServer>,
    servers: &[Server],
    errors: &mut Vec<FieldError>,
) -> HashMap<String, VirtualServer> {
    let mut out = HashMap::with_capacity(raw.len());
    let mut hosts: HashMap<String, String> = HashMap::new();
    for (i, entry) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("virtualServers[{i}].{field}");
        let before = errors.len();
        let name = entry.name.clone().unwrap_or_default();
        match entry.name.as_deref().map(crate::validation::name_problem) {
            None => errors.push(FieldError::at(at("name"), None, "is required".into())),
            Some(Some(problem)) => errors.push(FieldError::at(at("name"), Some(&name), problem)),
            Some(None) if out.contains_key(&name) => {
                errors.push(FieldError::at(
                    at("name"),
                    Some(&name),
                    "is used by two virtual servers".into(),
                ));
            }
            Some(None) => {}
        }
        if entry.servers.is_empty()
            && entry.tools.is_empty()
            && entry.prompts.is_empty()
            && entry.resources.is_empty()
        {
            errors.push(FieldError::at(
                format!("virtualServers[{i}]"),
                None,
                "exposes nothing: give servers, tools, prompts or resources".into(),
            ));
        }
        for (j, server) in entry.servers.iter().enumerate() {
            if !servers.iter().any(|s| s.name == *server) {
                errors.push(FieldError::at(
                    format!("virtualServers[{i}].servers[{j}]"),
                    Some(server),
                    "is not a server in `servers:`".into(),
                ));
            }
        }
        for (field, list) in [
            ("tools", &entry.tools),
            ("prompts", &entry.prompts),
            ("resources", &entry.resources),
        ] {
            for (j, value) in list.iter().enumerate() {
                if value.is_empty() {
                    errors.push(FieldError::at(
                        format!("virtualServers[{i}].{field}[{j}]"),
                        Some(value),
                        "is empty".into(),
                    ));
                }
            }
        }
        for (j, host) in entry.hostnames.iter().enumerate() {
            let at = format!("virtualServers[{i}].hostnames[{j}]");
            let lower = host.to_ascii_lowercase();
            if let Some(problem) = crate::validation::hostname_problem(host) {
                errors.push(FieldError::at(at, Some(host), problem));
            } else if let Some(other) = hosts.get(&lower) {
                errors.push(FieldError::at(
                    at,
                    Some(host),
                    format!("is already a hostname of virtual server {other:?}"),
                ));
            } else if let Some(server) = servers
                .iter()
                .find(|s| s.enabled && s.hostname.eq_ignore_ascii_case(host))
            {
                errors.push(FieldError::at(
                    at,
                    Some(host),
                    format!("is the hostname of server {:?}", server.name),
                ));
            } else {
                hosts.insert(lower, name.clone());
            }
        }
        if errors.len() > before {
            continue;
        }
        let mut hasher = DefaultHasher::new();
        let mut sorted = |list: &[String]| {
            let mut list: Vec<&String> = list.iter().collect();
            list.sort();
            list.hash(&mut hasher);
        };
        sorted(&entry.servers);
        sorted(&entry.tools);
        sorted(&entry.prompts);
        sorted(&entry.resources);
        let templates = entry
            .resources
            .iter()
            .filter(|r| r.contains('{'))
            .cloned()
            .collect();
        let virtual_server = VirtualServer {
            name: name.clone(),
            servers: entry.servers.into_iter().collect(),
            names: [
                entry.tools.into_iter().collect(),
                entry.prompts.into_iter().collect(),
                entry.resources.into_iter().collect(),
            ],
            templates,
            fingerprint: hasher.finish(),
            hostnames: entry
                .hostnames
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        };
        out.insert(name, virtual_server);
    }
    out
}

impl From<&VirtualServer> for RawVirtualServer {
    fn from(v: &VirtualServer) -> Self {
        let sorted = |it: &mut dyn Iterator<Item = &str>| {
            let mut list: Vec<String> = it.map(str::to_owned).collect();
            list.sort();
            list
        };
        Self {
            name: Some(v.name.clone()),
            servers: sorted(&mut v.servers()),
            tools: sorted(&mut v.names(Offering::Tool)),
            prompts: sorted(&mut v.names(Offering::Prompt)),
            resources: sorted(&mut v.names(Offering::Resource)),
            hostnames: v.hostnames.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
