//! Replays Envoy's ext_proc phases against the router, without gRPC or sockets.

use std::time::{Duration, SystemTime};

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    CommonResponse, HttpBody, HttpHeaders, ImmediateResponse, body_mutation,
};
use mcp_gateway_catalog::ServerOffer;
use mcp_gateway_config::Config;
use mcp_gateway_session::{
    ClientDeclaration, ClientLimits, MemoryStore, SessionKey, SessionRecord, SessionStore,
};
use mcp_gateway_upstream::BackendSession;
use mcp_gateway_upstream::UpstreamClient;
use serde_json::{Value, json};

use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response;
use mcp_gateway_protocol::transport::OBSERVE as OBSERVE_HEADER;

use super::*;

mod authz;
mod credentials;
mod handoff;
mod legacy_client;
mod modern;
mod transport;
mod virtual_servers;

const CONFIG: &str = r#"
servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.mcp.local
    toolPrefix: calc_
"#;

struct Harness {
    router: Router,
    catalog: Arc<CatalogStore>,
    sessions: Arc<MemoryStore>,
    ids: SessionIds,
    /// The `mcp` metadata of the last routed request, forwarded with response headers as
    /// Envoy's response filter does.
    forwarded: std::sync::Mutex<Option<envoy_types::pb::google::protobuf::Struct>>,
    /// Whether that request took the observed route (the router set `x-mcp-observe`).
    observed: std::sync::Mutex<bool>,
}

impl Harness {
    fn new(max_request_bytes: usize) -> Self {
        Self::with_config(max_request_bytes, CONFIG)
    }

    fn with_config(max_request_bytes: usize, yaml: &str) -> Self {
        let config = ConfigStore::new(Config::from_yaml(yaml).expect("valid config"));
        let catalog = Arc::new(CatalogStore::new());
        let prefix = config
            .load()
            .server("calc")
            .map_or_else(|| "calc_".to_owned(), |s| s.tool_prefix.clone());
        catalog.update(
            "calc",
            ServerOffer::tools(&prefix, vec![json!({"name": "add"})]),
        );
        let sessions = Arc::new(MemoryStore::new());
        let ids = SessionIds::new(SessionKey::random(), Duration::from_secs(60));
        let upstream = UpstreamClient::new(Duration::from_millis(200)).expect("client");
        let backends = Arc::new(BackendSessions::new(sessions.clone(), upstream));
        let router = Router::new(
            config,
            catalog.clone(),
            backends,
            ids.clone(),
            max_request_bytes,
            OriginPolicy::default(),
        );
        Self {
            router,
            catalog,
            sessions,
            ids,
            forwarded: std::sync::Mutex::new(None),
            observed: std::sync::Mutex::new(false),
        }
    }

    /// A live gateway session with an open backend session `backend-1` on calc.
    async fn session(&self) -> String {
        self.session_with(json!({})).await
    }

    /// Like `session`, for a client with these capabilities.
    async fn session_with(&self, client_capabilities: serde_json::Value) -> String {
        let id = self.ids.mint(None);
        let record = SessionRecord {
            protocol_version: "2025-06-18".into(),
            client: declared(&client_capabilities),
            subject: None,
            expires: SystemTime::now() + Duration::from_secs(60),
        };
        self.sessions.insert(&id, record).await.expect("insert");
        let backend = BackendSession {
            session_id: Some("backend-1".into()),
            protocol_version: "2025-03-26".into(),
            capabilities: json!({}),
            server_info: json!({}),
            instructions: None,
        };
        self.sessions
            .set_backend(&id, "calc", Arc::new(backend))
            .await
            .expect("set");
        id
    }

