//! Virtual servers through the ext_proc router: the endpoint's subset on calls, sessions bound
//! to their endpoint, unknown names, and Envoy's hand-off of a lost backend session for a
//! session opened on a virtual server.

use mcp_gateway_config::session_binding;
use mcp_gateway_protocol::handoff;

use super::*;

const WITH_VIRTUAL: &str = r#"
servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.mcp.local
    toolPrefix: calc_
virtualServers:
  - {name: adding, tools: [calc_add]}
  - {name: prompting, prompts: [calc_explain]}
"#;

const CALL_ADD: &str =
    r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"calc_add"}}"#;

/// A live session opened on the virtual server `name`, with backend session `backend-1`.
async fn session_on(h: &Harness, name: &str) -> String {
    let binding = session_binding(None, Some(name));
    let id = h.ids.mint(binding.as_deref());
    let record = SessionRecord {
        protocol_version: "2025-06-18".into(),
        client: declared(&json!({})),
        subject: binding,
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

/// The router's answer to `CALL_ADD` on `path` with `session`: `Ok(())` when routed, else
/// the immediate answer's status and body.
async fn call_add(h: &Harness, path: &str, session: &str) -> Result<(), (i32, Value)> {
    let mut req = RequestState::default();
    let resp = h
        .send(
            &mut req,
            headers(&[(":path", path), ("mcp-session-id", session)]),
        )
        .await;
    if matches!(resp.response, Some(Response::ImmediateResponse(_))) {
        return Err(immediate(&resp));
    }
    let resp = h.send(&mut req, body(CALL_ADD)).await;
    if matches!(resp.response, Some(Response::ImmediateResponse(_))) {
        return Err(immediate(&resp));
    }
    Ok(())
}

#[tokio::test]
async fn calls_and_sessions_stay_on_their_endpoint() {
    let h = Harness::with_config(1 << 20, WITH_VIRTUAL);
    let adding = session_on(&h, "adding").await;
    assert_eq!(call_add(&h, "/v/adding/mcp", &adding).await, Ok(()));

    // Elsewhere, the session is unknown: the answer to a made-up one.
    let (forged_status, forged) = call_add(&h, "/mcp", "made-up").await.expect_err("404");
    assert_eq!(forged_status, 404);
    for path in ["/mcp", "/v/prompting/mcp"] {
        let (status, answer) = call_add(&h, path, &adding).await.expect_err(path);
        assert_eq!((status, &answer), (forged_status, &forged), "{path}");
    }

    // Outside the subset: the error of a tool nobody offers.
    let prompting = session_on(&h, "prompting").await;
    let (status, answer) = call_add(&h, "/v/prompting/mcp", &prompting)
        .await
        .expect_err("outside the subset");
    assert_eq!(status, 200);
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["error"]["code"], -32602);
    assert_eq!(answer["error"]["message"], "unknown tool \"calc_add\"");

    let (status, answer) = call_add(&h, "/v/nope/mcp", &adding)
        .await
        .expect_err("unknown virtual server");
    assert_eq!(status, 404);
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no virtual server named \"nope\""),
        "{message}"
    );
}

#[tokio::test]
async fn a_lost_backend_session_of_a_virtual_server_session_is_retryable() {
    let h = Harness::with_config(1 << 20, WITH_VIRTUAL);
    let adding = session_on(&h, "adding").await;
    // Envoy's hand-off comes on its own path: the endpoint is known from the record.
    let mut req = RequestState::default();
    let resp = h
        .send(
            &mut req,
            headers(&[
                (":method", "GET"),
                (":path", handoff::SESSION_LOST_PATH),
                (handoff::LOST_SERVER_HEADER, "calc"),
                (handoff::LOST_GATEWAY_SESSION_HEADER, &adding),
                (handoff::LOST_REQUEST_ID_HEADER, "7"),
                ("mcp-session-id", "backend-1"),
            ]),
        )
        .await;
    let (status, answer) = immediate(&resp);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    let (_, backend) = h
        .sessions
        .lookup(&adding, "calc")
        .await
        .expect("store")
        .expect("session");
    assert!(backend.is_none(), "the lost backend session is forgotten");
}
