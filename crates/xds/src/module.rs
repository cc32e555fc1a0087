//! The bootstrap of module mode: the same listener, routes and clusters as
//! [`render_bootstrap`], with the routing core inside Envoy as the dynamic module
//! `libmcp_gateway_module.so` in place of the two ext_proc filters, and a cluster for the
//! gateway's module API (sessions, backend sessions, config and catalog; loopback only).
//!
//! Built from the ext_proc bootstrap, so both modes share every other line (limits, error
//! mapping, header stripping, ADS).

use std::net::SocketAddr;

use crate::bootstrap::{self, BootstrapOptions, render_bootstrap};

/// The Envoy cluster of the gateway's module API.
pub const MODULE_API_CLUSTER: &str = "mcp_module_api";
/// The module's name: Envoy loads `lib<name>.so` from `ENVOY_DYNAMIC_MODULES_SEARCH_PATH`.
pub const MODULE_NAME: &str = "mcp_gateway_module";

/// Where the ext_proc filters start and end in the ext_proc bootstrap.
const EXT_PROC_START: &str = "          # The router: checks the request headers";
const EXT_PROC_END: &str = "          - name: envoy.filters.http.router\n";

/// The module-mode bootstrap for `opts`, the module asking the module API at `api`.
/// `None` only if the ext_proc bootstrap lost the lines it is built from (a test guards it).
pub fn render_module_bootstrap(opts: &BootstrapOptions, api: SocketAddr) -> Option<String> {
    let ext_proc = render_bootstrap(opts);
    let start = ext_proc.find(EXT_PROC_START)?;
    let end = start + ext_proc[start..].find(EXT_PROC_END)?;
    let filter = format!(
        r#"          # The routing core inside Envoy (dynamic module, ABI v0.2.0: Envoy 1.40 and
          # 1.41): the same checks, decisions, body splices, session mapping and error
          # answers as the ext_proc router, without a gRPC round trip. It asks the gateway's
          # module API (cluster {MODULE_API_CLUSTER}) for what it has not cached: a session's
          # validity, a backend session (opened once, the request paused meanwhile), and a
          # copy of the config and catalog (refreshed every second).
          - name: envoy.filters.http.dynamic_modules
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter
              dynamic_module_config:
                name: {MODULE_NAME}
              filter_name: mcp
              filter_config:
                "@type": type.googleapis.com/google.protobuf.StringValue
                value: '{{"sidecar": {{"cluster": "{MODULE_API_CLUSTER}"}}, "max_request_bytes": {max}}}'
{rate_limits}
"#,
        max = opts.max_request_bytes,
        rate_limits = bootstrap::rate_limit_filters(),
    );
    let cluster = format!(
        r#"  # The gateway's module API (HTTP/1.1, loopback): what the module asks on a cache miss.
  - name: {MODULE_API_CLUSTER}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: {MODULE_API_CLUSTER}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: "{ip}"
                port_value: {port}
"#,
        ip = api.ip(),
        port = api.port(),
    );
    let mut out = String::with_capacity(ext_proc.len() + cluster.len());
    out.push_str(&ext_proc[..start]);
    out.push_str(&filter);
    out.push_str(&ext_proc[end..]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    // `clusters:` is the last list of the bootstrap.
    out.push_str(&cluster);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_mode_swaps_the_ext_proc_filters_for_the_module() {
        let api: SocketAddr = "127.0.0.1:50052".parse().expect("address");
        let yaml = render_module_bootstrap(&BootstrapOptions::default(), api)
            .expect("the ext_proc bootstrap still has its router filters");
        let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("valid YAML");
        let filters = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
            ["http_filters"];
        let names: Vec<&str> = filters
            .as_sequence()
            .expect("filters")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(
            names.contains(&"envoy.filters.http.dynamic_modules"),
            "{names:?}"
        );
        assert!(!names.contains(&"envoy.filters.http.ext_proc"), "{names:?}");
        // The servers' rate limits act in module mode too, after the module's routing.
        let module = names
            .iter()
            .position(|n| *n == "envoy.filters.http.dynamic_modules")
            .expect("module");
        assert_eq!(
            names[module + 1..module + 4],
            crate::traffic::RATE_LIMIT_FILTERS
        );
        assert_eq!(names.last(), Some(&"envoy.filters.http.router"));
        let clusters = doc["static_resources"]["clusters"]
            .as_sequence()
            .expect("clusters");
        let api_cluster = clusters
            .iter()
            .find(|c| c["name"].as_str() == Some(MODULE_API_CLUSTER))
            .expect("the module API cluster");
        assert_eq!(
            api_cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
                ["address"]["socket_address"]["port_value"]
                .as_u64(),
            Some(50052)
        );
    }
}
