//! The whole controller against a fake API server that lists fixtures, keeps watches
//! open, and records writes.

use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::*;
use crate::fixtures::{Calc, port, route, service, two_teams};
use crate::virtual_server::MCPVirtualServerSpec;

/// A request the controller made: a write (its path and JSON body), or a Lease read
/// (`GET <path>`, no body).
type Write = (String, Value);

/// The objects a fake API server lists.
type Objects = (Vec<MCPServer>, Vec<HTTPRoute>, Vec<Service>);

/// Watch events a test sends: the watched collection's path and the event.
type Events = mpsc::UnboundedSender<(&'static str, Value)>;

/// Serves lists of `objects`, answers a watch only with an event the test sends for
/// its path (keeping it open until then), records and echoes PATCHes, and answers
/// Lease reads with `lease` (404 when `None`).
fn fake_api_server(
    lease: Option<Value>,
    objects: Objects,
) -> (Client, mpsc::UnboundedReceiver<Write>, Events) {
    fake_api_server_with(lease, objects, Vec::new())
}

/// [`fake_api_server`], also listing these `MCPVirtualServer`s.
fn fake_api_server_with(
    lease: Option<Value>,
    objects: Objects,
    virtual_servers: Vec<MCPVirtualServer>,
) -> (Client, mpsc::UnboundedReceiver<Write>, Events) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let (writes, recorded) = mpsc::unbounded_channel();
    let (events, mut incoming) = mpsc::unbounded_channel::<(&'static str, Value)>();
    let (servers, routes, services) = objects;
    let list = |api_version: &str, kind: &str, items: Value| json!({"apiVersion": api_version, "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items});
    let lists = [
        (
            SERVERS,
            list("mcp.kagenti.com/v1alpha1", "MCPServerList", json!(servers)),
        ),
        (
            ROUTES,
            list(
                "gateway.networking.k8s.io/v1",
                "HTTPRouteList",
                json!(routes),
            ),
        ),
        (SERVICES, list("v1", "ServiceList", json!(services))),
        (
            VIRTUAL_SERVERS,
            list(
                "mcp.kagenti.com/v1alpha1",
                "MCPVirtualServerList",
                json!(virtual_servers),
            ),
        ),
    ];
    tokio::spawn(async move {
        let mut open_watches: Vec<(String, tower_test::mock::SendResponse<Response<Body>>)> =
            Vec::new();
        let mut pending: Vec<(&'static str, Value)> = Vec::new();
        loop {
            let (request, respond) = tokio::select! {
                request = handle.next_request() => match request {
                    Some(request) => request,
                    None => break,
                },
                Some(event) = incoming.recv() => {
                    pending.push(event);
                    deliver(&mut open_watches, &mut pending);
                    continue;
                }
            };
            let (parts, body) = request.into_parts();
            let path = parts.uri.path().to_owned();
            let query = parts.uri.query().unwrap_or_default().to_owned();
            let bytes = body.collect_bytes().await.expect("body");
            let answer = match parts.method {
                Method::GET if query.contains("watch=true") => {
                    open_watches.push((path, respond));
                    deliver(&mut open_watches, &mut pending);
                    continue;
                }
                Method::GET if path.contains("/leases/") => {
                    let Some(lease) = lease.clone() else {
                        panic!("lease reads need a lease in this test");
                    };
                    let _ = writes.send((format!("GET {path}"), Value::Null));
                    lease
                }
                Method::GET => match lists.iter().find(|(p, _)| *p == path) {
                    Some((_, list)) => list.clone(),
                    None => panic!("unexpected GET {path}?{query}"),
                },
                Method::PATCH => {
                    let body: Value = serde_json::from_slice(&bytes).expect("JSON patch");
                    let _ = writes.send((path.clone(), body.clone()));
                    let mut object = body;
                    let status = path.ends_with("/status");
                    object["metadata"]["name"] =
                        json!(path.split('/').nth_back(usize::from(status)));
                    if status && path.contains("/mcpservers/") {
                        object["spec"] = json!({"targetRefs": []});
                    } else if status {
                        object["spec"] = json!({});
                    }
                    object
                }
                method => panic!("unexpected {method} {path}"),
            };
            let bytes = serde_json::to_vec(&answer).expect("serializes");
            respond.send_response(Response::new(Body::from(bytes)));
        }
    });
    (Client::new(service, "default"), recorded, events)
}

const SERVERS: &str = "/apis/mcp.kagenti.com/v1alpha1/mcpservers";
const ROUTES: &str = "/apis/gateway.networking.k8s.io/v1/httproutes";
const SERVICES: &str = "/api/v1/services";
const VIRTUAL_SERVERS: &str = "/apis/mcp.kagenti.com/v1alpha1/mcpvirtualservers";

/// Answers each open watch that has a pending event with that event; the watch
/// then ends, and the watcher opens the next one from the event's resourceVersion.
fn deliver(
    open: &mut Vec<(String, tower_test::mock::SendResponse<Response<Body>>)>,
    pending: &mut Vec<(&'static str, Value)>,
) {
    pending.retain(|(path, event)| {
        let Some(at) = open.iter().position(|(watched, _)| watched == path) else {
            return true;
        };
        let (_, respond) = open.swap_remove(at);
        let mut line = serde_json::to_vec(event).expect("serializes");
        line.push(b'\n');
        respond.send_response(Response::new(Body::from(line)));
        false
    });
}

async fn next(recorded: &mut mpsc::UnboundedReceiver<Write>) -> Write {
    tokio::time::timeout(Duration::from_secs(5), recorded.recv())
        .await
        .expect("an expected write never came (timeout)")
        .expect("fake API server stopped")
}

/// `GET path` over plain HTTP/1.1 (bounded by a timeout); returns the status line
/// and the body.
async fn http_get(address: SocketAddr, path: &str) -> (String, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("reads");
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("HTTP exchange timed out");
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// A controller on loopback listeners with a 10 ms debounce.
struct Running {
    health: SocketAddr,
    metrics: SocketAddr,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Running {
    async fn start(
        client: Client,
        lease: Option<LeaseSettings>,
        discovery: Option<DiscoverySettings>,
    ) -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let options = ControllerOptions {
            health_address: loopback,
            metrics_address: loopback,
            debounce: Duration::from_millis(10),
            discovery,
            ..ControllerOptions::new(Settings::default(), lease)
        };
        let controller = Controller::bind(client, options).await.expect("binds");
        let (Some(health), Some(metrics)) = controller.local_addrs() else {
            panic!("listeners have addresses");
        };
        let cancel = CancellationToken::new();
        let task = tokio::spawn(controller.run(cancel.clone()));
        Self {
            health,
            metrics,
            cancel,
            task,
        }
    }

    /// Cancels it and checks it stopped cleanly.
    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("stops on cancel")
            .expect("no panic")
            .expect("no error");
    }
}

#[tokio::test]
async fn watches_then_publishes_config_and_statuses() {
    let (client, mut recorded, _events) = fake_api_server(None, two_teams());
    let running = Running::start(client, None, None).await;
    assert_eq!(
        http_get(running.health, "/healthz").await.0,
        "HTTP/1.1 200 OK"
    );

    let (path, configmap) = next(&mut recorded).await;
    assert_eq!(
        path,
        "/api/v1/namespaces/mcp-system/configmaps/mcp-gateway-config"
    );
    let text = configmap["data"]["config.yaml"]
        .as_str()
        .unwrap_or_default();
    let config = mcp_gateway_config::Config::from_yaml(text).expect("valid config");
    let names: Vec<&str> = config.servers().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["team-a-weather-weather", "team-b-github-github"]);
    for expected in ["team-a/mcpservers/weather", "team-b/mcpservers/github"] {
        let (path, body) = next(&mut recorded).await;
        assert!(path.ends_with(&format!("{expected}/status")), "{path}");
        assert_eq!(body["status"]["conditions"][0]["reason"], "Published");
    }

    assert_eq!(
        http_get(running.health, "/readyz").await.0,
        "HTTP/1.1 200 OK"
    );
    let (status, text) = http_get(running.metrics, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        text.contains(r#"mcp_controller_reconciles_total{result="success"}"#),
        "{text}"
    );
    assert!(
        text.contains("mcp_controller_published_servers 2"),
        "{text}"
    );
    assert!(text.contains("mcp_controller_leader 1"), "{text}");

    running.stop().await;
}

#[tokio::test]
async fn virtual_servers_are_published_with_their_status() {
    let spec = MCPVirtualServerSpec {
        mcp_server_refs: vec![crate::MCPServerRef {
            name: "weather".into(),
            namespace: None,
        }],
        ..MCPVirtualServerSpec::default()
    };
    let forecasts = crate::fixtures::virtual_server("team-a", "forecasts", 3, spec);
    let (client, mut recorded, _events) = fake_api_server_with(None, two_teams(), vec![forecasts]);
    let running = Running::start(client, None, None).await;

    let text = next_config(&mut recorded).await;
    let config = mcp_gateway_config::Config::from_yaml(&text).expect("valid config");
    let forecasts = config.virtual_server("forecasts").expect("published");
    assert_eq!(
        forecasts.servers().collect::<Vec<_>>(),
        ["team-a-weather-weather"]
    );
    // Both MCPServers' statuses, then the virtual server's.
    let mut seen = None;
    for _ in 0..3 {
        let (path, body) = next(&mut recorded).await;
        if path.ends_with("team-a/mcpvirtualservers/forecasts/status") {
            seen = Some(body);
        }
    }
    let body = seen.expect("the MCPVirtualServer status was written");
    assert_eq!(body["status"]["conditions"][0]["reason"], "Published");
    assert_eq!(body["status"]["endpoint"], "/v/forecasts/mcp");
    running.stop().await;
}

/// The next ConfigMap write's config text, skipping status writes before it.
async fn next_config(recorded: &mut mpsc::UnboundedReceiver<Write>) -> String {
    loop {
        let (path, body) = next(recorded).await;
        if path.ends_with("/configmaps/mcp-gateway-config") {
            return body["data"]["config.yaml"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        assert!(path.ends_with("/status"), "unexpected write {path}");
    }
}

fn modified(mut object: Value, resource_version: &str) -> Value {
    object["metadata"]["resourceVersion"] = json!(resource_version);
    json!({"type": "MODIFIED", "object": object})
}

#[tokio::test]
async fn a_change_to_any_watched_kind_is_published() {
    let (servers, routes, services) = two_teams();
    let (client, mut recorded, events) =
        fake_api_server(None, (servers.clone(), routes.clone(), services.clone()));
    let running = Running::start(client, None, None).await;
    let first = next_config(&mut recorded).await;
    assert!(first.contains("toolPrefix: weather_"), "{first}");

    // An MCPServer's prefix.
    let mut weather = servers[0].clone();
    weather.spec.target_refs[0].tool_prefix = Some("wx_".to_owned());
    events
        .send((SERVERS, modified(json!(weather), "2")))
        .expect("server runs");
    let config = next_config(&mut recorded).await;
    assert!(config.contains("toolPrefix: wx_"), "{config}");

    // An HTTPRoute's host name.
    let route = route(
        "team-a",
        "weather",
        &["forecast.mcp.local"],
        "weather",
        Some(8080),
    );
    events
        .send((ROUTES, modified(json!(route), "3")))
        .expect("server runs");
    let config = next_config(&mut recorded).await;
    assert!(config.contains("hostname: forecast.mcp.local"), "{config}");

    // A Service's port name, which makes the backend https.
    let secure = service("team-a", "weather", vec![port(8080, Some("https"), None)]);
    events
        .send((SERVICES, modified(json!(secure), "4")))
        .expect("server runs");
    let config = next_config(&mut recorded).await;
    assert!(
        config.contains("url: https://weather.team-a.svc.cluster.local:8080/mcp"),
        "{config}"
    );

    running.stop().await;
}

#[tokio::test]
async fn discovered_tools_reach_the_status() {
    // team-a/weather is served by a real MCP server (the calc example); team-b/github
    // points at nothing that answers.
    let host = "weather.team-a.svc.cluster.local";
    let calc = Calc::start(host).await;
    let calc_port = i32::from(calc.port);
    let (servers, mut routes, mut services) = two_teams();
    routes[0] = route(
        "team-a",
        "weather",
        &["weather.mcp.local"],
        "weather",
        Some(calc_port),
    );
    services[0] = service(
        "team-a",
        "weather",
        vec![port(calc_port, Some("http"), None)],
    );
    let (client, mut recorded, _events) = fake_api_server(None, (servers, routes, services));
    let running = Running::start(
        client,
        None,
        Some(DiscoverySettings {
            // Listing again and again, so an unchanged listing is seen to write nothing.
            interval: Duration::from_millis(50),
            timeout: Duration::from_secs(2),
            // github's https://...:443 reaches a closed loopback port, not real DNS.
            resolve: vec![
                (host.to_owned(), SocketAddr::from(([127, 0, 0, 1], 0))),
                (
                    "github.team-b.svc.cluster.local".to_owned(),
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                ),
            ],
        }),
    )
    .await;

    let (path, _) = next(&mut recorded).await;
    assert!(path.ends_with("/configmaps/mcp-gateway-config"), "{path}");
    // Published before anything was listed, then again once the tools are known.
    let mut tools = None;
    while tools.is_none() {
        let (path, body) = next(&mut recorded).await;
        assert!(path.ends_with("/status"), "{path}");
        let target = &body["status"]["targets"][0];
        assert_eq!(target["reason"], "Published");
        if let Some(found) = target.get("discoveredTools") {
            assert!(path.ends_with("team-a/mcpservers/weather/status"), "{path}");
            tools = Some(found.clone());
        }
    }
    let mut tools: Vec<String> = serde_json::from_value(tools.unwrap_or_default()).expect("names");
    tools.sort();
    assert_eq!(
        tools,
        [
            "weather_add",
            "weather_divide",
            "weather_multiply",
            "weather_sqrt",
            "weather_subtract",
            "weather_sum",
            "weather_whoami"
        ]
    );
    assert_eq!(
        calc.stats.snapshot().sessions_ended,
        calc.stats.snapshot().initialize,
        "every listing session is ended"
    );
    // Unchanged listings trigger no further reconcile. Wait for two more of them. (No
    // watch event updates the cached statuses here, so every reconcile rewrites every
    // status: a second weather patch would mean another reconcile; the github patch of
    // the reconcile above may still follow.)
    let listed = calc.stats.snapshot().initialize;
    let deadline = Instant::now() + Duration::from_secs(5);
    while calc.stats.snapshot().initialize < listed + 2 {
        assert!(Instant::now() < deadline, "discovery stopped listing");
        sleep(Duration::from_millis(10)).await;
    }
    sleep(Duration::from_millis(50)).await;
    while let Ok((path, _)) = recorded.try_recv() {
        assert!(
            path.ends_with("team-b/mcpservers/github/status"),
            "unexpected write {path}"
        );
    }
    running.stop().await;
    calc.stop().await;
}

#[tokio::test]
async fn a_standby_replica_syncs_but_writes_nothing() {
    let held = crate::verifier::lease(Some("pod-b"), "7", 0);
    let (client, mut recorded, _events) = fake_api_server(Some(held), two_teams());
    let running = Running::start(
        client,
        Some(LeaseSettings::new("mcp-system", "pod-a")),
        None,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while http_get(running.health, "/readyz").await.0 != "HTTP/1.1 200 OK" {
        assert!(Instant::now() < deadline, "caches never synced");
        sleep(Duration::from_millis(10)).await;
    }
    // It asked who leads: the Lease, held by pod-b.
    let (path, _) = next(&mut recorded).await;
    assert_eq!(
        path,
        "GET /apis/coordination.k8s.io/v1/namespaces/mcp-system/leases/mcp-gateway-controller"
    );
    // Well past the debounce: a leader would have written by now.
    sleep(Duration::from_millis(300)).await;
    while let Ok((path, _)) = recorded.try_recv() {
        assert!(path.starts_with("GET "), "a standby must not write: {path}");
    }
    let (_, text) = http_get(running.metrics, "/metrics").await;
    assert!(text.contains("mcp_controller_leader 0"), "{text}");
    running.stop().await;
}

#[tokio::test]
async fn not_ready_until_caches_sync() {
    // An API server that never answers: caches never sync.
    let (service, _handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let running = Running::start(client, None, None).await;
    let (status, _) = http_get(running.health, "/readyz").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    running.stop().await;
}
