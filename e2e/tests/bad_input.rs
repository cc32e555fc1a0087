//! Bad input through Envoy, checked by raw HTTP: the status AND the JSON-RPC error.
//! (A dead backend is covered in backends.rs.)

use anyhow::Result;
use mcp_gateway_e2e::{Gateway, GatewayOptions, Mode, RawClient, Reply, ServerKind};
use reqwest::StatusCode;
use serde_json::json;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

fn assert_error(reply: &Reply, status: StatusCode, code: i64, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply}");
    assert_eq!(reply.error_code(), Some(code), "{what}: {reply}");
}

async fn add(raw: &RawClient, headers: &[(&str, &str)]) -> Result<Reply> {
    let body = json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}},
    });
    raw.post_with(headers, body.to_string()).await
}

async fn malformed_requests_and_bad_sessions(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let s = Some(session.as_str());

    let reply = raw.post(s, "this is not json").await?;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        PARSE_ERROR,
        "non-JSON body",
    );
    let reply = raw
        .post(
            s,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"#,
        )
        .await?;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        PARSE_ERROR,
        "truncated JSON",
    );
    let reply = raw.post(s, r#"{"foo":1}"#).await?;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        INVALID_REQUEST,
        "not JSON-RPC",
    );
    let reply = raw.post(s, "[]").await?;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        INVALID_REQUEST,
        "empty batch",
    );
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "calc_add", "arguments": {"a": 1, "b": 1}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]);
    let reply = raw.post(s, batch.to_string()).await?;
    assert_error(&reply, StatusCode::BAD_REQUEST, INVALID_REQUEST, "batch");
    // Well-formed JSON-RPC for a method nobody implements: the error answers the request.
    let reply = raw.request(s, 3, "foo/bar", json!({})).await?;
    assert_error(&reply, StatusCode::OK, METHOD_NOT_FOUND, "unknown method");
    assert_eq!(
        reply.message.as_ref().and_then(|message| message.get("id")),
        Some(&json!(3)),
        "unknown method: {reply}"
    );

    // Session header rules on a routed call: the right status and a JSON-RPC
    // invalid-request error.
    let missing = add(&raw, &[]).await?;
    let made_up = add(&raw, &[("mcp-session-id", "made-up-session-id")]).await?;
    let ended = raw.initialize().await?;
    assert!(raw.delete(&ended).await?.is_success());
    let ended = add(&raw, &[("mcp-session-id", &ended)]).await?;
    for (reply, status, what) in [
        (
            &missing,
            StatusCode::BAD_REQUEST,
            "tools/call without a session",
        ),
        (&made_up, StatusCode::NOT_FOUND, "a made-up session"),
        (&ended, StatusCode::NOT_FOUND, "an ended session"),
    ] {
        assert_error(reply, status, INVALID_REQUEST, what);
    }

    // The live session is unharmed by all of the above.
    let reply = add(&raw, &[("mcp-session-id", &session)]).await?;
    assert_eq!(reply.tool_text()?, "5", "{reply}");
    Ok(())
}

async fn unknown_tools_and_spoofed_routing_headers(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    for tool in ["calc_nope", "weather_x"] {
        let reply = raw.call_tool(Some(&session), tool, json!({})).await?;
        assert!(!reply.status.is_server_error(), "{tool}: {reply}");
        assert_eq!(reply.error_code(), Some(INVALID_PARAMS), "{tool}: {reply}");
        let message = reply.error_message().unwrap_or_default();
        assert!(message.contains(tool), "{tool} not named in: {reply}");
    }

    // Client-supplied routing headers must not steer a routed call.
    let spoofs: [&[(&str, &str)]; 3] = [
        &[("x-mcp-servername", "text")],
        &[("x-mcp-servername", "text"), ("x-mcp-toolname", "upper")],
        &[("host", "text.mcp.local")],
    ];
    for spoof in spoofs {
        let mut headers = vec![("mcp-session-id", session.as_str())];
        headers.extend_from_slice(spoof);
        let reply = add(&raw, &headers).await?;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "calc_add with {spoof:?}: {reply}"
        );
        assert_eq!(
            reply.tool_text().ok(),
            Some("5"),
            "calc_add with {spoof:?}: {reply}"
        );
    }

    // Nor a request for the broker: with a backend's virtual host as its Host it
    // must still reach the broker, never the backend itself (which would also see
    // the gateway's session id).
    let expected = ServerKind::Calc
        .exposed_tools()
        .chain(ServerKind::Text.exposed_tools())
        .count();
    for host in ["text.mcp.local", "calc.mcp.local"] {
        let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
        let headers = [("mcp-session-id", session.as_str()), ("host", host)];
        let reply = raw.post_with(&headers, body.to_string()).await?;
        let listed = reply
            .result()
            .ok()
            .and_then(|result| result.get("tools"))
            .and_then(|tools| tools.as_array())
            .map(Vec::len);
        assert_eq!(
            listed,
            Some(expected),
            "tools/list with Host {host}: {reply}"
        );
    }
    Ok(())
}

async fn oversized_body_gets_413_with_a_json_rpc_error(mode: Mode) -> Result<()> {
    const LIMIT: usize = 64 * 1024;
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc],
        max_request_bytes: Some(LIMIT),
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let call = |padding: usize| {
        json!({
            "jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3, "padding": "x".repeat(padding)}},
        })
        .to_string()
    };

    // Just under the limit still works: the limit is not tighter than configured.
    let body = call(LIMIT - 1024);
    assert!(body.len() < LIMIT);
    let reply = raw.post(Some(&session), body).await?;
    assert_eq!(reply.tool_text()?, "5", "{reply}");

    // docs/architecture.md, "Errors": a body over `--max-request-bytes` gets HTTP 413
    // with a JSON-RPC invalid-request error that states the limit.
    let body = call(100 * 1024);
    let reply = raw.post(Some(&session), body).await?;
    assert_error(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        INVALID_REQUEST,
        "oversized body",
    );
    let content_type = reply
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{reply}");
    let message = reply.error_message().unwrap_or_default();
    assert!(message.contains(&LIMIT.to_string()), "{reply}");
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    malformed_requests_and_bad_sessions,
    unknown_tools_and_spoofed_routing_headers,
    oversized_body_gets_413_with_a_json_rpc_error,
);
