//! MCP 2026-07-28 clients through Envoy against 2025-era backends (the rmcp example servers):
//! stateless requests routed with no session, `server/discover`, the lists and results
//! carrying what the revision requires, the `Mcp-Method` / `Mcp-Name` headers checked against
//! the body, and the backend sessions the gateway holds per (caller, capability class). Also
//! the official TypeScript SDK 2.x client, pinned to 2026-07-28 and in its default (2025) mode.

use anyhow::Result;
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, Mode, RawClient, Reply, ServerKind, TasksServer, eventually,
    http_client, run_client2,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";
const HEADER_MISMATCH: i64 = -32020;
const INVALID_PARAMS: i64 = -32602;
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// A request id of 2^53 + 1: a gateway that re-serialised it through a double would send back
/// 9007199254740992 (rmcp backends refuse ids beyond 64-bit signed integers).
const BIG_ID: &str = "9007199254740993";

/// calc and text, pinned to `protocol: legacy` (see [`pin_legacy`]).
async fn gateway(mode: Mode) -> Result<Gateway> {
    let gw = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await?;
    pin_legacy(&gw, &[ServerKind::Calc, ServerKind::Text]).await?;
    Ok(gw)
}

/// Configures `kinds` with `protocol: legacy` and waits until discovery took them so: rmcp
/// speaks 2026-07-28 too, and these tests are about the sessions the gateway holds for
/// 2025-era backends (2026-07-28 ones: protocol_2026_native.rs).
async fn pin_legacy(gw: &Gateway, kinds: &[ServerKind]) -> Result<()> {
    let mut yaml = gw.config_yaml(kinds)?;
    for kind in kinds {
        let name = kind.name();
        yaml = yaml.replace(
            &format!("  - name: {name}\n"),
            &format!("  - name: {name}\n    protocol: legacy\n"),
        );
    }
    gw.write_config(&yaml)?;
    let status = gw.envoy_url("/console/api/status");
    eventually("the servers to be taken for 2025-era backends", || async {
        let status: Value = http_client()?.get(&status).send().await?.json().await?;
        let servers = status["servers"].as_array().cloned().unwrap_or_default();
        let pinned = servers
            .iter()
            .all(|s| s["protocol"] == "legacy" && s["healthy"] == true);
        anyhow::ensure!(pinned && servers.len() == kinds.len(), "{status}");
        Ok(())
    })
    .await?;
    // The Envoy module copies config and catalog from the sidecar every second: a 2026-07-28
    // call reaches a held backend session once its copy has the pin too.
    let raw = RawClient::new(&gw.mcp_url())?;
    let tool = format!("{}_whoami", kinds[0].name());
    eventually(
        "a 2026-07-28 call to reach a held backend session",
        || async {
            let body = call_body("1", &tool, json!({}), json!({}));
            let reply = send(&raw, &body, "tools/call", Some(&tool)).await?;
            let session = &reply.result()?["structuredContent"]["session_id"];
            anyhow::ensure!(session.is_string(), "{reply}");
            Ok(())
        },
    )
    .await
}

/// The `_meta` envelope of a 2026-07-28 request declaring `capabilities`.
fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-2026", "version": "1"},
    })
}

/// POSTs a 2026-07-28 request with its mirrored headers (`name` for `Mcp-Name`).
async fn send(raw: &RawClient, body: &str, method: &str, name: Option<&str>) -> Result<Reply> {
    let mut headers = vec![("mcp-protocol-version", MODERN), ("mcp-method", method)];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    raw.post_with(&headers, body.to_owned()).await
}

fn call_body(id: &str, tool: &str, arguments: Value, capabilities: Value) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments},"_meta":{}}}}}"#,
        meta(capabilities)
    )
}

#[tokio::test]
async fn sdk_2_client_pinned_to_2026_works_without_a_session() -> Result<()> {
    let gw = gateway(Mode::ExtProc).await?;
    let out = run_client2(
        &gw.mcp_url(),
        "modern",
        &[
            "calc_add",
            r#"{"a":2,"b":3}"#,
            "calc_explain",
            r#"{"expression":"2 + 2"}"#,
        ],
    )
    .await?;
    assert_eq!(out["protocolVersion"], MODERN, "{out}");
    assert_eq!(out["sessionId"], Value::Null, "no session: {out}");
    assert!(out["capabilities"]["tools"].is_object(), "{out}");
    assert_eq!(out["serverVersion"]["name"], "mcp-gateway", "{out}");
    let tools = out["tools"].as_array().expect("tools");
    for tool in ["calc_add", "text_upper"] {
        assert!(tools.iter().any(|t| t == tool), "{tool}: {out}");
    }
    assert!(
        out["prompts"]
            .as_array()
            .expect("prompts")
            .iter()
            .any(|p| p == "calc_explain")
    );
    assert_eq!(out["call"]["content"][0]["text"], "5", "{out}");
    assert!(out["prompt"].to_string().contains("2 + 2"), "{out}");
    let read = &out["read"][0];
    assert_eq!(read["uri"], out["resources"][0], "{out}");
    assert!(read["text"].is_string(), "{out}");
    assert_eq!(out["unknownTool"]["code"], INVALID_PARAMS, "{out}");
    Ok(())
}

