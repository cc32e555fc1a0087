//! MCP 2026-07-28 requests through the ext_proc router: no session, the gateway's held
//! backend session, `Mcp-Name` rewritten with the body, the envelope kept from the 2025
//! backend, the backend's session id kept from the client, `resultType` added to the answer.

use mcp_gateway_protocol::asks::AskClass;
use mcp_gateway_routing::held;

use super::*;

/// The held session of anonymous clients declaring nothing, with backend session
/// `backend-1` on calc.
async fn held_session(h: &Harness) -> String {
    hold(h, held::key(None, AskClass::NONE), None, "backend-1").await
}

/// The held session `key` (of `binding`), with backend session `backend` on calc.
async fn hold(h: &Harness, key: String, binding: Option<String>, backend: &str) -> String {
    let record = SessionRecord {
        protocol_version: "2025-11-25".into(),
        client: declared(&json!({})),
        subject: binding,
        expires: SystemTime::now() + Duration::from_secs(60),
    };
    h.sessions.insert(&key, record).await.expect("insert");
    let backend = BackendSession {
        session_id: Some(backend.into()),
        protocol_version: "2025-11-25".into(),
        capabilities: json!({}),
        server_info: json!({}),
        instructions: None,
    };
    h.sessions
        .set_backend(&key, "calc", Arc::new(backend))
        .await
        .expect("set");
    key
}

/// Sends, as Envoy would, the headers of a 2026-07-28 `tools/call` of `name` on `path`.
async fn send_2026_headers(h: &Harness, req: &mut RequestState, path: &str, name: &str) {
    h.send(
        req,
        headers(&[
            (":method", "POST"),
            (":path", path),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", name),
        ]),
    )
    .await;
}

#[tokio::test]
async fn a_2026_call_is_routed_on_the_held_session_and_its_answer_stamped() {
    let h = Harness::new(1 << 20);
    held_session(&h).await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[
            (":method", "POST"),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "calc_add"),
            // Ignored on a 2026-07-28 request, as the spec asks.
            ("mcp-session-id", "not-a-session"),
        ]),
    )
    .await;
    let sent = r#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"calc_add","arguments":{"b":1,"a":2},"_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let c = common(&resp);
    let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
    assert_eq!(set["mcp-name"], "add", "Mcp-Name follows the spliced name");
    assert_eq!(set["mcp-session-id"], "backend-1");
    assert_eq!(set["mcp-protocol-version"], "2025-11-25");
    assert_eq!(set["x-mcp-observe"], "1", "the answer is stamped");
    let rewritten = new_body(c);
    assert_eq!(
        rewritten,
        r#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"add","arguments":{"b":1,"a":2},"_meta":{"progressToken":"p"}}}"#,
        "the name spliced, the envelope out of _meta, every other byte kept"
    );

    let resp = h
        .send(
            &mut req,
            Request::ResponseHeaders(http_headers(&[
                (":status", "200"),
                ("mcp-session-id", "backend-1"),
                ("content-type", "application/json"),
            ])),
        )
        .await;
    let c = common(&resp);
    assert!(set_headers(c).is_empty(), "no session id for the client");
    assert!(removed(c).contains(&"mcp-session-id".to_owned()));
    let answer = r#"{"jsonrpc":"2.0","id":9007199254740993,"result":{"content":[{"type":"text","text":"3"}],"isError":false}}"#;
    let resp = h
        .send(
            &mut req,
            Request::ResponseBody(HttpBody {
                body: answer.as_bytes().to_vec(),
                end_of_stream: true,
                ..Default::default()
            }),
        )
        .await;
    let out = new_body(common(&resp));
    assert_eq!(
        out,
        answer.replace(r#""result":{"#, r#""result":{"resultType":"complete","#)
    );
}

#[tokio::test]
async fn a_2026_call_whose_headers_disagree_is_refused_with_its_id() {
    let h = Harness::new(1 << 20);
    held_session(&h).await;
    let mut req = RequestState::default();
    send_2026_headers(&h, &mut req, "/mcp", "calc_subtract").await;
    let sent = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"calc_add","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let (status, error) = immediate(&h.send(&mut req, body(sent)).await);
    assert_eq!(status, 400);
    assert_eq!(error["id"], 4);
    assert_eq!(error["error"]["code"], -32020);
}

