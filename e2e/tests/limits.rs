//! What an unauthenticated client can make the gateway hold is bounded (issue 9, item 2):
//! the size of what a session keeps of `initialize`, the number of live sessions, and how
//! long an unused session lives. Everything through real Envoy.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, RawClient, Reply, ServerKind, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};

const INVALID_PARAMS: i64 = -32602;
const INVALID_REQUEST: i64 = -32600;
/// The gateway's "at its session limit" code.
const SESSION_LIMIT: i64 = -32003;

async fn calc_gateway(gateway_args: &[&str]) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        gateway_args,
        ..GatewayOptions::default()
    })
    .await
}

/// `initialize` with id `id` and these `capabilities` and `clientInfo`.
async fn initialize(
    raw: &RawClient,
    id: u64,
    capabilities: Value,
    client_info: Value,
) -> Result<Reply> {
    let params = json!({
        "protocolVersion": "2025-06-18",
        "capabilities": capabilities,
        "clientInfo": client_info,
    });
    raw.request(None, id, "initialize", params).await
}

fn client_info() -> Value {
    json!({"name": "limits-e2e", "version": "1"})
}

/// The reply is a JSON-RPC error with this status and code, answering request `id`.
fn assert_error(reply: &Reply, status: StatusCode, code: i64, id: u64, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply}");
    assert_eq!(reply.error_code(), Some(code), "{what}: {reply}");
    let message = reply.message.as_ref().expect("a JSON-RPC body");
    assert_eq!(
        message["id"],
        json!(id),
        "{what}: the request id is kept: {reply}"
    );
}

#[tokio::test]
async fn oversized_capabilities_and_client_info_are_refused() -> Result<()> {
    // The defaults: 16 KiB of capabilities, 1 KiB of kept clientInfo.
    let gateway = calc_gateway(&[]).await?;
    let raw = gateway.raw()?;

    // (Objects: MCP says each experimental capability is one.)
    let pad = json!({"data": "x".repeat(16 * 1024)});
    let reply = initialize(
        &raw,
        41,
        json!({"experimental": {"pad": pad}}),
        client_info(),
    )
    .await?;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        INVALID_PARAMS,
        41,
        "17 KiB capabilities",
    );
    let text = reply.error_message().unwrap_or_default();
    assert!(
        text.contains("capabilities") && text.contains("16384"),
        "{reply}"
    );
    assert!(
        reply.session_id().is_none(),
        "no session for a refused initialize: {reply}"
    );

    let name = "n".repeat(2048);
    let reply = initialize(&raw, 42, json!({}), json!({"name": name, "version": "1"})).await?;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        INVALID_PARAMS,
        42,
        "2 KiB clientInfo.name",
    );
    assert!(
        reply
            .error_message()
            .unwrap_or_default()
            .contains("clientInfo"),
        "{reply}"
    );

    // Within the limits, and with a large icon that is dropped rather than kept, a client
    // gets its session and reaches tools.
    let icon = format!("data:image/png;base64,{}", "A".repeat(64 * 1024));
    let info = json!({"name": "limits-e2e", "version": "1", "icons": [{"src": icon}]});
    let fits = json!({"data": "y".repeat(8 * 1024)});
    let reply = initialize(&raw, 43, json!({"experimental": {"pad": fits}}), info).await?;
    assert_eq!(reply.status, StatusCode::OK, "{reply}");
    let session = reply.session_id().expect("a session").to_owned();
    let reply = raw
        .call_tool(Some(&session), "calc_add", json!({"a": 2, "b": 3}))
        .await?;
    assert_eq!(reply.tool_text()?, "5");
    Ok(())
}

#[tokio::test]
async fn the_session_cap_refuses_with_503_until_a_session_ends() -> Result<()> {
    const MAX: u64 = 5;
    let gateway = calc_gateway(&["--max-sessions", "5"]).await?;
    let raw = gateway.raw()?;
    // Gateway::start opened a session or two of its own (waiting for calc's tools).
    let mut sessions = Vec::new();
    let mut id = 0;
    let reply = loop {
        let reply = initialize(&raw, id, json!({}), client_info()).await?;
        if reply.status != StatusCode::OK {
            break reply;
        }
        ensure!(id < MAX, "more than {MAX} sessions were accepted");
        sessions.push(reply.session_id().expect("a session").to_owned());
        id += 1;
    };
    ensure!(
        sessions.len() >= 2,
        "the harness holds {} sessions",
        MAX as usize - sessions.len()
    );
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        SESSION_LIMIT,
        id,
        "one session too many",
    );
    assert!(
        reply
            .error_message()
            .unwrap_or_default()
            .contains("session limit"),
        "{reply}"
    );
    assert!(reply.session_id().is_none(), "{reply}");

    // Nothing was evicted to make room.
    for session in &sessions {
        let reply = raw
            .call_tool(Some(session), "calc_add", json!({"a": 1, "b": 1}))
            .await?;
        assert_eq!(reply.tool_text()?, "2");
    }

    let status = raw.delete(&sessions[0]).await?;
    assert!(status.is_success(), "DELETE answered {status}");
    let reply = initialize(&raw, 78, json!({}), client_info()).await?;
    assert_eq!(reply.status, StatusCode::OK, "after a DELETE: {reply}");
    let reply = initialize(&raw, 79, json!({}), client_info()).await?;
    assert_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        SESSION_LIMIT,
        79,
        "full again",
    );
    Ok(())
}

#[tokio::test]
async fn an_idle_session_ends_and_a_busy_one_lives_on() -> Result<()> {
    let idle = Duration::from_secs(2);
    let gateway = calc_gateway(&["--session-idle-timeout", "2s"]).await?;
    let raw = gateway.raw()?;
    let calc = gateway.backend("calc")?;
    let busy = raw.initialize().await?;
    let quiet = raw.initialize().await?;
    // Both open a calc session.
    for session in [&busy, &quiet] {
        let reply = raw
            .call_tool(Some(session), "calc_add", json!({"a": 2, "b": 3}))
            .await?;
        assert_eq!(reply.tool_text()?, "5");
    }
    let ended_before = calc.stats().await?.sessions_ended;

    // Keep `busy` in use, through the broker and through the router, for well past the
    // idle timeout (and the second of slack it may take).
    let started = Instant::now();
    let mut round = 0;
    while started.elapsed() < idle * 3 {
        let reply = if round % 2 == 0 {
            raw.list_tools(Some(&busy)).await?
        } else {
            raw.call_tool(Some(&busy), "calc_add", json!({"a": round, "b": 1}))
                .await?
        };
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "busy session, round {round}: {reply}"
        );
        round += 1;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }

    let reply = raw.list_tools(Some(&quiet)).await?;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "idle session (broker): {reply}"
    );
    assert_eq!(reply.error_code(), Some(INVALID_REQUEST), "{reply}");
    let reply = raw
        .call_tool(Some(&quiet), "calc_add", json!({"a": 2, "b": 3}))
        .await?;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "idle session (router): {reply}"
    );
    let status = raw.delete(&quiet).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "DELETE of an idle session");

    // Its calc session is ended by the sweep; the busy one's is not.
    eventually("the idle session's calc session to end", || async {
        let ended = calc.stats().await?.sessions_ended;
        ensure!(ended == ended_before + 1, "calc sessions ended: {ended}");
        Ok(())
    })
    .await?;
    let reply = raw
        .call_tool(Some(&busy), "calc_add", json!({"a": 20, "b": 22}))
        .await?;
    assert_eq!(reply.tool_text()?, "42");
    assert_eq!(calc.stats().await?.sessions_ended, ended_before + 1);
    Ok(())
}