#[tokio::test]
async fn sdk_2_client_in_its_default_mode_is_a_2025_client() -> Result<()> {
    let gw = gateway(Mode::ExtProc).await?;
    let out = run_client2(
        &gw.mcp_url(),
        "legacy",
        &[
            "text_upper",
            r#"{"text":"abc"}"#,
            "calc_explain",
            r#"{"expression":"1 / 0"}"#,
        ],
    )
    .await?;
    assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
    assert!(out["sessionId"].is_string(), "{out}");
    assert_eq!(out["call"]["content"][0]["text"], "ABC", "{out}");
    assert!(out["prompt"].to_string().contains("1 / 0"), "{out}");
    assert_eq!(out["unknownTool"]["code"], INVALID_PARAMS, "{out}");
    Ok(())
}

async fn stateless_calls_keep_every_byte_and_add_the_result_type(mode: Mode) -> Result<()> {
    let gw = gateway(mode).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let args = json!({"a": 2, "b": 3});
    let body = call_body(BIG_ID, "calc_add", args.clone(), json!({}));
    let modern = send(&raw, &body, "tools/call", Some("calc_add")).await?;
    assert_eq!(modern.status, StatusCode::OK, "{modern}");
    assert_eq!(
        modern.session_id(),
        None,
        "no session id for a 2026 client: {modern}"
    );
    assert!(
        modern.body.contains(&format!(r#""id":{BIG_ID}"#)),
        "the big id comes back as sent: {modern}"
    );
    assert_eq!(modern.result()?["resultType"], "complete", "{modern}");
    assert_eq!(modern.tool_text()?, "5");

    // The same call of a 2025 session: the answers differ only by the added member.
    let session = raw.initialize().await?;
    let old = format!(
        r#"{{"jsonrpc":"2.0","id":{BIG_ID},"method":"tools/call","params":{{"name":"calc_add","arguments":{args}}}}}"#
    );
    let old = raw.post(Some(&session), old).await?;
    let old_result = result_text(&old.body);
    let new_result = result_text(&modern.body);
    assert_eq!(
        new_result.replacen(r#""resultType":"complete","#, "", 1),
        old_result,
        "key order and bytes of the backend's result kept"
    );

    // An `Mcp-Session-Id` on a 2026-07-28 request is ignored, as the spec asks.
    let headers = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", "calc_add"),
        ("mcp-session-id", "not-a-session"),
    ];
    let reply = raw.post_with(&headers, body.clone()).await?;
    assert_eq!(reply.tool_text()?, "5", "{reply}");
    Ok(())
}

/// The `result` member's JSON text of a JSON-RPC response (a JSON body, or the `data` of an
/// SSE event).
fn result_text(body: &str) -> String {
    let message = body
        .lines()
        .find_map(|line| {
            line.strip_prefix("data:")
                .filter(|d| d.contains(r#""result":"#))
        })
        .unwrap_or(body)
        .trim();
    let at = message.find(r#""result":"#).expect("a result") + r#""result":"#.len();
    message[at..message.len() - 1].to_owned()
}

async fn discover_and_lists_answer_without_a_session(mode: Mode) -> Result<()> {
    let gw = gateway(mode).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": {"_meta": meta(json!({}))}});
    let reply = send(&raw, &discover.to_string(), "server/discover", None).await?;
    let result = reply.result()?;
    assert_eq!(result["resultType"], "complete", "{reply}");
    assert!(
        result["supportedVersions"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v == MODERN)),
        "{reply}"
    );
    assert!(result["capabilities"]["tools"].is_object(), "{reply}");
    assert!(result["capabilities"]["prompts"].is_object(), "{reply}");
    assert_eq!(result["ttlMs"], 0, "{reply}");
    assert_eq!(result["cacheScope"], "private", "{reply}");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-gateway",
        "{reply}"
    );
    for (method, key, item) in [
        ("tools/list", "tools", "calc_add"),
        ("prompts/list", "prompts", "text_summarize"),
    ] {
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": method,
            "params": {"_meta": meta(json!({}))}});
        let reply = send(&raw, &list.to_string(), method, None).await?;
        let result = reply.result()?;
        assert!(
            result[key]
                .as_array()
                .is_some_and(|l| l.iter().any(|i| i["name"] == item)),
            "{method}: {reply}"
        );
        assert_eq!(result["resultType"], "complete", "{method}: {reply}");
        assert_eq!(result["ttlMs"], 0, "{method}: {reply}");
        assert_eq!(result["cacheScope"], "private", "{method}: {reply}");
        assert_eq!(reply.session_id(), None, "{method}: {reply}");
    }
    // Methods 2026-07-28 removed are unknown ones, whoever would have served them: the broker
    // (ping, logging/setLevel) or a backend (a subscription to one of its resources).
    let uri = "calc://calc_constants";
    for (method, name) in [
        ("ping", None),
        ("logging/setLevel", None),
        ("resources/subscribe", Some(uri)),
        ("resources/unsubscribe", Some(uri)),
    ] {
        let removed = json!({"jsonrpc": "2.0", "id": 3, "method": method,
            "params": {"uri": uri, "level": "info", "_meta": meta(json!({}))}});
        let reply = send(&raw, &removed.to_string(), method, name).await?;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method}: {reply}");
        assert_eq!(reply.error_code(), Some(-32601), "{method}: {reply}");
        assert_eq!(reply.message.as_ref().expect("JSON")["id"], 3, "{reply}");
    }
    Ok(())
}

