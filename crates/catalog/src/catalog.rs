use std::collections::HashMap;
use std::sync::Arc;

use mcp_gateway_protocol::asks::AskClass;
use serde_json::Value;

use crate::BackendProtocol;
use crate::links::{LinkOwner, Links};
use crate::view::Views;
use crate::{ListKind, Listing, View, ViewKey};

/// Where an exposed name or URI goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The owning server's configured name.
    pub server: Arc<str>,
    /// The name or URI at that server (without the prefix).
    pub original: Arc<str>,
}

/// What the catalog knows about one backend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerStatus {
    /// The last discovery succeeded and the backend answers.
    pub healthy: bool,
    /// Discovery has completed at least once for this backend (successfully or not).
    pub attempted: bool,
    /// Number of tools exposed from this backend.
    pub tools: usize,
    /// The capabilities the backend declared to the gateway.
    pub capabilities: Value,
    /// Why the backend is unhealthy, when it is.
    pub last_error: Option<String>,
    /// Which protocol eras the backend speaks (legacy until discovered).
    pub protocol: BackendProtocol,
}

/// What the healthy backends offer together; the gateway declares these capabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Some backend offers prompts.
    pub prompts: bool,
    /// Some backend offers resources.
    pub resources: bool,
    /// Some backend supports resource subscriptions.
    pub subscribe: bool,
    /// Some backend accepts `logging/setLevel`.
    pub logging: bool,
    /// Some backend answers `completion/complete`.
    pub completions: bool,
    /// Some backend runs requests as tasks (MCP 2025-11-25).
    pub tasks: bool,
    /// Some backend cancels its tasks (`tasks.cancel`).
    pub task_cancel: bool,
    /// Some backend runs `tools/call` as a task (`tasks.requests.tools.call`).
    pub task_tool_calls: bool,
}

/// One immutable view of everything discovered; replaced whole on every change.
#[derive(Debug, Default)]
pub struct Catalog {
    pub(crate) routes: [HashMap<String, Route>; 4],
    pub(crate) lists: [Listing; 4],
    pub(crate) servers: HashMap<String, ServerStatus>,
    /// Exposed tools that not every capability class is offered: the classes that are
    /// (bit `i`: [`AskClass`] of index `i`). Empty when no backend's tools depend on them.
    pub(crate) tool_classes: HashMap<String, u8>,
    pub(crate) capabilities: Capabilities,
    /// Backend URIs and URI templates, for links that carry no gateway prefix.
    pub(crate) links: Links,
    /// Filtered views of `lists`, built on first use; they go with this catalog when it is
    /// replaced.
    pub(crate) views: Views,
}

impl Catalog {
    /// The backend and original name of an exposed tool, if a healthy backend offers it.
    pub fn tool(&self, exposed: &str) -> Option<&Route> {
        self.routes[ListKind::Tools.index()].get(exposed)
    }

    /// The backend and original name of an exposed prompt.
    pub fn prompt(&self, exposed: &str) -> Option<&Route> {
        self.routes[ListKind::Prompts.index()].get(exposed)
    }

    /// The backend and original URI of a listed resource (exposed URI).
    pub fn resource(&self, exposed_uri: &str) -> Option<&Route> {
        self.routes[ListKind::Resources.index()].get(exposed_uri)
    }

    /// The healthy servers whose listed resources or URI templates produce `uri`, a backend's
    /// own URI (e.g. a `resource_link` a tool returned).
    pub fn link_owner(&self, uri: &str) -> LinkOwner<'_> {
        self.links.owner(uri)
    }

    /// An aggregated list.
    pub fn list(&self, kind: ListKind) -> &Listing {
        &self.lists[kind.index()]
    }

    /// The lists as some class of callers may see them: built once per `key` and catalog
    /// with `keep(kind, server, exposed)`, then shared (see [`View`]).
    pub fn view(&self, key: ViewKey, keep: impl Fn(ListKind, &str, &str) -> bool) -> Arc<View> {
        self.views.get_or_build((Some(key), None), || {
            View(ListKind::ALL.map(|kind| self.list(kind).filtered(|s, n| keep(kind, s, n))))
        })
    }

    /// Whether some tool is offered to some capability classes only.
    pub fn depends_on_class(&self) -> bool {
        !self.tool_classes.is_empty()
    }

    /// Whether a client of `class` is offered the exposed tool (its backend offers it to
    /// clients of that class).
    pub fn offers_tool(&self, exposed: &str, class: AskClass) -> bool {
        self.tool_classes
            .get(exposed)
            .is_none_or(|mask| mask & (1 << class.index()) != 0)
    }

    /// The lists as a client of `class` sees them, under the policy view `key` (`None`: no
    /// policy) with `keep` deciding what that policy lets through; `None` when that is the
    /// policy's view itself (no tool depends on the class). Built once per (key, class).
    pub fn class_view(
        &self,
        key: Option<ViewKey>,
        class: AskClass,
        keep: impl Fn(ListKind, &str, &str) -> bool,
    ) -> Option<Arc<View>> {
        if self.tool_classes.is_empty() {
            return None;
        }
        Some(self.views.get_or_build((key, Some(class)), || {
            View(ListKind::ALL.map(|kind| {
                self.list(kind).filtered(|s, n| {
                    keep(kind, s, n) && (kind != ListKind::Tools || self.offers_tool(n, class))
                })
            }))
        }))
    }

    /// The aggregated tools as a JSON array (exposed names); the broker serves
    /// [`Listing::json_bytes`] instead.
    #[cfg(test)]
    pub(crate) fn tools_json(&self) -> &str {
        self.list(ListKind::Tools).json()
    }

    /// Number of exposed tools.
    pub fn tool_count(&self) -> usize {
        self.list(ListKind::Tools).len()
    }

    /// What the healthy backends offer together.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Discovery status of a backend by server name.
    pub fn server(&self, name: &str) -> Option<&ServerStatus> {
        self.servers.get(name)
    }

    /// Which protocol eras a backend speaks: legacy when unknown or not yet discovered.
    pub fn protocol(&self, server: &str) -> BackendProtocol {
        self.servers
            .get(server)
            .map(|s| s.protocol)
            .unwrap_or_default()
    }

    /// Discovery status of every known backend.
    pub fn servers(&self) -> impl Iterator<Item = (&str, &ServerStatus)> {
        self.servers.iter().map(|(k, v)| (k.as_str(), v))
    }
}
