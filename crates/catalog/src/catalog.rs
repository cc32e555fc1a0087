use std::collections::HashMap;
use std::sync::Arc;

/// Where an exposed tool name goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolRoute {
    /// The owning server's configured name.
    pub server: Arc<str>,
    /// The tool's name at that server (the exposed name without the prefix).
    pub original: Arc<str>,
}

/// What the catalog knows about one backend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerStatus {
    /// The last discovery succeeded and the backend answers.
    pub healthy: bool,
    /// Discovery has completed at least once for this backend (successfully or not).
    pub attempted: bool,
    /// Number of tools exposed from this backend.
    pub tools: usize,
    /// Why the backend is unhealthy, when it is.
    pub last_error: Option<String>,
}

/// One immutable view of everything discovered; replaced whole on every change.
#[derive(Debug, Default)]
pub struct Catalog {
    pub(crate) routes: HashMap<String, ToolRoute>,
    pub(crate) servers: HashMap<String, ServerStatus>,
    pub(crate) tools_json: String,
    pub(crate) tool_count: usize,
}

impl Catalog {
    /// The backend and original name for an exposed tool name, if a healthy backend offers it.
    pub fn route(&self, exposed: &str) -> Option<&ToolRoute> {
        self.routes.get(exposed)
    }

    /// The aggregated tools as a JSON array (exposed names), ready to embed in a response.
    pub fn tools_json(&self) -> &str {
        if self.tools_json.is_empty() {
            "[]"
        } else {
            &self.tools_json
        }
    }

    /// Number of exposed tools.
    pub fn tool_count(&self) -> usize {
        self.tool_count
    }

    /// Discovery status of a backend by server name.
    pub fn server(&self, name: &str) -> Option<&ServerStatus> {
        self.servers.get(name)
    }

    /// Discovery status of every known backend.
    pub fn servers(&self) -> impl Iterator<Item = (&str, &ServerStatus)> {
        self.servers.iter().map(|(k, v)| (k.as_str(), v))
    }
}
