//! What the router hands Envoy for its error bodies, and Envoy's hand-off of a backend's lost
//! session (`mcp_gateway_protocol::handoff`).

use mcp_gateway_protocol::handoff;

use super::*;

/// 2^53 + 1: a double cannot hold it.
const BIG_ID: &str = "9007199254740993";

fn metadata_string<'a>(resp: &'a ProcessingResponse, key: &str) -> Option<&'a str> {
    let mcp = resp.dynamic_metadata.as_ref()?.fields.get("mcp")?;
    let Some(value::Kind::StructValue(mcp)) = &mcp.kind else {
        return None;
    };
    match mcp.fields.get(key)?.kind.as_ref()? {
        value::Kind::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The hand-off Envoy sends after `server`'s 404 to a request of `gateway` that carried
/// `backend` as its session.
fn hand_off(server: &str, gateway: &str, backend: &str, id: &str) -> Request {
    headers(&[
        (":method", "GET"),
        (":path", handoff::SESSION_LOST_PATH),
        (handoff::LOST_SERVER_HEADER, server),
        (handoff::LOST_GATEWAY_SESSION_HEADER, gateway),
        (handoff::LOST_REQUEST_ID_HEADER, id),
        ("mcp-session-id", backend),
    ])
}

async fn backend_of(h: &Harness, gateway: &str) -> Option<Arc<BackendSession>> {
    let (_, backend) = h
        .sessions
        .lookup(gateway, "calc")
        .await
        .expect("store")
        .expect("session");
    backend
}

#[tokio::test]
async fn a_routed_call_names_its_exact_id_and_session_for_envoy() {
    let h = Harness::new(1 << 20);
    // A client that can be asked nothing: the route without the response filter.
    let gw = h.session().await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let call = format!(
        r#"{{"jsonrpc":"2.0","id":{BIG_ID},"method":"tools/call","params":{{"name":"calc_add"}}}}"#
    );
    let resp = h.send(&mut req, body(&call)).await;
    assert_eq!(
        metadata_string(&resp, handoff::REQUEST_ID_JSON_KEY),
        Some(BIG_ID)
    );
    assert_eq!(metadata_string(&resp, "gateway_session"), Some(gw.as_str()));
}

#[tokio::test]
async fn the_hand_off_forgets_the_backend_session_and_asks_to_retry() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = RequestState::default();
    let resp = h
        .send(&mut req, hand_off("calc", &gw, "backend-1", BIG_ID))
        .await;
    let (status, err) = immediate(&resp);
    assert_eq!(status, 200);
    assert_eq!(err["id"], json!(9_007_199_254_740_993_u64));
    assert_eq!(err["error"]["code"], -32603);
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'calc'") && message.contains("retry"),
        "{err}"
    );
    assert!(backend_of(&h, &gw).await.is_none(), "forgotten");
}

#[tokio::test]
async fn a_hand_off_without_the_backend_session_id_forgets_nothing() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    // A client sending the hand-off itself knows only its gateway session.
    for backend in [gw.as_str(), "backend-2", ""] {
        let mut req = RequestState::default();
        let resp = h.send(&mut req, hand_off("calc", &gw, backend, "{}")).await;
        let (status, err) = immediate(&resp);
        assert_eq!(status, 200);
        assert_eq!(err["id"], Value::Null, "not an id: answered with null");
        assert!(backend_of(&h, &gw).await.is_some(), "kept for {backend:?}");
    }
    // A forged gateway session is not even looked up.
    let mut req = RequestState::default();
    let resp = h
        .send(&mut req, hand_off("calc", "forged", "backend-1", "1"))
        .await;
    assert_eq!(immediate(&resp).0, 404);
    assert!(backend_of(&h, &gw).await.is_some());
}

