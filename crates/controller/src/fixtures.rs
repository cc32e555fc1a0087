//! Test objects: MCPServers, HTTPRoutes and Services as the API server returns them,
//! and a real MCP server to discover tools from.

use std::num::NonZeroUsize;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use mcp_gateway_example_servers::app::{ExampleServer, Options, ServerKind};
use mcp_gateway_example_servers::serving::HostPolicy;
use mcp_gateway_example_servers::stats::Stats;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::crd::{GATEWAY_GROUP, HTTP_ROUTE_KIND, MCPServer, MCPServerSpec, TargetRef};
use crate::route::{BackendRef, HTTPRoute, HTTPRouteSpec, RouteRule};

/// A target naming the HTTPRoute `name` in the MCPServer's namespace.
pub fn target(name: &str, prefix: &str) -> TargetRef {
    TargetRef {
        group: GATEWAY_GROUP.to_owned(),
        kind: HTTP_ROUTE_KIND.to_owned(),
        name: name.to_owned(),
        namespace: None,
        tool_prefix: Some(prefix.to_owned()),
        path: None,
    }
}

/// An MCPServer created `age_rank` seconds after the epoch (lower is older), at
/// generation 1.
pub fn mcpserver(namespace: &str, name: &str, age_rank: i64, targets: Vec<TargetRef>) -> MCPServer {
    let mut server = MCPServer::new(
        name,
        MCPServerSpec {
            target_refs: targets,
        },
    );
    server.metadata.namespace = Some(namespace.to_owned());
    server.metadata.generation = Some(1);
    server.metadata.uid = Some(format!("uid-{namespace}-{name}"));
    server.metadata.creation_timestamp = Some(Time(
        Timestamp::from_second(age_rank).unwrap_or(Timestamp::UNIX_EPOCH),
    ));
    server
}

/// An HTTPRoute with these hostnames and one rule with one Service backend.
pub fn route(
    namespace: &str,
    name: &str,
    hostnames: &[&str],
    service: &str,
    port: Option<i32>,
) -> HTTPRoute {
    let backend = BackendRef {
        name: service.to_owned(),
        port,
        ..BackendRef::default()
    };
    route_with(namespace, name, hostnames, vec![backend])
}

/// An HTTPRoute with these hostnames and one rule with these backends.
pub fn route_with(
    namespace: &str,
    name: &str,
    hostnames: &[&str],
    backends: Vec<BackendRef>,
) -> HTTPRoute {
    let mut route = HTTPRoute::new(
        name,
        HTTPRouteSpec {
            hostnames: hostnames.iter().map(|h| (*h).to_owned()).collect(),
            rules: vec![RouteRule {
                backend_refs: backends,
            }],
        },
    );
    route.metadata.namespace = Some(namespace.to_owned());
    route
}

/// A port of a Service.
pub fn port(number: i32, name: Option<&str>, app_protocol: Option<&str>) -> ServicePort {
    ServicePort {
        port: number,
        name: name.map(str::to_owned),
        app_protocol: app_protocol.map(str::to_owned),
        ..ServicePort::default()
    }
}

/// A Service with these ports.
pub fn service(namespace: &str, name: &str, ports: Vec<ServicePort>) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A snapshot of these objects.
pub fn cluster(servers: Vec<MCPServer>, routes: Vec<HTTPRoute>, services: Vec<Service>) -> Cluster {
    Cluster::new(
        servers.into_iter().map(Arc::new),
        routes.into_iter().map(Arc::new),
        services.into_iter().map(Arc::new),
    )
}

/// Two teams, each with a working MCPServer:
/// `team-a/weather` (route `weather` -> Service `weather:8080`, prefix `weather_`) and
/// `team-b/github` (route `github` -> Service `github:443`, prefix `gh_`).
pub fn two_teams() -> (Vec<MCPServer>, Vec<HTTPRoute>, Vec<Service>) {
    let servers = vec![
        mcpserver("team-a", "weather", 1, vec![target("weather", "weather_")]),
        mcpserver("team-b", "github", 2, vec![target("github", "gh_")]),
    ];
    let routes = vec![
        route(
            "team-a",
            "weather",
            &["weather.mcp.local"],
            "weather",
            Some(8080),
        ),
        route(
            "team-b",
            "github",
            &["github.mcp.local"],
            "github",
            Some(443),
        ),
    ];
    let services = vec![
        service("team-a", "weather", vec![port(8080, Some("http"), None)]),
        service("team-b", "github", vec![port(443, None, None)]),
    ];
    (servers, routes, services)
}

/// The rmcp calc example server, paging its tools one at a time; stops on
/// [`Calc::stop`] or when dropped.
pub struct Calc {
    /// The MCP endpoint under the host name given to [`Calc::start`].
    pub url: url::Url,
    /// The loopback port it listens on.
    pub port: u16,
    /// The server's counters.
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<()>,
}

impl Calc {
    /// Serves on a free loopback port; `url()` names it `host` (resolve that to
    /// loopback).
    pub async fn start(host: &str) -> Self {
        let options = Options {
            hosts: HostPolicy::Any,
            page_size: NonZeroUsize::new(1),
            ..Options::default()
        };
        let server = ExampleServer::bind(ServerKind::Calc, ([127, 0, 0, 1], 0).into(), options)
            .await
            .expect("binds");
        let port = server.local_addr().port();
        let url = url::Url::parse(&format!("http://{host}:{port}/mcp")).expect("valid URL");
        let stats = server.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            let _ = server
                .serve(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            url,
            port,
            stats,
            stop: Some(stop),
            serving,
        }
    }

    /// Stops serving and waits (bounded) until it has.
    pub async fn stop(mut self) {
        drop(self.stop.take());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.serving).await;
    }
}

impl Drop for Calc {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// An `MCPVirtualServer` created at second `age_rank`.
pub fn virtual_server(
    namespace: &str,
    name: &str,
    age_rank: i64,
    spec: crate::virtual_server::MCPVirtualServerSpec,
) -> crate::virtual_server::MCPVirtualServer {
    let mut object = crate::virtual_server::MCPVirtualServer::new(name, spec);
    object.metadata.namespace = Some(namespace.to_owned());
    object.metadata.generation = Some(1);
    object.metadata.creation_timestamp = Some(Time(
        Timestamp::from_second(age_rank).unwrap_or(Timestamp::UNIX_EPOCH),
    ));
    object
}
