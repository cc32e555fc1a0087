//! The configs of a run: the gateway's servers file and the two comparison Envoys, rendered
//! from the templates in `bench/configs/`.

use std::fmt::Write;
use std::net::SocketAddr;

const PLAIN_TEMPLATE: &str = include_str!("../../../../bench/configs/envoy-plain.yaml");
const MCP_ROUTER_TEMPLATE: &str = include_str!("../../../../bench/configs/envoy-mcp-router.yaml");
const FLOOR_TEMPLATE: &str = include_str!("../../../../bench/configs/envoy-ext-proc-floor.yaml");

/// One MCP backend as every path sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// Server name (`a`, `b`, `s17`): the gateway's server name and prefix stem, and the
    /// `mcp_router` server name.
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its MCP path (`/mcp`, `/b/17/mcp`).
    pub path: String,
}

impl Backend {
    /// `http://addr/path`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// The gateway's prefix for its tools: `<name>_`.
    pub fn gateway_prefix(&self) -> String {
        format!("{}_", self.name)
    }

    /// The name the gateway exposes for `tool`.
    pub fn gateway_tool(&self, tool: &str) -> String {
        format!("{}{tool}", self.gateway_prefix())
    }

    /// The name Envoy's `mcp_router` exposes for `tool`: `<server>__<tool>`.
    pub fn mcp_router_tool(&self, tool: &str) -> String {
        format!("{}__{tool}", self.name)
    }
}

/// The gateway's config file: every backend with hostname `<name>.bench.local` and prefix
/// `<name>_`.
pub fn gateway_config(backends: &[Backend]) -> String {
    let mut out = String::from("servers:\n");
    for backend in backends {
        // Names are [a-z0-9]: no quoting needed beyond what is written.
        let _ = write!(
            out,
            "  - name: \"{name}\"\n    url: \"{url}\"\n    hostname: \"{name}.bench.local\"\n    toolPrefix: \"{prefix}\"\n",
            name = backend.name,
            url = backend.url(),
            prefix = backend.gateway_prefix(),
        );
    }
    if backends.is_empty() {
        out = String::from("servers: []\n");
    }
    out
}

/// Plain Envoy proxying everything to `backend`.
pub fn plain_envoy(backend: SocketAddr) -> String {
    plain_envoy_from(PLAIN_TEMPLATE, backend)
}

/// Plain Envoy to `backend` with a no-op ext_proc server at `ext_proc` in front.
pub fn ext_proc_floor_envoy(backend: SocketAddr, ext_proc: SocketAddr) -> String {
    plain_envoy_from(FLOOR_TEMPLATE, backend)
        .replace("@EXT_PROC_HOST@", &ext_proc.ip().to_string())
        .replace("@EXT_PROC_PORT@", &ext_proc.port().to_string())
}

fn plain_envoy_from(template: &str, backend: SocketAddr) -> String {
    template
        .replace("@BACKEND_HOST@", &backend.ip().to_string())
        .replace("@BACKEND_PORT@", &backend.port().to_string())
}

/// Envoy's `mcp_router` aggregating `backends` (cluster `backend_<name>` each).
pub fn mcp_router_envoy(backends: &[Backend]) -> String {
    let mut servers = String::new();
    let mut clusters = String::new();
    for backend in backends {
        let cluster = format!("backend_{}", backend.name);
        let _ = writeln!(
            servers,
            "              - name: \"{}\"\n                mcp_cluster: {{cluster: \"{cluster}\", path: \"{}\"}}",
            backend.name, backend.path
        );
        let _ = writeln!(
            clusters,
            "  - name: \"{cluster}\"\n    connect_timeout: 1s\n    type: STATIC\n    load_assignment:\n      cluster_name: \"{cluster}\"\n      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: \"{}\", port_value: {}}}}}}}}}]}}]",
            backend.addr.ip(),
            backend.addr.port()
        );
    }
    let first = backends
        .first()
        .map(|b| format!("backend_{}", b.name))
        .unwrap_or_default();
    MCP_ROUTER_TEMPLATE
        .replace("@SERVERS@\n", &servers)
        .replace("@CLUSTERS@\n", &clusters)
        .replace("@FIRST_CLUSTER@", &first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends() -> Vec<Backend> {
        vec![
            Backend {
                name: "a".into(),
                addr: "127.0.0.1:9001".parse().expect("addr"),
                path: "/mcp".into(),
            },
            Backend {
                name: "s7".into(),
                addr: "127.0.0.1:9002".parse().expect("addr"),
                path: "/b/7/mcp".into(),
            },
        ]
    }

    #[test]
    fn gateway_config_lists_every_backend() {
        let yaml = gateway_config(&backends());
        assert!(yaml.starts_with("servers:\n"));
        assert!(yaml.contains("url: \"http://127.0.0.1:9002/b/7/mcp\""));
        assert!(yaml.contains("hostname: \"s7.bench.local\""));
        assert!(yaml.contains("toolPrefix: \"a_\""));
        assert_eq!(yaml.matches("- name:").count(), 2);
    }

    #[test]
    fn plain_envoy_points_at_the_backend() {
        let yaml = plain_envoy("127.0.0.1:4321".parse().expect("addr"));
        assert!(yaml.contains(r#"address: "127.0.0.1", port_value: 4321"#));
        assert!(!yaml.replace("\"@type\"", "").contains('@'));
        assert_eq!(yaml.matches("port_value: 0").count(), 2);
    }

    #[test]
    fn ext_proc_floor_envoy_points_at_the_backend_and_the_no_op_server() {
        let yaml = ext_proc_floor_envoy(
            "127.0.0.1:4321".parse().expect("addr"),
            "127.0.0.1:5432".parse().expect("addr"),
        );
        assert!(yaml.contains(r#"address: "127.0.0.1", port_value: 4321"#));
        assert!(yaml.contains(r#"address: "127.0.0.1", port_value: 5432"#));
        assert!(yaml.contains("request_body_mode: BUFFERED"));
        assert!(!yaml.replace("\"@type\"", "").contains('@'));
    }

    #[test]
    fn mcp_router_envoy_has_a_server_and_cluster_per_backend() {
        let yaml = mcp_router_envoy(&backends());
        assert!(!yaml.contains("@SERVERS@") && !yaml.contains("@CLUSTERS@"));
        assert!(!yaml.replace("\"@type\"", "").contains('@'));
        assert!(yaml.contains(r#"route: {cluster: "backend_a"}"#));
        assert!(yaml.contains(r#"mcp_cluster: {cluster: "backend_s7", path: "/b/7/mcp"}"#));
        assert!(yaml.contains(r#"socket_address: {address: "127.0.0.1", port_value: 9002}"#));
        assert_eq!(yaml.matches("type: STATIC").count(), 2);
        assert_eq!(backends()[1].mcp_router_tool("echo"), "s7__echo");
        assert_eq!(backends()[1].gateway_tool("echo"), "s7_echo");
    }
}