    /// Sends `request` as Envoy would. Response headers only reach the router through the
    /// response filter, which Envoy runs for a routed request only on the observed route
    /// (`x-mcp-observe` set by the router): sending them otherwise is a test mistake.
    async fn send(&self, req: &mut RequestState, request: Request) -> ProcessingResponse {
        let metadata_context = matches!(request, Request::ResponseHeaders(_))
            .then(|| self.forwarded.lock().expect("lock").clone())
            .flatten()
            .map(to_metadata);
        if metadata_context.is_some() {
            assert!(
                *self.observed.lock().expect("lock"),
                "Envoy runs no response filter on this request's route (no x-mcp-observe)"
            );
        }
        let msg = ProcessingRequest {
            request: Some(request),
            metadata_context,
            ..Default::default()
        };
        let resp = self.router.0.handle(req, msg).await;
        if let Some(md) = &resp.dynamic_metadata {
            *self.forwarded.lock().expect("lock") = Some(md.clone());
            // The route Envoy picks: the observed one when the router asked for it.
            let routed = match &resp.response {
                Some(Response::RequestHeaders(h)) => h.response.as_ref(),
                Some(Response::RequestBody(b)) => b.response.as_ref(),
                _ => None,
            };
            *self.observed.lock().expect("lock") = routed
                .map(set_headers)
                .is_some_and(|set| set.iter().any(|(k, v)| k == OBSERVE_HEADER && v == "1"));
        }
        resp
    }
}

/// Dynamic metadata as Envoy forwards it to another filter's stream.
fn to_metadata(mcp: envoy_types::pb::google::protobuf::Struct) -> Metadata {
    Metadata {
        filter_metadata: mcp
            .fields
            .into_iter()
            .map(|(k, v)| match v.kind {
                Some(envoy_types::pb::google::protobuf::value::Kind::StructValue(s)) => (k, s),
                _ => (k, Default::default()),
            })
            .collect(),
        ..Default::default()
    }
}

/// Request headers as Envoy sends them: with `:method` (POST unless given) and `:path`
/// (`/mcp` unless given).
fn headers(pairs: &[(&str, &str)]) -> Request {
    let mut all = pairs.to_vec();
    for (name, default) in [(":method", "POST"), (":path", "/mcp")] {
        if !pairs.iter().any(|(k, _)| *k == name) {
            all.insert(0, (name, default));
        }
    }
    Request::RequestHeaders(http_headers(&all))
}

fn http_headers(pairs: &[(&str, &str)]) -> HttpHeaders {
    HttpHeaders {
        headers: Some(HeaderMap {
            headers: pairs
                .iter()
                .map(|(k, v)| HeaderValue {
                    key: (*k).into(),
                    raw_value: v.as_bytes().to_vec(),
                    ..Default::default()
                })
                .collect(),
        }),
        end_of_stream: false,
        ..Default::default()
    }
}

fn body(text: &str) -> Request {
    Request::RequestBody(HttpBody {
        body: text.as_bytes().to_vec(),
        end_of_stream: true,
        ..Default::default()
    })
}

fn common(resp: &ProcessingResponse) -> &CommonResponse {
    match &resp.response {
        Some(Response::RequestHeaders(h) | Response::ResponseHeaders(h)) => h.response.as_ref(),
        Some(Response::RequestBody(b) | Response::ResponseBody(b)) => b.response.as_ref(),
        other => panic!("expected a continue response, got {other:?}"),
    }
    .expect("common response")
}

/// The body `c` replaces the request's or response's with (a test failure when none).
fn new_body(c: &CommonResponse) -> String {
    let Some(body_mutation::Mutation::Body(new_body)) =
        c.body_mutation.as_ref().and_then(|m| m.mutation.clone())
    else {
        panic!("body must be rewritten");
    };
    String::from_utf8(new_body).expect("utf8")
}

fn immediate(resp: &ProcessingResponse) -> (i32, Value) {
    match &resp.response {
        Some(Response::ImmediateResponse(ImmediateResponse { status, body, .. })) => (
            status.as_ref().map_or(0, |s| s.code),
            serde_json::from_slice(body).expect("JSON-RPC error body"),
        ),
        other => panic!("expected an immediate response, got {other:?}"),
    }
}

fn set_headers(c: &CommonResponse) -> Vec<(String, String)> {
    c.header_mutation
        .iter()
        .flat_map(|m| &m.set_headers)
        .filter_map(|h| h.header.as_ref())
        .map(|h| {
            (
                h.key.clone(),
                String::from_utf8_lossy(&h.raw_value).into_owned(),
            )
        })
        .collect()
}

