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

const WITH_SECRET: &str = r#"
servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.mcp.local
    toolPrefix: calc_
  - name: secret
    url: http://127.0.0.1:1/mcp
    hostname: secret.mcp.local
    toolPrefix: secret_
virtualServers:
  - {name: adding, tools: [calc_add]}
"#;

/// A session on `adding` that also has a backend session on `secret` (as if opened on
/// `/mcp` before): whatever reaches `secret` is routed, nothing fails for want of one.
async fn adding_with_secret(h: &Harness) -> String {
    let adding = session_on(h, "adding").await;
    let backend = BackendSession {
        session_id: Some("secret-1".into()),
        protocol_version: "2025-03-26".into(),
        capabilities: json!({}),
        server_info: json!({}),
        instructions: None,
    };
    h.sessions
        .set_backend(&adding, "secret", Arc::new(backend))
        .await
        .expect("set");
    adding
}

/// The router's answer to `body` on `/v/adding/mcp` with `extra` headers, where Envoy
/// replays: `Ok(set headers)` when routed, else the immediate answer.
async fn on_adding(
    h: &Harness,
    session: &str,
    extra: &[(&str, &str)],
    call: &str,
) -> Result<std::collections::HashMap<String, String>, (i32, Value)> {
    let mut req = RequestState::default();
    req.ctx.set_upstream_sessions(true);
    let mut all = vec![
        (":method", "POST"),
        (":path", "/v/adding/mcp"),
        ("mcp-session-id", session),
    ];
    all.extend_from_slice(extra);
    let resp = h.send(&mut req, headers(&all)).await;
    if matches!(resp.response, Some(Response::ImmediateResponse(_))) {
        return Err(immediate(&resp));
    }
    let resp = h.send(&mut req, body(call)).await;
    match &resp.response {
        Some(Response::ImmediateResponse(_)) => Err(immediate(&resp)),
        Some(Response::RequestBody(b)) => Ok(b
            .response
            .as_ref()
            .map(set_headers)
            .unwrap_or_default()
            .into_iter()
            .collect()),
        other => panic!("unexpected {other:?}"),
    }
}

/// A client of a virtual server sending the replay headers itself (its own session as the
/// replay's) does not reach a server outside the subset: a replay that does not name the
/// backend session on record is never routed by its headers.
#[tokio::test]
async fn forged_replay_headers_do_not_leave_the_virtual_server() {
    let h = Harness::with_config(1 << 20, WITH_SECRET);
    let adding = adding_with_secret(&h).await;
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"hidden"}}"#;
    for refused in ["x", "backend-1", "secret-1"] {
        let forged = [
            (handoff::REPLAY_SERVER_HEADER, "secret"),
            (handoff::REFUSED_SESSION_HEADER, refused),
            (handoff::REPLAY_SESSION_HEADER, adding.as_str()),
        ];
        let answer = on_adding(&h, &adding, &forged, call).await;
        assert!(answer.is_err(), "{refused}: routed {answer:?}");
    }
    // The session's own call is still routed.
    let routed = on_adding(&h, &adding, &[], CALL_ADD).await.expect("routed");
    assert_eq!(routed["x-mcp-toolname"], "add");
}

/// Task ids and responses to server requests name their server: on a virtual server, only
/// one it touches.
#[tokio::test]
async fn task_ids_and_responses_stay_on_the_virtual_server() {
    let h = Harness::with_config(1 << 20, WITH_SECRET);
    let adding = adding_with_secret(&h).await;
    let task = r#"{"jsonrpc":"2.0","id":7,"method":"tasks/get","params":{"taskId":"secret:t1"}}"#;
    let (_, answer) = on_adding(&h, &adding, &[], task)
        .await
        .expect_err("not routed");
    assert_eq!(answer["error"]["message"], "unknown task \"secret:t1\"");
    let task = r#"{"jsonrpc":"2.0","id":7,"method":"tasks/get","params":{"taskId":"calc:t1"}}"#;
    let routed = on_adding(&h, &adding, &[], task).await.expect("routed");
    assert!(
        routed.contains_key(handoff::BACKEND_SESSION_HEADER),
        "{routed:?}"
    );
    // A response to a request `secret` sent: as an id the gateway did not issue (the broker's).
    for (server, routed) in [("secret", false), ("calc", true)] {
        let id = mcp_gateway_protocol::server_request::encode(server, "1");
        let response = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#);
        let set = on_adding(&h, &adding, &[], &response)
            .await
            .expect("no error");
        assert_eq!(
            set.contains_key(handoff::BACKEND_SESSION_HEADER),
            routed,
            "{server}: {set:?}"
        );
    }
}

/// Envoy's genuine replay of a virtual server session's call comes on `/mcp`: it is routed
/// again within the session's subset, known from the record.
#[tokio::test]
async fn a_genuine_replay_stays_in_the_sessions_subset() {
    let h = Harness::with_config(1 << 20, WITH_VIRTUAL);
    for (virtual_server, in_subset) in [("adding", true), ("prompting", false)] {
        let adding = session_on(&h, virtual_server).await;
        let mut req = RequestState::default();
        req.ctx.set_upstream_sessions(true);
        let replay = headers(&[
            (":method", "POST"),
            ("mcp-session-id", "backend-1"),
            (handoff::REFUSED_SESSION_HEADER, "backend-1"),
            (handoff::REPLAY_SERVER_HEADER, "calc"),
            (handoff::REPLAY_SESSION_HEADER, &adding),
        ]);
        h.send(&mut req, replay).await;
        let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add"}}"#;
        let (_, err) = immediate(&h.send(&mut req, body(call)).await);
        let message = err["error"]["message"].as_str().unwrap_or_default();
        // In the subset it is routed to calc, whose new backend session cannot be opened
        // here (nothing listens).
        assert_eq!(
            message.contains("unknown tool \"calc_add\""),
            !in_subset,
            "{virtual_server}: {err}"
        );
        let routed = message.contains("'calc' is unavailable");
        assert_eq!(routed, in_subset, "{virtual_server}: {err}");
    }
}
