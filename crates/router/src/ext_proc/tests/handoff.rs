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