fn removed(c: &CommonResponse) -> Vec<String> {
    c.header_mutation
        .iter()
        .flat_map(|m| m.remove_headers.clone())
        .collect()
}

#[tokio::test]
async fn routes_a_tool_call_to_its_backend() {
    let h = Harness::new(1 << 20);
    // A client that can be asked (sampling): its calls take the observed route, so the
    // response filter shows the router the response headers.
    let gw = h.session_with(json!({"sampling": {}})).await;
    let mut req = RequestState::default();
    let resp = h
        .send(
            &mut req,
            headers(&[
                (":method", "POST"),
                ("mcp-session-id", &gw),
                ("x-mcp-servername", "evil"),
                ("authorization", "Bearer secret"),
            ]),
        )
        .await;
    assert_eq!(
        removed(common(&resp)),
        [
            "x-mcp-servername",
            "x-mcp-observe",
            "mcp-method",
            "mcp-name"
        ],
        "client x-mcp-* headers are stripped, the routing ones always, and a 2025 request's \
         Mcp-Method and Mcp-Name"
    );

    let sent = r#"{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/call","params":{"name":"calc_add","arguments":{"a":2,"b":3,"z":"\u00e9"}}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let c = common(&resp);
    assert!(c.clear_route_cache);
    let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
    assert_eq!(set[":authority"], "calc.mcp.local");
    assert_eq!(set["mcp-session-id"], "backend-1");
    assert_eq!(set["mcp-protocol-version"], "2025-03-26");
    assert_eq!(set["x-mcp-method"], "tools/call");
    assert_eq!(set["x-mcp-servername"], "calc");
    assert_eq!(set["x-mcp-toolname"], "add");
    assert_eq!(set["x-mcp-observe"], "1");
    assert!(
        removed(c).contains(&"authorization".to_owned()),
        "credentials are not passed through"
    );
    let rewritten = new_body(c);
    let expected = sent.replace(r#""calc_add""#, r#""add""#);
    assert_eq!(rewritten, expected, "only the name's bytes change");
    assert_eq!(set["content-length"], expected.len().to_string());
    let md = resp.dynamic_metadata.as_ref().expect("metadata");
    assert!(md.fields.contains_key("mcp"));

    // The backend's session id never reaches the client.
    let resp = h
        .send(
            &mut req,
            Request::ResponseHeaders(http_headers(&[
                (":status", "200"),
                ("mcp-session-id", "backend-1"),
            ])),
        )
        .await;
    assert_eq!(
        set_headers(common(&resp)),
        [("mcp-session-id".to_owned(), gw.clone())]
    );

    // A client that cannot be asked: the plain route, where Envoy runs no response filter
    // (and drops the backend's session id itself).
    let plain = h.session().await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &plain)]),
    )
    .await;
    let resp = h.send(&mut req, body(sent)).await;
    let c = common(&resp);
    assert!(c.clear_route_cache);
    assert!(
        !set_headers(c).iter().any(|(k, _)| k == "x-mcp-observe"),
        "no response filter for this call"
    );
    let md = resp.dynamic_metadata.as_ref().expect("metadata");
    let fields = match &md.fields["mcp"].kind {
        Some(envoy_types::pb::google::protobuf::value::Kind::StructValue(s)) => &s.fields,
        other => panic!("mcp metadata is a struct, got {other:?}"),
    };
    assert!(fields.contains_key("server"));
    assert!(
        fields.contains_key("gateway_session"),
        "Envoy hands a lost backend session back with it (see handoff)"
    );
}

