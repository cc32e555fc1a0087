use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use mcp_gateway_protocol::{naming, uri};
use serde_json::Value;
use tracing::warn;

use crate::links::Links;
use crate::listing::Item;
use crate::{BackendProtocol, Capabilities, Catalog, ListKind, Listing, Route, ServerStatus};

/// What one backend offers, as its upstream manager last saw it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServerOffer {
    /// The server's prefix.
    pub prefix: String,
    /// The backend answered the last discovery.
    pub healthy: bool,
    /// The capabilities the backend declared.
    pub capabilities: Value,
    /// Each list as the backend returned it (original names), indexed by [`ListKind`].
    pub lists: [Vec<Value>; 4],
    /// Why the backend is unhealthy, when it is.
    pub last_error: Option<String>,
    /// Tools the backend offers only to some capability classes (original name -> bit `i`
    /// set for the class of index `i`, see `mcp_gateway_protocol::asks`); the others are
    /// offered to every class. `lists` holds the tools of every class.
    pub tool_classes: BTreeMap<String, u8>,
    /// Which protocol eras the backend speaks.
    pub protocol: BackendProtocol,
}

impl ServerOffer {
    /// A healthy backend with these capabilities and lists.
    pub fn healthy(prefix: &str, capabilities: Value, lists: [Vec<Value>; 4]) -> Self {
        Self {
            prefix: prefix.to_owned(),
            healthy: true,
            capabilities,
            lists,
            last_error: None,
            tool_classes: BTreeMap::new(),
            protocol: BackendProtocol::Legacy,
        }
    }

    /// A backend that does not answer; it offers nothing.
    pub fn unhealthy(prefix: &str, error: String) -> Self {
        Self {
            prefix: prefix.to_owned(),
            last_error: Some(error),
            ..Self::default()
        }
    }

    /// Only tools (tests and tool-only backends).
    pub fn tools(prefix: &str, tools: Vec<Value>) -> Self {
        let mut lists: [Vec<Value>; 4] = Default::default();
        lists[ListKind::Tools.index()] = tools;
        Self::healthy(prefix, serde_json::json!({"tools": {}}), lists)
    }

    /// Whether the backend declared a capability (e.g. `prompts`, `logging`).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.get(name).is_some_and(|c| !c.is_null())
    }
}

/// The writer side: keeps per-server state and swaps in a rebuilt [`Catalog`] on every change.
///
/// Writes are rare (discovery), serialised by a mutex that readers never touch; readers call
/// [`CatalogStore::load`], a lock-free atomic load.
#[derive(Default)]
pub struct CatalogStore {
    current: ArcSwap<Catalog>,
    servers: Mutex<BTreeMap<String, ServerOffer>>,
    /// Bumped on every swap (under the writer lock), for copies kept elsewhere.
    generation: AtomicU64,
}

impl CatalogStore {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current catalog.
    pub fn load(&self) -> Arc<Catalog> {
        self.current.load_full()
    }

    /// Publishes what `server` offers now; returns the aggregated lists that changed.
    pub fn update(&self, server: &str, offer: ServerOffer) -> Vec<ListKind> {
        self.update_while(server, offer, || true)
    }

    /// Like [`CatalogStore::update`], unless `live()` says the publisher has been stopped.
    /// `live` runs under the writer lock, so a publisher stopped before a [`retain`] that
    /// removes its server can never put the server back afterwards.
    ///
    /// [`retain`]: CatalogStore::retain
    pub fn update_while(
        &self,
        server: &str,
        offer: ServerOffer,
        live: impl FnOnce() -> bool,
    ) -> Vec<ListKind> {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        if !live() {
            return Vec::new();
        }
        // Periodic refreshes mostly find nothing new: comparing is far cheaper than
        // rebuilding (and re-serialising) every list of every backend.
        if servers.get(server) == Some(&offer) {
            return Vec::new();
        }
        servers.insert(server.to_owned(), offer);
        self.swap(build(&servers))
    }

    /// Keeps only the named servers (the rest were removed from the config); returns the
    /// aggregated lists that changed.
    pub fn retain(&self, names: &HashSet<&str>) -> Vec<ListKind> {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        let before = servers.len();
        servers.retain(|name, _| names.contains(name.as_str()));
        if servers.len() == before {
            return Vec::new();
        }
        self.swap(build(&servers))
    }

