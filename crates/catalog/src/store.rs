use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use mcp_gateway_protocol::naming;
use serde_json::Value;
use tracing::warn;

use crate::{Catalog, ServerStatus, ToolRoute};

/// What one backend offers, as its upstream manager last saw it.
#[derive(Clone, Debug, Default)]
pub struct ServerTools {
    /// The server's tool prefix.
    pub prefix: String,
    /// The backend answered the last discovery.
    pub healthy: bool,
    /// The tools as the backend listed them (original names).
    pub tools: Vec<Value>,
    /// Why the backend is unhealthy, when it is.
    pub last_error: Option<String>,
}

/// The writer side: keeps per-server state and swaps in a rebuilt [`Catalog`] on every change.
///
/// Writes are rare (discovery), serialised by a mutex that readers never touch; readers call
/// [`CatalogStore::load`], a lock-free atomic load.
#[derive(Default)]
pub struct CatalogStore {
    current: ArcSwap<Catalog>,
    servers: Mutex<BTreeMap<String, ServerTools>>,
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

    /// Publishes what `server` offers now.
    pub fn update(&self, server: &str, tools: ServerTools) {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        servers.insert(server.to_owned(), tools);
        self.current.store(Arc::new(build(&servers)));
    }

    /// Keeps only the named servers (the rest were removed from the config).
    pub fn retain(&self, names: &HashSet<&str>) {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        let before = servers.len();
        servers.retain(|name, _| names.contains(name.as_str()));
        if servers.len() != before {
            self.current.store(Arc::new(build(&servers)));
        }
    }
}

fn build(servers: &BTreeMap<String, ServerTools>) -> Catalog {
    let mut routes = HashMap::new();
    let mut statuses = HashMap::with_capacity(servers.len());
    let mut exposed_tools = Vec::new();
    for (server, state) in servers {
        let server_name: Arc<str> = Arc::from(server.as_str());
        let mut count = 0;
        if state.healthy {
            for tool in &state.tools {
                let Some(original) = tool.get("name").and_then(Value::as_str) else {
                    warn!(server = %server, "backend listed a tool without a name; skipped");
                    continue;
                };
                let exposed = naming::expose(&state.prefix, original);
                if !naming::is_valid_tool_name(&exposed) {
                    warn!(server = %server, tool = %exposed, "exposed tool name is not a valid MCP tool name; skipped");
                    continue;
                }
                if routes.contains_key(&exposed) {
                    warn!(server = %server, tool = %exposed, "duplicate exposed tool name; the first one wins");
                    continue;
                }
                let mut tool = tool.clone();
                if let Some(obj) = tool.as_object_mut() {
                    obj.insert("name".into(), Value::String(exposed.clone()));
                }
                routes.insert(
                    exposed,
                    ToolRoute {
                        server: server_name.clone(),
                        original: Arc::from(original),
                    },
                );
                exposed_tools.push(tool);
                count += 1;
            }
        }
        statuses.insert(
            server.clone(),
            ServerStatus {
                healthy: state.healthy,
                attempted: true,
                tools: count,
                last_error: state.last_error.clone(),
            },
        );
    }
    let tool_count = exposed_tools.len();
    Catalog {
        routes,
        servers: statuses,
        tools_json: Value::Array(exposed_tools).to_string(),
        tool_count,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tools(names: &[&str]) -> Vec<Value> {
        names
            .iter()
            .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
            .collect()
    }

    #[test]
    fn aggregates_with_prefixes_and_routes_back() {
        let store = CatalogStore::new();
        store.update(
            "calc",
            ServerTools {
                prefix: "calc_".into(),
                healthy: true,
                tools: tools(&["add", "sqrt"]),
                last_error: None,
            },
        );
        store.update(
            "text",
            ServerTools {
                prefix: "text_".into(),
                healthy: true,
                tools: tools(&["upper"]),
                last_error: None,
            },
        );
        let cat = store.load();
        assert_eq!(cat.tool_count(), 3);
        assert_eq!(
            cat.route("calc_add"),
            Some(&ToolRoute {
                server: "calc".into(),
                original: "add".into()
            })
        );
        assert_eq!(cat.route("add"), None);
        let listed: Vec<Value> = serde_json::from_str(cat.tools_json()).unwrap();
        let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["calc_add", "calc_sqrt", "text_upper"]);
        assert_eq!(listed[0]["inputSchema"], json!({"type": "object"}));
    }

    #[test]
    fn unhealthy_servers_expose_nothing_but_are_known() {
        let store = CatalogStore::new();
        store.update(
            "calc",
            ServerTools {
                prefix: "c_".into(),
                healthy: false,
                tools: tools(&["add"]),
                last_error: Some("refused".into()),
            },
        );
        let cat = store.load();
        assert_eq!(cat.route("c_add"), None);
        assert_eq!(cat.tools_json(), "[]");
        let status = cat.server("calc").unwrap();
        assert!(status.attempted && !status.healthy);
        assert_eq!(status.last_error.as_deref(), Some("refused"));
    }

    #[test]
    fn invalid_and_duplicate_names_are_skipped() {
        let store = CatalogStore::new();
        let long = "x".repeat(130);
        let mut listed = tools(&["ok", "bad name", &long, "ok"]);
        listed.push(json!({"description": "no name"}));
        store.update(
            "s",
            ServerTools {
                prefix: "p_".into(),
                healthy: true,
                tools: listed,
                last_error: None,
            },
        );
        let cat = store.load();
        assert_eq!(cat.tool_count(), 1);
        assert!(cat.route("p_ok").is_some());
    }

    #[test]
    fn retain_drops_removed_servers() {
        let store = CatalogStore::new();
        store.update(
            "a",
            ServerTools {
                prefix: "a_".into(),
                healthy: true,
                tools: tools(&["t"]),
                last_error: None,
            },
        );
        store.update(
            "b",
            ServerTools {
                prefix: "b_".into(),
                healthy: true,
                tools: tools(&["t"]),
                last_error: None,
            },
        );
        store.retain(&HashSet::from(["b"]));
        let cat = store.load();
        assert!(cat.route("a_t").is_none());
        assert!(cat.route("b_t").is_some());
        assert!(cat.server("a").is_none());
    }
}