/// The Kubernetes charts run one ext_proc filter for both ways: the response headers come on
/// the request's own stream, without metadata, for every call, plain route or not.
#[tokio::test]
async fn one_filter_for_both_ways_maps_the_session_back_on_the_same_stream() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    h.send(
        &mut req,
        body(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"calc_add"}}"#),
    )
    .await;
    let on_this_stream = |status: &str| ProcessingRequest {
        request: Some(Request::ResponseHeaders(http_headers(&[
            (":status", status),
            ("mcp-session-id", "backend-1"),
        ]))),
        ..Default::default()
    };
    let resp = h.router.0.handle(&mut req, on_this_stream("200")).await;
    assert_eq!(
        set_headers(common(&resp)),
        [("mcp-session-id".to_owned(), gw.clone())],
        "the backend's session id never reaches the client"
    );
    let lost = h.router.0.handle(&mut req, on_this_stream("404")).await;
    let (status, err) = immediate(&lost);
    assert_eq!((status, err["id"].as_i64()), (200, Some(3)));

    // A broker request on such a stream: left alone.
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    h.send(
        &mut req,
        body(r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#),
    )
    .await;
    let resp = h.router.0.handle(&mut req, on_this_stream("200")).await;
    assert!(set_headers(common(&resp)).is_empty());
}

#[tokio::test]
async fn backend_losing_its_session_is_forgotten_and_reported() {
    let h = Harness::new(1 << 20);
    let gw = h.session_with(json!({"sampling": {}})).await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    h.send(
        &mut req,
        body(r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"calc_add"}}"#),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            Request::ResponseHeaders(http_headers(&[(":status", "404")])),
        )
        .await;
    let (status, err) = immediate(&resp);
    assert_eq!(status, 200);
    assert_eq!(err["id"], "a");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'calc'")
    );
    let (_, backend) = h
        .sessions
        .lookup(&gw, "calc")
        .await
        .expect("store")
        .expect("session");
    assert!(backend.is_none(), "the lost backend session is forgotten");
}

#[tokio::test]
async fn broker_requests_pass_untouched() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
        )
        .await;
    match &resp.response {
        Some(Response::RequestBody(b)) => assert!(b.response.is_none()),
        other => panic!("unexpected {other:?}"),
    }
    let resp = h
        .send(
            &mut req,
            Request::ResponseHeaders(http_headers(&[(":status", "200")])),
        )
        .await;
    assert!(set_headers(common(&resp)).is_empty());
}

/// Envoy picked a route from the client's own headers before the router ran: every headers
/// answer removes the headers backend routes match on, whether the client sent them or not
/// (a mutation Envoy needs to honour the clearing), and has Envoy pick the route again.
#[tokio::test]
async fn every_headers_answer_drops_client_routing_headers_and_reroutes() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    for client in [
        vec![(":method", "POST"), ("mcp-session-id", gw.as_str())],
        vec![
            (":method", "POST"),
            (":authority", "calc.mcp.local"),
            ("x-mcp-servername", "calc"),
            ("x-mcp-observe", "1"),
            ("x-mcp-toolname", "add"),
        ],
        vec![(":method", "GET"), ("mcp-session-id", gw.as_str())],
        vec![(":method", "DELETE"), ("mcp-session-id", gw.as_str())],
    ] {
        let mut req = RequestState::default();
        let resp = h.send(&mut req, headers(&client)).await;
        let c = common(&resp);
        assert!(c.clear_route_cache, "{client:?}");
        let removed = removed(c);
        for header in ["x-mcp-servername", OBSERVE_HEADER] {
            assert!(
                removed.iter().any(|r| r == header),
                "{client:?}: {removed:?}"
            );
        }
        if client.iter().any(|(k, _)| *k == "x-mcp-toolname") {
            assert!(removed.iter().any(|r| r == "x-mcp-toolname"), "{removed:?}");
        }
        assert!(set_headers(c).is_empty(), "{client:?}");
    }
}

#[tokio::test]
async fn bad_input_gets_json_rpc_errors() {
    let h = Harness::new(100);
    let gw = h.session().await;
    let cases: Vec<(Option<&str>, String, i32, i64)> = vec![
        (Some(&gw), "not json".into(), 400, -32700),
        (Some(&gw), r#"{"foo":1}"#.into(), 400, -32600),
        (Some(&gw), "[]".into(), 400, -32600),
        (
            Some(&gw),
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"ping","pad":"{}"}}"#,
                "x".repeat(100)
            ),
            413,
            -32600,
        ),
        (
            Some(&gw),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#.into(),
            200,
            -32602,
        ),
        (
            None,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#.into(),
            400,
            -32600,
        ),
    ];
    for (session, sent, status, code) in cases {
        let mut req = RequestState::default();
        let mut hs = vec![(":method", "POST")];
        if let Some(s) = session {
            hs.push(("mcp-session-id", s));
        }
        h.send(&mut req, headers(&hs)).await;
        let (got_status, err) = immediate(&h.send(&mut req, body(&sent)).await);
        assert_eq!(
            (got_status, err["error"]["code"].as_i64()),
            (status, Some(code)),
            "{sent}"
        );
    }
}