/// The backend session a 2026-07-28 call of `calc_add` on `path` is routed with.
async fn held_backend_of(h: &Harness, path: &str) -> String {
    let mut req = RequestState::default();
    send_2026_headers(h, &mut req, path, "calc_add").await;
    let sent = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let set: std::collections::HashMap<_, _> = set_headers(common(&resp)).into_iter().collect();
    set["mcp-session-id"].clone()
}

#[tokio::test]
async fn held_sessions_are_bound_to_their_endpoint() {
    let h = Harness::with_config(
        1 << 20,
        r#"
servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.mcp.local
    toolPrefix: calc_
virtualServers:
  - {name: adding, tools: [calc_add]}
"#,
    );
    held_session(&h).await;
    let binding = mcp_gateway_config::session_binding(None, Some("adding"));
    let key = held::key(binding.as_deref(), AskClass::NONE);
    assert_ne!(key, held::key(None, AskClass::NONE));
    hold(&h, key, binding, "backend-2").await;
    // The same anonymous caller and class, two endpoints: two backend sessions.
    assert_eq!(held_backend_of(&h, "/mcp").await, "backend-1");
    assert_eq!(held_backend_of(&h, "/v/adding/mcp").await, "backend-2");
}

#[tokio::test]
async fn a_2026_name_goes_on_in_its_canonical_form() {
    // No prefix: the name is not rewritten, yet an operator's exact match on Mcp-Name (Envoy
    // RBAC, rate limits) must see `add`, not the Base64 form the client chose.
    let h = Harness::with_config(
        1 << 20,
        r#"
servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.mcp.local
    toolPrefix: ""
"#,
    );
    held_session(&h).await;
    let mut req = RequestState::default();
    send_2026_headers(&h, &mut req, "/mcp", "=?base64?YWRk?=").await;
    let sent = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let set: std::collections::HashMap<_, _> = set_headers(common(&resp)).into_iter().collect();
    assert_eq!(set["mcp-session-id"], "backend-1");
    assert_eq!(set["mcp-name"], "add");
    assert_eq!(set["mcp-method"], "tools/call");
}

#[tokio::test]
async fn a_2025_request_forwards_no_mcp_method_or_name() {
    // Unchecked on a request of a 2025 session: never forwarded to Envoy's later filters or
    // the backend.
    let h = Harness::new(1 << 20);
    let session = h.session().await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[
            (":method", "POST"),
            ("mcp-session-id", &session),
            ("mcp-method", "ping"),
            ("mcp-name", "calc_subtract"),
        ]),
    )
    .await;
    let resp = h
        .send(
            &mut req,
            body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#),
        )
        .await;
    let c = common(&resp);
    let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
    assert_eq!(set["mcp-session-id"], "backend-1", "routed");
    assert!(!set.contains_key("mcp-name") && !set.contains_key("mcp-method"));
    let removed = removed(c);
    assert!(removed.contains(&"mcp-method".to_owned()), "{removed:?}");
    assert!(removed.contains(&"mcp-name".to_owned()), "{removed:?}");
}

/// A call the broker carries (MRTR: the client can be asked) shows Envoy's filters after the
/// router the same method and tool as a routed call, and the server in the broker's header,
/// so an RBAC rule on them holds whichever way the call goes.
#[tokio::test]
async fn a_call_for_the_broker_names_its_server_tool_and_method() {
    let h = Harness::new(1 << 20);
    let class = AskClass::of_json(r#"{"elicitation":{}}"#);
    hold(&h, held::key(None, class), None, "backend-1").await;
    let mut req = RequestState::default();
    send_2026_headers(&h, &mut req, "/mcp", "calc_add").await;
    let sent = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let c = common(&resp);
    let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
    assert_eq!(
        set[mcp_gateway_protocol::transport::MRTR_SERVER],
        "calc",
        "{set:?}"
    );
    assert_eq!(
        set[mcp_gateway_protocol::transport::ROUTED_TOOL],
        "add",
        "{set:?}"
    );
    assert_eq!(
        set[mcp_gateway_protocol::transport::ROUTED_METHOD],
        "tools/call",
        "{set:?}"
    );
    assert!(removed(c).contains(&mcp_gateway_protocol::transport::ROUTED_SERVER.to_owned()));
}