    /// What every server offers now and the catalog's generation (bumped on every change):
    /// what a copy of this catalog kept in another process (the Envoy module) is rebuilt from
    /// with [`CatalogStore::update`] and [`CatalogStore::retain`].
    pub fn snapshot(&self) -> (u64, BTreeMap<String, ServerOffer>) {
        let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        (self.generation.load(Ordering::Relaxed), servers.clone())
    }

    /// The catalog's generation, without copying anything (see [`CatalogStore::snapshot`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn swap(&self, new: Catalog) -> Vec<ListKind> {
        self.generation.fetch_add(1, Ordering::Relaxed);
        let old = self.current.swap(Arc::new(new));
        let new = self.current.load();
        ListKind::ALL
            .into_iter()
            .filter(|k| old.list(*k).json_bytes() != new.list(*k).json_bytes())
            .collect()
    }
}

fn build(servers: &BTreeMap<String, ServerOffer>) -> Catalog {
    let mut routes: [HashMap<String, Route>; 4] = Default::default();
    let mut items: [Vec<Item>; 4] = Default::default();
    let mut statuses = HashMap::with_capacity(servers.len());
    let mut tool_classes = HashMap::new();
    let mut caps = Capabilities::default();
    let mut links = Links::default();
    for (server, offer) in servers {
        let server_name: Arc<str> = Arc::from(server.as_str());
        if offer.healthy {
            for kind in ListKind::ALL {
                let i = kind.index();
                expose_all(kind, &server_name, offer, &mut routes[i], &mut items[i]);
            }
            links.add(&server_name, &offer.lists);
            for (original, mask) in &offer.tool_classes {
                let exposed = naming::expose(&offer.prefix, original);
                if routes[ListKind::Tools.index()]
                    .get(&exposed)
                    .is_some_and(|r| r.server == server_name)
                {
                    tool_classes.insert(exposed, *mask);
                }
            }
            caps.prompts |= offer.has_capability("prompts");
            caps.resources |= offer.has_capability("resources");
            caps.subscribe |=
                offer.capabilities.pointer("/resources/subscribe") == Some(&Value::Bool(true));
            caps.logging |= offer.has_capability("logging");
            caps.completions |= offer.has_capability("completions");
            caps.tasks |= offer.has_capability("tasks");
            let declares = |pointer| {
                offer
                    .capabilities
                    .pointer(pointer)
                    .is_some_and(|c| !c.is_null())
            };
            caps.task_cancel |= declares("/tasks/cancel");
            caps.task_tool_calls |= declares("/tasks/requests/tools/call");
        }
        statuses.insert(
            server.clone(),
            ServerStatus {
                healthy: offer.healthy,
                attempted: true,
                tools: routes[ListKind::Tools.index()]
                    .values()
                    .filter(|r| r.server == server_name)
                    .count(),
                capabilities: offer.capabilities.clone(),
                last_error: offer.last_error.clone(),
                protocol: offer.protocol,
            },
        );
    }
    Catalog {
        lists: items.map(Listing::from_items),
        routes,
        servers: statuses,
        tool_classes,
        capabilities: caps,
        links,
        views: Default::default(),
    }
}

/// Adds one backend's items of `kind` with exposed names, skipping invalid and duplicate ones.
fn expose_all(
    kind: ListKind,
    server: &Arc<str>,
    offer: &ServerOffer,
    routes: &mut HashMap<String, Route>,
    items: &mut Vec<Item>,
) {
    let field = kind.name_field();
    for item in &offer.lists[kind.index()] {
        let Some(original) = item.get(field).and_then(Value::as_str) else {
            warn!(server = %server, list = kind.method(), "backend listed an item without {field}; skipped");
            continue;
        };
        let exposed = match kind {
            ListKind::Tools | ListKind::Prompts => naming::expose(&offer.prefix, original),
            ListKind::Resources | ListKind::ResourceTemplates => {
                uri::expose_uri(&offer.prefix, original)
            }
        };
        if kind == ListKind::Tools && !naming::is_valid_tool_name(&exposed) {
            warn!(server = %server, tool = %exposed, "exposed tool name is not a valid MCP tool name; skipped");
            continue;
        }
        if routes.contains_key(&exposed) {
            warn!(server = %server, name = %exposed, list = kind.method(), "duplicate exposed name; the first one wins");
            continue;
        }
        let mut item = item.clone();
        if let Some(obj) = item.as_object_mut() {
            obj.insert(field.into(), Value::String(exposed.clone()));
        }
        items.push(Item::new(&item, server.clone(), &exposed));
        routes.insert(
            exposed,
            Route {
                server: server.clone(),
                original: Arc::from(original),
            },
        );
    }
}

#[cfg(test)]
mod tests;