#[tokio::test]
async fn foreign_origins_and_unknown_versions_are_refused() {
    let h = Harness::new(1 << 20);
    let cases = [
        (("origin", "http://evil.example"), 403, -32600),
        (("mcp-protocol-version", "1999-01-01"), 400, -32022),
    ];
    for ((name, value), status, code) in cases {
        let mut req = RequestState::default();
        let (got, body) = immediate(
            &h.send(&mut req, headers(&[(":method", "GET"), (name, value)]))
                .await,
        );
        assert_eq!(got, status, "{name}: {value}");
        assert_eq!(body["error"]["code"], code);
    }
    // A POST's unknown version is answered with its id and the versions to retry with.
    let mut req = RequestState::default();
    let resp = h
        .send(
            &mut req,
            headers(&[(":method", "POST"), ("mcp-protocol-version", "2099-01-01")]),
        )
        .await;
    assert!(matches!(resp.response, Some(Response::RequestHeaders(_))));
    let (got, body) = immediate(
        &h.send(
            &mut req,
            body(r#"{"jsonrpc":"2.0","id":"v-1","method":"tools/list"}"#),
        )
        .await,
    );
    assert_eq!(got, 400);
    assert_eq!(body["id"], "v-1");
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(body["error"]["data"]["requested"], "2099-01-01");
    assert_eq!(
        body["error"]["data"]["supported"],
        serde_json::json!(mcp_gateway_protocol::versions::ALL)
    );
    let mut req = RequestState::default();
    let resp = h
        .send(
            &mut req,
            headers(&[
                (":method", "POST"),
                ("origin", "http://localhost:6274"),
                ("mcp-protocol-version", "2025-06-18"),
            ]),
        )
        .await;
    assert!(
        matches!(resp.response, Some(Response::RequestHeaders(_))),
        "loopback origin passes"
    );
}

#[tokio::test]
async fn unknown_and_ended_sessions_get_404() {
    let h = Harness::new(1 << 20);
    // forged id: rejected in the headers phase
    let mut req = RequestState::default();
    let (status, _) = immediate(
        &h.send(
            &mut req,
            headers(&[(":method", "POST"), ("mcp-session-id", "forged")]),
        )
        .await,
    );
    assert_eq!(status, 404);
    // valid signature but ended: rejected when routing
    let gw = h.session().await;
    h.sessions.remove(&gw).await.expect("remove");
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#),
        )
        .await;
    assert_eq!(immediate(&resp).0, 404);
}

#[tokio::test]
async fn unreachable_backend_is_named() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    h.sessions
        .remove_backend(&gw, "calc")
        .await
        .expect("remove backend");
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            body(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"calc_add"}}"#),
        )
        .await;
    let (status, err) = immediate(&resp);
    assert_eq!(status, 200);
    assert_eq!(err["id"], 7);
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("MCP server 'calc' is unavailable"),
        "{message}"
    );
}