/// Where the router sees a routed call's answer (the observed route, or the Kubernetes
/// charts' single filter), an error status without JSON-RPC becomes a JSON-RPC error that
/// answers the client's exact id; JSON and SSE answers pass.
#[tokio::test]
async fn a_watched_answer_that_is_not_json_rpc_becomes_an_error_with_the_exact_id() {
    let h = Harness::new(1 << 20);
    let gw = h.session_with(json!({"sampling": {}})).await;
    let call = format!(
        r#"{{"jsonrpc":"2.0","id":{BIG_ID},"method":"tools/call","params":{{"name":"calc_add"}}}}"#
    );
    for (status, content_type, mapped) in [
        ("415", "text/plain", true),
        ("500", "", true),
        ("400", "application/json", false),
        ("503", "text/event-stream", false),
        ("200", "text/plain", false),
    ] {
        let mut req = RequestState::default();
        h.send(
            &mut req,
            headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
        )
        .await;
        h.send(&mut req, body(&call)).await;
        // The response filter's own stream: the router knows the call from the metadata.
        let mut stream = RequestState::default();
        let answer = http_headers(&[(":status", status), ("content-type", content_type)]);
        let resp = h.send(&mut stream, Request::ResponseHeaders(answer)).await;
        if !mapped {
            assert!(
                matches!(resp.response, Some(Response::ResponseHeaders(_))),
                "{status} {content_type}: passes"
            );
            continue;
        }
        let (code, err) = immediate(&resp);
        assert_eq!(code, 200);
        assert_eq!(err["id"], json!(9_007_199_254_740_993_u64), "{status}");
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("'calc'") && message.contains(status),
            "{err}"
        );
    }
}

const AUTH_CONFIG: &str = r#"
servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.mcp.local
    toolPrefix: calc_
auth:
  resource: http://gw.example/mcp
  issuers:
  - issuer: http://idp.example
    jwksUri: http://idp.example/jwks
"#;

/// A session bound to `subject` (auth on), with backend session `backend-1` on calc.
async fn bound_session(h: &Harness, subject: &str) -> String {
    let id = h.ids.mint(Some(subject));
    let record = SessionRecord {
        protocol_version: "2025-06-18".into(),
        client: declared(&json!({})),
        subject: Some(subject.to_owned()),
        expires: SystemTime::now() + Duration::from_secs(60),
    };
    h.sessions.insert(&id, record).await.expect("insert");
    let backend = BackendSession {
        session_id: Some("backend-1".into()),
        protocol_version: "2025-03-26".into(),
        capabilities: json!({}),
        server_info: json!({}),
        instructions: None,
    };
    h.sessions
        .set_backend(&id, "calc", Arc::new(backend))
        .await
        .expect("set");
    id
}

/// With auth on, Envoy's hand-off carries no caller (the router removed the client's token
/// before the backend): the session is checked against the subject on record, once the
/// hand-off names the backend session on record.
#[tokio::test]
async fn with_auth_on_a_hand_off_without_a_caller_is_checked_against_the_record() {
    let h = Harness::with_config(1 << 20, AUTH_CONFIG);
    let gw = bound_session(&h, "18:http://idp.examplealice").await;
    let mut req = RequestState::default();
    let resp = h
        .send(&mut req, hand_off("calc", &gw, "backend-1", "7"))
        .await;
    let (status, err) = immediate(&resp);
    assert_eq!(status, 200, "{err}");
    assert_eq!(err["error"]["code"], -32603, "{err}");
    assert_eq!(err["id"], json!(7));
    assert!(backend_of(&h, &gw).await.is_none(), "forgotten");
}

/// Without the backend's own session id, a hand-off with no caller learns and changes
/// nothing about a bound session: it is answered as for an unknown session.
#[tokio::test]
async fn with_auth_on_a_forged_hand_off_is_an_unknown_session() {
    let h = Harness::with_config(1 << 20, AUTH_CONFIG);
    let gw = bound_session(&h, "18:http://idp.examplealice").await;
    for backend in [gw.as_str(), "backend-2", ""] {
        let mut req = RequestState::default();
        let resp = h.send(&mut req, hand_off("calc", &gw, backend, "7")).await;
        let (status, err) = immediate(&resp);
        assert_eq!(status, 404, "{backend:?}: {err}");
        assert!(backend_of(&h, &gw).await.is_some(), "kept for {backend:?}");
    }
}

