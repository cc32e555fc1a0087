use super::*;
use crate::fixtures::{cluster, mcpserver, port, route, route_with, service, target};

const DOMAIN: &str = "cluster.local";

fn owner() -> Owner<'static> {
    Owner {
        namespace: "team-a",
        name: "tools",
    }
}

/// Resolves `target` against one route `team-a/weather` (hostnames as given, backend
/// `weather` on `backend_port`) and one Service `team-a/weather` with `ports`.
fn resolve(
    target: &TargetRef,
    hostnames: &[&str],
    backend_port: Option<i32>,
    ports: Vec<ServicePort>,
) -> Result<(String, String), Reason> {
    let snapshot = cluster(
        vec![],
        vec![route(
            "team-a",
            "weather",
            hostnames,
            "weather",
            backend_port,
        )],
        vec![service("team-a", "weather", ports)],
    );
    resolve_target(&snapshot, owner(), target, DOMAIN)
        .map(|entry| {
            (
                entry.url.unwrap_or_default(),
                entry.hostname.unwrap_or_default(),
            )
        })
        .map_err(|problem| problem.reason)
}

/// One row of a resolution table: a target against route `team-a/weather` with
/// `hostnames` and backend port `backend_port`, and Service `team-a/weather` with `ports`.
struct Case {
    case: &'static str,
    target: TargetRef,
    hostnames: &'static [&'static str],
    backend_port: Option<i32>,
    ports: Vec<ServicePort>,
}

impl Case {
    fn new(
        case: &'static str,
        target: TargetRef,
        backend_port: Option<i32>,
        ports: Vec<ServicePort>,
    ) -> Self {
        Self {
            case,
            target,
            hostnames: &["weather.mcp.local"],
            backend_port,
            ports,
        }
    }

    fn hostnames(self, hostnames: &'static [&'static str]) -> Self {
        Self { hostnames, ..self }
    }

    fn resolve(self) -> Result<(String, String), Reason> {
        resolve(&self.target, self.hostnames, self.backend_port, self.ports)
    }
}

#[test]
fn url_scheme_port_and_path_table() {
    let with_path = |path: &str| TargetRef {
        path: Some(path.to_owned()),
        ..target("weather", "w_")
    };
    let plain = || target("weather", "w_");
    let svc = "weather.team-a.svc.cluster.local";
    let cases = [
        (
            Case::new(
                "http port, default path",
                plain(),
                Some(8080),
                vec![port(8080, Some("http"), None)],
            ),
            format!("http://{svc}:8080/mcp"),
        ),
        (
            Case::new(
                "custom path",
                with_path("/v1/mcp"),
                Some(8080),
                vec![port(8080, None, None)],
            ),
            format!("http://{svc}:8080/v1/mcp"),
        ),
        (
            Case::new(
                "port 443 is https",
                plain(),
                Some(443),
                vec![port(443, None, None)],
            ),
            format!("https://{svc}:443/mcp"),
        ),
        (
            Case::new(
                "port named https",
                plain(),
                Some(8443),
                vec![port(8443, Some("https"), None)],
            ),
            format!("https://{svc}:8443/mcp"),
        ),
        (
            Case::new(
                "port named https-*",
                plain(),
                Some(8443),
                vec![port(8443, Some("https-mcp"), None)],
            ),
            format!("https://{svc}:8443/mcp"),
        ),
        (
            Case::new(
                "appProtocol https",
                plain(),
                Some(9000),
                vec![port(9000, Some("web"), Some("HTTPS"))],
            ),
            format!("https://{svc}:9000/mcp"),
        ),
        (
            Case::new(
                "appProtocol http stays http",
                plain(),
                Some(9000),
                vec![port(9000, Some("web"), Some("http"))],
            ),
            format!("http://{svc}:9000/mcp"),
        ),
        (
            Case::new(
                "picks the named port among several",
                plain(),
                Some(443),
                vec![port(8080, None, None), port(443, None, None)],
            ),
            format!("https://{svc}:443/mcp"),
        ),
        (
            Case::new(
                "no port on the backend, one on the Service",
                plain(),
                None,
                vec![port(3000, None, None)],
            ),
            format!("http://{svc}:3000/mcp"),
        ),
    ];
    for (case, url) in cases {
        let name = case.case;
        assert_eq!(
            case.resolve(),
            Ok((url, "weather.mcp.local".to_owned())),
            "{name}"
        );
    }
}