async fn headers_that_disagree_with_the_body_are_refused(mode: Mode) -> Result<()> {
    let gw = gateway(mode).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let body = call_body("7", "calc_add", json!({"a": 1, "b": 1}), json!({}));
    for (method, name) in [
        ("tools/call", Some("calc_subtract")),
        ("tools/list", Some("calc_add")),
        ("tools/call", None),
        ("tools/call", Some("=?base64?not base64?=")),
    ] {
        let reply = send(&raw, &body, method, name).await?;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {name:?}: {reply}"
        );
        assert_eq!(reply.error_code(), Some(HEADER_MISMATCH), "{reply}");
        assert_eq!(reply.message.as_ref().expect("JSON")["id"], 7, "{reply}");
    }
    // The Base64 form of the right name is the right name.
    let encoded = "=?base64?Y2FsY19hZGQ=?=";
    let reply = send(&raw, &body, "tools/call", Some(encoded)).await?;
    assert_eq!(reply.tool_text()?, "2", "{reply}");

    // A 2026-07-28 header on a body without the envelope; a version the gateway does not speak.
    let bare = r#"{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{}}"#;
    let reply = send(&raw, bare, "tools/list", None).await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(reply.error_code(), Some(INVALID_PARAMS), "{reply}");
    let future = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2099-01-01",
        "io.modelcontextprotocol/clientCapabilities": {}}}});
    // The header names 2026-07-28, the body 2099-01-01: a mismatch, whichever is known.
    let reply = send(&raw, &future.to_string(), "tools/list", None).await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(reply.error_code(), Some(HEADER_MISMATCH), "{reply}");
    let reply = raw
        .post_with(
            &[
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
            future.to_string(),
        )
        .await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(
        reply.error_code(),
        Some(UNSUPPORTED_PROTOCOL_VERSION),
        "{reply}"
    );
    let supported = &reply.message.as_ref().expect("JSON")["error"]["data"]["supported"];
    assert_eq!(supported[0], MODERN, "{reply}");
    Ok(())
}

/// The backend session a `calc_whoami` of a client declaring `capabilities` reached.
async fn held_session(raw: &RawClient, capabilities: Value) -> Result<Value> {
    let body = call_body("1", "calc_whoami", json!({}), capabilities);
    let reply = send(raw, &body, "tools/call", Some("calc_whoami")).await?;
    let structured = reply.result()?["structuredContent"].clone();
    assert!(
        structured["session_id"].is_string(),
        "a backend session: {reply}"
    );
    Ok(structured["session_id"].clone())
}

async fn the_gateway_holds_one_backend_session_per_capability_class(mode: Mode) -> Result<()> {
    let gw = gateway(mode).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let plain = held_session(&raw, json!({})).await?;
    assert_eq!(held_session(&raw, json!({})).await?, plain, "reused");
    let asking = held_session(&raw, json!({"roots": {}})).await?;
    assert_ne!(asking, plain, "another class, another backend session");
    assert_eq!(
        held_session(&raw, json!({"roots": {"listChanged": true}})).await?,
        asking
    );

    // A 2025 client's own session is never the held one.
    let session = raw.initialize().await?;
    let reply = raw
        .call_tool(Some(&session), "calc_whoami", json!({}))
        .await?;
    assert_ne!(
        reply.result()?["structuredContent"]["session_id"],
        plain,
        "{reply}"
    );
    Ok(())
}