/// The response filter's stream: Envoy shows the router a routed request's response on a
/// second ext_proc stream that knows only the `mcp` metadata the router set on the first.
#[tokio::test]
async fn responses_on_the_response_filter_stream_use_the_metadata() {
    use envoy_types::pb::google::protobuf::value;

    let h = Harness::new(1 << 20);
    // A client that can be asked: its calls take the observed route.
    let gw = h.session_with(json!({"sampling": {}})).await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            body(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"calc_add"}}"#),
        )
        .await;
    let md = resp.dynamic_metadata.expect("metadata");
    let Some(value::Kind::StructValue(mcp)) = md.fields["mcp"].kind.clone() else {
        panic!("mcp namespace")
    };
    let on_other_stream = |status: &str, session: Option<&str>| {
        let mut pairs = vec![(":status", status.to_owned())];
        pairs.extend(session.map(|s| ("mcp-session-id", s.to_owned())));
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ProcessingRequest {
            request: Some(Request::ResponseHeaders(http_headers(&pairs))),
            metadata_context: Some(Metadata {
                filter_metadata: [("mcp".to_owned(), mcp.clone())].into_iter().collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    let resp = h
        .router
        .0
        .handle(
            &mut RequestState::default(),
            on_other_stream("200", Some("backend-1")),
        )
        .await;
    assert_eq!(
        set_headers(common(&resp)),
        [("mcp-session-id".to_owned(), gw.clone())]
    );

    // A lost backend session there: forgotten, and the client told to retry, with its id.
    let lost = h
        .router
        .0
        .handle(&mut RequestState::default(), on_other_stream("404", None))
        .await;
    let (status, err) = immediate(&lost);
    assert_eq!((status, err["id"].as_i64()), (200, Some(5)));
    let (_, backend) = h
        .sessions
        .lookup(&gw, "calc")
        .await
        .expect("store")
        .expect("session");
    assert!(backend.is_none());

    // Without the router's metadata (a broker response) nothing changes.
    let plain = ProcessingRequest {
        request: Some(Request::ResponseHeaders(http_headers(&[(
            ":status", "404",
        )]))),
        ..Default::default()
    };
    let resp = h.router.0.handle(&mut RequestState::default(), plain).await;
    assert!(set_headers(common(&resp)).is_empty());
}

/// A client that can be asked (sampling): the backend's SSE response is streamed through the
/// router and the ids of server requests in it become gateway-unique.
#[tokio::test]
async fn server_requests_on_sse_responses_get_gateway_ids() {
    let h = Harness::new(1 << 20);
    let gw = h.session_with(json!({"sampling": {}})).await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    h.send(
        &mut req,
        body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            Request::ResponseHeaders(http_headers(&[
                (":status", "200"),
                ("content-type", "text/event-stream"),
            ])),
        )
        .await;
    assert!(
        resp.mode_override.is_some(),
        "the body is streamed through the router"
    );
    let chunk = "data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"sampling/createMessage\"}\n\n";
    let resp = h
        .send(
            &mut req,
            Request::ResponseBody(HttpBody {
                body: chunk.as_bytes().to_vec(),
                end_of_stream: false,
                ..Default::default()
            }),
        )
        .await;
    let out = new_body(common(&resp));
    assert!(out.contains(r#""id":"calc:0""#));

    // On the observed route, a JSON answer to a plain tools/call (no server requests can
    // ride on it, nothing to rewrite) is not streamed through the router.
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    h.send(
        &mut req,
        body(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"calc_add"}}"#),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            Request::ResponseHeaders(http_headers(&[
                (":status", "200"),
                ("content-type", "application/json"),
            ])),
        )
        .await;
    assert!(resp.mode_override.is_none(), "a JSON answer is left alone");
}

/// A GET resuming a backend's stream goes to that backend with its own event id; the
/// gateway's own ids (`g<n>`) stay with the broker.
#[tokio::test]
async fn stream_resumption_goes_back_to_the_backend() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    for (last, routed_to) in [
        ("calc~7/0", Some("7/0")),
        ("1/0", Some("1/0")),
        ("g3", None),
        ("weather~1", None),
    ] {
        let mut req = RequestState::default();
        let resp = h
            .send(
                &mut req,
                headers(&[
                    (":method", "GET"),
                    ("mcp-session-id", &gw),
                    ("last-event-id", last),
                ]),
            )
            .await;
        let c = common(&resp);
        let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
        match routed_to {
            Some(id) => {
                assert!(c.clear_route_cache, "{last}");
                assert_eq!(set[":authority"], "calc.mcp.local");
                assert_eq!(set["mcp-session-id"], "backend-1");
                assert_eq!(set["last-event-id"], id);
                assert!(resp.dynamic_metadata.is_some());
                // Watched even for a client that cannot be asked: a resumed stream may
                // carry task ids and event ids to rewrite.
                assert_eq!(set.get(OBSERVE_HEADER).map(String::as_str), Some("1"));
            }
            None => assert!(c.clear_route_cache && set.is_empty(), "{last}"),
        }
    }
}