#[test]
fn problems_table() {
    let plain = || target("weather", "w_");
    let one_port = || vec![port(8080, None, None)];
    let cases = [
        (
            Case::new(
                "missing route",
                target("nope", "w_"),
                Some(8080),
                one_port(),
            ),
            Reason::RouteNotFound,
        ),
        (
            Case::new("route without hostnames", plain(), Some(8080), one_port()).hostnames(&[]),
            Reason::NoHostname,
        ),
        (
            Case::new("only wildcard hostnames", plain(), Some(8080), one_port())
                .hostnames(&["*.mcp.local"]),
            Reason::NoHostname,
        ),
        (
            Case::new("port not on the Service", plain(), Some(9999), one_port()),
            Reason::PortNotFound,
        ),
        (
            Case::new(
                "no backend port, Service has two",
                plain(),
                None,
                vec![port(1, None, None), port(2, None, None)],
            ),
            Reason::PortNotFound,
        ),
        (
            Case::new("no backend port, Service has none", plain(), None, vec![]),
            Reason::PortNotFound,
        ),
        (
            Case::new(
                "unsupported kind",
                TargetRef {
                    kind: "GRPCRoute".to_owned(),
                    ..plain()
                },
                Some(8080),
                one_port(),
            ),
            Reason::Invalid,
        ),
        (
            Case::new(
                "unsupported group",
                TargetRef {
                    group: "example.com".to_owned(),
                    ..plain()
                },
                Some(8080),
                one_port(),
            ),
            Reason::Invalid,
        ),
        (
            Case::new(
                "relative path",
                TargetRef {
                    path: Some("mcp".to_owned()),
                    ..plain()
                },
                Some(8080),
                one_port(),
            ),
            Reason::Invalid,
        ),
    ];
    for (case, reason) in cases {
        let name = case.case;
        assert_eq!(case.resolve(), Err(reason), "{name}");
    }
}

#[test]
fn first_exact_hostname_wins() {
    let got = resolve(
        &target("weather", "w_"),
        &["*.mcp.local", "weather.mcp.local", "other.mcp.local"],
        Some(8080),
        vec![port(8080, None, None)],
    );
    assert_eq!(
        got.map(|(_, host)| host),
        Ok("weather.mcp.local".to_owned())
    );
}

#[test]
fn missing_service_and_non_service_backends() {
    let snapshot = cluster(
        vec![],
        vec![
            route(
                "team-a",
                "weather",
                &["weather.mcp.local"],
                "gone",
                Some(80),
            ),
            route_with(
                "team-a",
                "imports",
                &["imports.mcp.local"],
                vec![BackendRef {
                    group: Some("multicluster.x-k8s.io".to_owned()),
                    kind: Some("ServiceImport".to_owned()),
                    name: "weather".to_owned(),
                    port: Some(80),
                    ..BackendRef::default()
                }],
            ),
        ],
        vec![],
    );
    let reason = |name: &str| {
        resolve_target(&snapshot, owner(), &target(name, "w_"), DOMAIN)
            .map_err(|p| p.reason)
            .err()
    };
    assert_eq!(reason("weather"), Some(Reason::ServiceNotFound));
    assert_eq!(reason("imports"), Some(Reason::NoBackend));
}

#[test]
fn cross_namespace_route_and_backend() {
    // MCPServer in team-a names a route in shared; the route sends to a Service in backends.
    let backend = BackendRef {
        name: "search".to_owned(),
        namespace: Some("backends".to_owned()),
        port: Some(8000),
        ..BackendRef::default()
    };
    let snapshot = cluster(
        vec![mcpserver("team-a", "tools", 1, vec![])],
        vec![route_with(
            "shared",
            "search",
            &["search.mcp.local"],
            vec![backend],
        )],
        vec![service("backends", "search", vec![port(8000, None, None)])],
    );
    let cross = TargetRef {
        namespace: Some("shared".to_owned()),
        ..target("search", "s_")
    };
    let entry = resolve_target(&snapshot, owner(), &cross, "example.internal").expect("resolves");
    assert_eq!(
        entry.url.as_deref(),
        Some("http://search.backends.svc.example.internal:8000/mcp")
    );
    assert_eq!(entry.hostname.as_deref(), Some("search.mcp.local"));
    assert_eq!(entry.name.as_deref(), Some("team-a-tools-search"));
    assert_eq!(entry.tool_prefix.as_deref(), Some("s_"));
    // Without the namespace the route is looked up in team-a, where it does not exist.
    let same_namespace = target("search", "s_");
    let err = resolve_target(&snapshot, owner(), &same_namespace, DOMAIN).expect_err("not found");
    assert_eq!(err.reason, Reason::RouteNotFound);
    assert!(err.message.contains("team-a/search"), "{}", err.message);
}

#[test]
fn server_names_fit_and_stay_unique() {
    assert_eq!(server_name(owner(), "weather"), "team-a-tools-weather");
    let long_route = "r".repeat(80);
    let a = server_name(owner(), &long_route);
    let b = server_name(owner(), &format!("{long_route}x"));
    assert_eq!(a.len(), MAX_NAME_LEN);
    assert_eq!(b.len(), MAX_NAME_LEN);
    assert_ne!(a, b);
    assert!(a.starts_with("team-a-tools-rrr"), "{a}");
    assert_eq!(a, server_name(owner(), &long_route), "stable");
}