/// A stream from the standalone bootstrap's ext_proc filter: its backend clusters set the
/// session id upstream and replay refused calls.
fn upstream_stream() -> RequestState {
    let mut req = RequestState::default();
    req.ctx.set_upstream_sessions(true);
    req
}

fn set_of(resp: &ProcessingResponse) -> std::collections::HashMap<String, String> {
    set_headers(common(resp)).into_iter().collect()
}

/// Envoy's replay of a call to calc whose backend session `refused` the backend refused.
fn replay_headers(gateway: &str, refused: &str) -> Request {
    headers(&[
        (":method", "POST"),
        ("mcp-session-id", refused),
        (handoff::REFUSED_SESSION_HEADER, refused),
        (handoff::REPLAY_SERVER_HEADER, "calc"),
        (handoff::REPLAY_SESSION_HEADER, gateway),
    ])
}

/// The body as the backend got it: the name is already the server's.
const REPLAYED_BODY: &str =
    r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"add"}}"#;

#[tokio::test]
async fn where_envoy_replays_the_backend_session_goes_in_the_internal_header() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = upstream_stream();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#;
    let set = set_of(&h.send(&mut req, body(call)).await);
    assert_eq!(set[handoff::BACKEND_SESSION_HEADER], "backend-1");
    assert!(
        !set.contains_key("mcp-session-id"),
        "the client's session id stays on its request: {set:?}"
    );
    assert!(!set.contains_key(handoff::REPLAYED_HEADER));
}

/// A genuine replay (it names the backend session on record) forgets that session and is
/// routed again to the same server, the body as it is; opening the new backend session
/// fails here (nothing listens), which the client is told about.
#[tokio::test]
async fn a_replay_forgets_the_refused_session_and_routes_the_body_again() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = upstream_stream();
    let resp = h.send(&mut req, replay_headers(&gw, "backend-1")).await;
    let removed = removed(common(&resp));
    for header in [
        handoff::REFUSED_SESSION_HEADER,
        handoff::REPLAY_SERVER_HEADER,
        handoff::REPLAY_SESSION_HEADER,
    ] {
        assert!(removed.contains(&header.to_owned()), "{header} removed");
    }
    assert!(backend_of(&h, &gw).await.is_none(), "forgotten");
    let (_, err) = immediate(&h.send(&mut req, body(REPLAYED_BODY)).await);
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("'calc'"), "routed to calc: {err}");
    assert!(!message.contains("unknown tool"), "{err}");
}

/// A replay that does not name the backend session on record (another replay got there
/// first, or a client sent the headers): nothing forgotten, an ordinary call to that server
/// on the session's current backend session, marked as a replay (not replayed again).
#[tokio::test]
async fn a_replay_without_the_refused_session_forgets_nothing() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = upstream_stream();
    h.send(&mut req, replay_headers(&gw, "backend-0")).await;
    assert!(backend_of(&h, &gw).await.is_some(), "kept");
    let set = set_of(&h.send(&mut req, body(REPLAYED_BODY)).await);
    assert_eq!(set[handoff::BACKEND_SESSION_HEADER], "backend-1");
    assert_eq!(set[handoff::REPLAYED_HEADER], "1");
    assert_eq!(set["x-mcp-toolname"], "add");
}

/// Where Envoy does not replay (no metadata on the stream), the replay headers are only
/// removed: the call is an ordinary one, by the name it carries.
#[tokio::test]
async fn without_replays_the_headers_change_nothing() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    let mut req = RequestState::default();
    let mut hs = replay_headers(&gw, "backend-1");
    if let Request::RequestHeaders(http) = &mut hs
        && let Some(map) = http.headers.as_mut()
    {
        for header in &mut map.headers {
            if header.key == "mcp-session-id" {
                header.raw_value = gw.as_bytes().to_vec();
            }
        }
    }
    h.send(&mut req, hs).await;
    assert!(backend_of(&h, &gw).await.is_some(), "kept");
    let (_, err) = immediate(&h.send(&mut req, body(REPLAYED_BODY)).await);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("add"),
        "an unknown name: {err}"
    );
}