async fn a_virtual_server_narrows_discover_lists_and_calls(mode: Mode) -> Result<()> {
    let gw = gateway(mode).await?;
    let config = gw.config_yaml(&[ServerKind::Calc, ServerKind::Text])?;
    gw.write_config(&format!(
        "{config}virtualServers:\n- {{name: maths, tools: [calc_add]}}\n"
    ))?;
    let raw = RawClient::new(&gw.envoy_url("/v/maths/mcp"))?;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": meta(json!({}))}});
    let tools = eventually("the reloaded config to serve /v/maths/mcp", || {
        let (raw, list) = (&raw, list.to_string());
        async move {
            let reply = send(raw, &list, "tools/list", None).await?;
            let names: Vec<Value> = reply.result()?["tools"]
                .as_array()
                .map(|tools| tools.iter().map(|t| t["name"].clone()).collect())
                .unwrap_or_default();
            anyhow::ensure!(!names.is_empty(), "{reply}");
            Ok(names)
        }
    })
    .await?;
    assert_eq!(tools, vec![json!("calc_add")]);
    let discover = json!({"jsonrpc": "2.0", "id": 2, "method": "server/discover",
        "params": {"_meta": meta(json!({}))}});
    let reply = send(&raw, &discover.to_string(), "server/discover", None).await?;
    let capabilities = &reply.result()?["capabilities"];
    assert!(capabilities["tools"].is_object(), "{reply}");
    assert!(
        capabilities.get("prompts").is_none(),
        "no prompts in the subset: {reply}"
    );
    let body = call_body("3", "calc_add", json!({"a": 1, "b": 2}), json!({}));
    let reply = send(&raw, &body, "tools/call", Some("calc_add")).await?;
    assert_eq!(reply.tool_text()?, "3", "{reply}");
    let outside = call_body("4", "calc_multiply", json!({"a": 1, "b": 2}), json!({}));
    let reply = send(&raw, &outside, "tools/call", Some("calc_multiply")).await?;
    assert_eq!(reply.error_code(), Some(INVALID_PARAMS), "{reply}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_session_lost_by_a_restarted_backend_is_healed() -> Result<()> {
    let gw = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Text],
        // Discovery would notice the restart itself and forget every backend session; here
        // only the call meets the backend's 404.
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    pin_legacy(&gw, &[ServerKind::Text]).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let upper = |id: u64| {
        call_body(
            &id.to_string(),
            "text_upper",
            json!({"text": "abc"}),
            json!({}),
        )
    };
    let reply = send(&raw, &upper(1), "tools/call", Some("text_upper")).await?;
    assert_eq!(reply.tool_text()?, "ABC", "{reply}");

    let text = gw.backend("text")?;
    text.kill().await?;
    text.restart().await?;
    // Replayed by Envoy on a new held backend session: the client sees only the answer.
    let reply = send(&raw, &upper(2), "tools/call", Some("text_upper")).await?;
    assert_eq!(reply.tool_text()?, "ABC", "{reply}\n{}", gw.log_tails());
    assert_eq!(reply.result()?["resultType"], "complete", "{reply}");
    assert_eq!(reply.session_id(), None, "{reply}");
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    stateless_calls_keep_every_byte_and_add_the_result_type,
    discover_and_lists_answer_without_a_session,
    headers_that_disagree_with_the_body_are_refused,
    the_gateway_holds_one_backend_session_per_capability_class,
    a_virtual_server_narrows_discover_lists_and_calls,
);

#[tokio::test]
async fn a_tool_offered_to_more_capable_clients_answers_missing_capability() -> Result<()> {
    // The official everything server (TypeScript SDK 1.x, 2025-era) offers some tools only to
    // clients declaring sampling, elicitation or roots.
    let everything = TasksServer::everything("ev").await?;
    let gw = Gateway::start(GatewayOptions {
        external: &[everything.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    for (tool, declared, required) in [
        (
            "ev_trigger-sampling-request",
            json!({}),
            json!({"sampling": {}}),
        ),
        (
            "ev_get-roots-list",
            json!({"sampling": {}}),
            json!({"roots": {}}),
        ),
    ] {
        let body = call_body("5", tool, json!({}), declared);
        let reply = send(&raw, &body, "tools/call", Some(tool)).await?;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{tool}: {reply}");
        assert_eq!(reply.error_code(), Some(-32021), "{tool}: {reply}");
        let message = reply.message.as_ref().expect("JSON");
        assert_eq!(
            message["error"]["data"]["requiredCapabilities"], required,
            "{reply}"
        );
        assert_eq!(message["id"], 5, "{reply}");
    }
    Ok(())
}
