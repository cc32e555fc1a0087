//! The broker serves each caller the lists of its policy view: callers the router vouches
//! for (`x-mcp-caller`) see only what the config's `policy:` lets them use, callers of one
//! class share one cached view, and a caller no rule allows anything sees empty lists.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use mcp_gateway_broker::{BrokerState, OAuthMetadata, Streams, app};
use mcp_gateway_catalog::{CatalogStore, ListKind, ServerOffer};
use mcp_gateway_config::{Config, ConfigStore};
use mcp_gateway_credentials::BackendCredentials;
use mcp_gateway_identity::{CALLER_HEADER, Caller};
use mcp_gateway_protocol::{Limits, origin::OriginPolicy};
use mcp_gateway_session::{BackendSessions, ClientLimits, MemoryStore, SessionIds, SessionKey};
use mcp_gateway_upstream::UpstreamClient;
use serde_json::{Value, json};
use tower::ServiceExt;

const CONFIG: &str = "
servers:
- {name: calc, url: 'http://calc.test/mcp', toolPrefix: calc_}
- {name: text, url: 'http://text.test/mcp', toolPrefix: text_}
auth:
  resource: http://gateway.test/mcp
  issuers:
  - {issuer: 'https://idp.test', jwksUri: 'https://idp.test/jwks'}
policy:
  rules:
  - name: alice-all
    when: {clientIds: [alice]}
    allow: {servers: ['*']}
  - name: bob-calc
    when: {clientIds: [bob]}
    allow: {tools: ['calc_*'], prompts: ['calc_*'], resources: ['*calc_*']}
    deny: {tools: [calc_divide]}
";

fn state() -> Arc<BrokerState> {
    let config = ConfigStore::new(Config::from_yaml(CONFIG).expect("valid config"));
    let catalog = Arc::new(CatalogStore::new());
    for (server, tools) in [("calc", ["add", "divide"]), ("text", ["upper", "lower"])] {
        // In ListKind order: tools, prompts, resources, templates.
        let lists = [
            tools
                .iter()
                .map(|t| json!({"name": t, "inputSchema": {"type": "object"}}))
                .collect(),
            vec![json!({"name": "explain"})],
            vec![json!({"uri": "file:///notes.txt", "name": "notes"})],
            vec![json!({"uriTemplate": "file:///{path}", "name": "files"})],
        ];
        let caps = json!({"tools": {}, "prompts": {}, "resources": {}});
        catalog.update(
            server,
            ServerOffer::healthy(&format!("{server}_"), caps, lists),
        );
    }
    let upstream = UpstreamClient::new(Duration::from_secs(1)).expect("HTTP client");
    let backends = Arc::new(BackendSessions::new(Arc::new(MemoryStore::new()), upstream));
    Arc::new(BrokerState {
        config,
        catalog,
        backends,
        ids: SessionIds::new(SessionKey::random(), Duration::from_secs(60)),
        session_lifetime: Duration::from_secs(60),
        client_limits: ClientLimits::default(),
        oauth: OAuthMetadata::from_vars(|_| None),
        max_request_bytes: 1 << 20,
        list_page_size: 0,
        streams: Streams::default(),
        json_limits: Limits::default(),
        origins: OriginPolicy::parse(""),
        credentials: BackendCredentials::new(Duration::from_secs(1)).expect("HTTP client"),
        mrtr: Default::default(),
        input_asks: Default::default(),
    })
}

/// What the router would say about a caller whose token names `client`.
fn caller(client: &str) -> String {
    let claims = json!({"iss": "https://idp.test", "sub": client, "client_id": client});
    Caller::from_claims(claims).expect("claims").to_forwarded()
}

async fn post(
    state: &Arc<BrokerState>,
    caller: &str,
    session: Option<&str>,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header(CALLER_HEADER, caller);
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-06-18");
    }
    let request = request.body(Body::from(body.to_string())).expect("request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, session, value)
}

/// A session of the caller `forwarded`.
async fn initialize(state: &Arc<BrokerState>, forwarded: &str) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}});
    let (status, session, answer) = post(state, forwarded, None, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    session.expect("a session id")
}

/// Names (or URIs) of one list, as `forwarded` sees it.
async fn names(
    state: &Arc<BrokerState>,
    forwarded: &str,
    session: &str,
    kind: ListKind,
) -> BTreeSet<String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": kind.method()});
    let (status, _, answer) = post(state, forwarded, Some(session), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let key = match kind {
        ListKind::Tools | ListKind::Prompts => "name",
        ListKind::Resources => "uri",
        ListKind::ResourceTemplates => "uriTemplate",
    };
    answer["result"][kind.item_key()]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|item| item[key].as_str().expect("a name").to_owned())
        .collect()
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn each_caller_lists_its_own_view() {
    let state = state();
    let (alice, bob, eve) = (caller("alice"), caller("bob"), caller("eve"));
    let alice_session = initialize(&state, &alice).await;
    let bob_session = initialize(&state, &bob).await;
    let eve_session = initialize(&state, &eve).await;

    let cases = [
        (
            ListKind::Tools,
            set(["calc_add", "calc_divide", "text_lower", "text_upper"]),
            set(["calc_add"]),
        ),
        (
            ListKind::Prompts,
            set(["calc_explain", "text_explain"]),
            set(["calc_explain"]),
        ),
        (
            ListKind::Resources,
            set(["file://calc_/notes.txt", "file://text_/notes.txt"]),
            set(["file://calc_/notes.txt"]),
        ),
        (
            ListKind::ResourceTemplates,
            set(["file://calc_/{path}", "file://text_/{path}"]),
            set(["file://calc_/{path}"]),
        ),
    ];
    for (kind, for_alice, for_bob) in cases {
        assert_eq!(
            names(&state, &alice, &alice_session, kind).await,
            for_alice,
            "alice"
        );
        assert_eq!(
            names(&state, &bob, &bob_session, kind).await,
            for_bob,
            "bob"
        );
        // No rule applies to eve: denied by default, she sees nothing.
        assert_eq!(
            names(&state, &eve, &eve_session, kind).await,
            set([]),
            "eve"
        );
    }
}