/// What a client declaring `capabilities` leaves in its session record.
fn declared(capabilities: &serde_json::Value) -> ClientDeclaration {
    let raw = serde_json::value::to_raw_value(capabilities).expect("capabilities are JSON");
    ClientDeclaration::new(Some(&raw), None, &ClientLimits::default()).expect("within limits")
}

/// Sends `request` and says whether a stream carrying `phases` ends after the answer.
async fn ends_after(h: &Harness, req: &mut RequestState, phases: Phases, request: Request) -> bool {
    let msg = ProcessingRequest {
        request: Some(request.clone()),
        ..Default::default()
    };
    let seen = Seen::of(&msg);
    let out = h.send(req, request).await;
    phases.done_after(seen, &out)
}

/// With the bootstrap saying which phases reach a stream, the router ends it after the last
/// one (so a replica stopping later fails no call it routed); without, Envoy ends it.
#[tokio::test]
async fn streams_end_after_their_last_phase() {
    let h = Harness::new(1 << 20);
    let gw = h.session_with(json!({"sampling": {}})).await;
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#;
    let call_headers = || headers(&[(":method", "POST"), ("mcp-session-id", &gw)]);
    let sse = || {
        Request::ResponseHeaders(http_headers(&[
            (":status", "200"),
            ("content-type", "text/event-stream"),
        ]))
    };
    let json_answer = || {
        Request::ResponseHeaders(http_headers(&[
            (":status", "200"),
            ("content-type", "application/json"),
        ]))
    };
    let chunk = |end_of_stream| {
        Request::ResponseBody(HttpBody {
            body: b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n".to_vec(),
            end_of_stream,
            ..Default::default()
        })
    };

    for (phases, after_body) in [
        (Phases::Request, true),
        (Phases::Both, false),
        (Phases::Unknown, false),
        (Phases::Response, false),
    ] {
        let mut req = RequestState::default();
        assert!(!ends_after(&h, &mut req, phases, call_headers()).await);
        assert_eq!(
            ends_after(&h, &mut req, phases, body(call)).await,
            after_body,
            "{phases:?} after the request body"
        );
        // An SSE answer that may carry server requests: the router asked for the body, so
        // the stream lasts until its end.
        let expect_response_end = matches!(phases, Phases::Both | Phases::Response);
        assert!(!ends_after(&h, &mut req, phases, sse()).await);
        assert!(!ends_after(&h, &mut req, phases, chunk(false)).await);
        assert_eq!(
            ends_after(&h, &mut req, phases, chunk(true)).await,
            expect_response_end,
            "{phases:?} after the body's last chunk"
        );

        // A JSON answer: nothing to watch, so the headers are the last phase.
        let mut req = RequestState::default();
        ends_after(&h, &mut req, phases, call_headers()).await;
        ends_after(&h, &mut req, phases, body(call)).await;
        assert_eq!(
            ends_after(&h, &mut req, phases, json_answer()).await,
            expect_response_end,
            "{phases:?} after JSON response headers"
        );
    }

    // A refused request ends every stream that knows its phases.
    let mut req = RequestState::default();
    let unknown_session = headers(&[(":method", "POST"), ("mcp-session-id", "nope")]);
    assert!(ends_after(&h, &mut req, Phases::Request, unknown_session.clone()).await);
    let mut req = RequestState::default();
    assert!(!ends_after(&h, &mut req, Phases::Unknown, unknown_session).await);
}

#[test]
fn phases_come_from_the_filters_metadata() {
    for (value, phases) in [
        (Some(&b"request"[..]), Phases::Request),
        (Some(b"response"), Phases::Response),
        (Some(b"both"), Phases::Both),
        (Some(b"everything"), Phases::Unknown),
        (None, Phases::Unknown),
    ] {
        assert_eq!(Phases::from_metadata(value), phases);
    }
}
