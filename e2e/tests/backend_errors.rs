//! Every error a client sees is JSON-RPC, whoever produced it: a backend's plain-text
//! 4xx/5xx (mapped by Envoy, with the client's own request id), a backend that lost its
//! session (a retryable error; the retry opens a new backend session), and the gateway
//! process itself gone (Envoy's ext_proc failure, a 503).

use anyhow::{Context, Result, ensure};
use mcp_gateway_bench::echo::{REPLY_HEADER_HEADER, REPLY_JSON_HEADER, REPLY_STATUS_HEADER};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, Mode, PROTOCOL_VERSION, Reply, SESSION_HEADER, ServerKind, http_client,
};
use mcp_gateway_protocol::handoff;
use reqwest::StatusCode;
use serde_json::json;

/// JSON-RPC internal error.
const INTERNAL_ERROR: i64 = -32603;

/// 2^53 + 1: an id a double cannot hold, so the gateway must answer with these very digits.
const BIG_ID: &str = "9007199254740993";

fn content_type(reply: &Reply) -> &str {
    reply
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// HTTP 200 with a JSON-RPC internal error answering `id` (raw JSON text, compared as
/// written) whose message contains every one of `words`.
fn assert_json_rpc_error(reply: &Reply, id: &str, words: &[&str]) -> Result<()> {
    ensure!(reply.status == StatusCode::OK, "unexpected status: {reply}");
    ensure!(
        content_type(reply).starts_with("application/json"),
        "not a JSON body: {reply}"
    );
    ensure!(
        reply.error_code() == Some(INTERNAL_ERROR),
        "not a JSON-RPC internal error: {reply}"
    );
    ensure!(
        reply.body.contains(&format!("\"id\":{id},")),
        "the error does not answer id {id}: {reply}"
    );
    let message = reply.error_message().unwrap_or_default();
    for word in words {
        ensure!(
            message.contains(word),
            "the error does not say {word:?}: {reply}"
        );
    }
    Ok(())
}

/// `tools/call` of `name` with a raw JSON `id` and extra request headers.
async fn call_with(
    gateway: &Gateway,
    session: &str,
    id: &str,
    name: &str,
    headers: &[(&str, &str)],
) -> Result<Reply> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{name}","arguments":{{"text":"abc"}}}}}}"#
    );
    let mut all = vec![(SESSION_HEADER, session)];
    all.extend_from_slice(headers);
    gateway.raw()?.post_with(&all, body).await
}

async fn plain_text_backend_errors_become_json_rpc_errors_with_the_request_id(
    mode: Mode,
) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Text],
        echo: &["echo"],
        ..GatewayOptions::default()
    })
    .await?;
    let session = gateway.raw()?.initialize().await?;

    // A real SDK server (rmcp) refuses a client that does not accept SSE with a plain-text
    // 406.
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":{BIG_ID},"method":"tools/call","params":{{"name":"text_upper","arguments":{{"text":"abc"}}}}}}"#
    );
    let response = http_client()?
        .post(gateway.mcp_url())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::ACCEPT, "application/json")
        .header(SESSION_HEADER, &session)
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .body(body)
        .send()
        .await?;
    let reply = Reply {
        status: response.status(),
        headers: response.headers().clone(),
        message: None,
        body: response.text().await?,
    };
    let reply = Reply {
        message: serde_json::from_str(&reply.body).ok(),
        ..reply
    };
    assert_json_rpc_error(&reply, BIG_ID, &["'text'", "406"])?;

    // A backend answering other plain-text statuses.
    for status in ["405", "406", "415", "500", "503"] {
        let id = format!("\"call {status}\"");
        let headers = [(REPLY_STATUS_HEADER, status)];
        let reply = call_with(&gateway, &session, &id, "echo_echo", &headers).await?;
        assert_json_rpc_error(&reply, &id, &["'echo'", status])
            .with_context(|| format!("the backend answered {status}"))?;
    }

    // A JSON-RPC error from the backend passes untouched, status included.
    let headers = [(REPLY_STATUS_HEADER, "400"), (REPLY_JSON_HEADER, "1")];
    let reply = call_with(&gateway, &session, "7", "echo_echo", &headers).await?;
    ensure!(reply.status == StatusCode::BAD_REQUEST, "{reply}");
    ensure!(reply.error_message() == Some("scripted failure"), "{reply}");
    ensure!(reply.body.contains("\"id\":7"), "{reply}");

    // And the backends still work.
    let reply = call_with(&gateway, &session, "8", "text_upper", &[]).await?;
    ensure!(reply.tool_text()? == "ABC", "{reply}");
    Ok(())
}

/// A client that declares no sampling, elicitation or roots takes the route whose responses
/// the router does not see. Nothing else tells the gateway that the backend restarted: it
/// has no GET stream and discovery runs once an hour here. Envoy replays the refused call
/// on a new backend session: the client sees its answer.
#[tokio::test]
async fn a_lost_backend_session_is_replayed_on_a_new_one() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        echo: &["echo"],
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    let echo = gateway.backend("echo")?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let first = call_with(&gateway, &session, "1", "echo_echo", &[]).await?;
    first.tool_text()?;

    echo.kill().await?;
    echo.restart().await?;
    let replayed = call_with(&gateway, &session, BIG_ID, "echo_echo", &[]).await?;
    replayed
        .tool_text()
        .with_context(|| format!("the call was not replayed: {replayed}"))?;
    ensure!(
        replayed.body.contains(&format!("\"id\":{BIG_ID}")),
        "{replayed}"
    );
    ensure!(
        echo.echo_initialized().await? == 1,
        "the replay opened one backend session"
    );
    Ok(())
}

/// A backend that refuses the replayed call's new session too: not replayed again, the
/// client gets the retryable error with its exact id; its next call works.
#[tokio::test]
async fn a_second_refusal_in_a_row_is_a_retryable_error() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        echo: &["echo"],
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    let echo = gateway.backend("echo")?;
    let session = gateway.raw()?.initialize().await?;
    call_with(&gateway, &session, "1", "echo_echo", &[])
        .await?
        .tool_text()?;
    let opened = echo.echo_initialized().await?;

    // Every request with this header is refused with a 404, the replay's too.
    let refused = [(REPLY_STATUS_HEADER, "404")];
    let lost = call_with(&gateway, &session, BIG_ID, "echo_echo", &refused).await?;
    assert_json_rpc_error(&lost, BIG_ID, &["'echo'", "retry"])?;
    ensure!(
        echo.echo_initialized().await? == opened + 1,
        "the replay opened one new backend session"
    );
    let retry = call_with(&gateway, &session, "3", "echo_echo", &[]).await?;
    retry
        .tool_text()
        .with_context(|| format!("the retry failed: {retry}"))?;
    Ok(())
}

/// A backend answering 307 itself, naming another server in the replay header and the
/// gateway's replay location: Envoy's replay never names that server, so the router does
/// not take it for a replay to it (its error does not name it) and it sees no request.
async fn a_backend_cannot_name_the_server_a_call_is_replayed_to(mode: Mode) -> Result<()> {
    const TEXT_REQUESTS: &str = "cluster.mcp_server_text.upstream_rq_total";
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Text],
        echo: &["echo"],
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    let session = gateway.raw()?.initialize().await?;
    let before = gateway.envoy_counter(TEXT_REQUESTS).await?;
    let location = format!("location: {}", handoff::REPLAY_LOCATION);
    let server = format!("{}: text", handoff::REPLAY_SERVER_HEADER);
    let redirect = [
        (REPLY_STATUS_HEADER, "307"),
        (REPLY_HEADER_HEADER, location.as_str()),
        (REPLY_HEADER_HEADER, server.as_str()),
    ];
    let reply = call_with(&gateway, &session, "1", "echo_echo", &redirect).await?;
    ensure!(!reply.body.contains("'text'"), "replayed to text: {reply}");
    ensure!(
        gateway.envoy_counter(TEXT_REQUESTS).await? == before,
        "{reply}"
    );
    Ok(())
}

/// The hand-off path is reachable by clients, and useless to them: without the backend's
/// own session id, which they never see, nothing is forgotten.
async fn a_client_cannot_make_the_gateway_forget_a_backend_session(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Text],
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    let text = gateway.backend("text")?;
    let session = gateway.raw()?.initialize().await?;
    let reply = call_with(&gateway, &session, "1", "text_upper", &[]).await?;
    ensure!(reply.tool_text()? == "ABC", "{reply}");
    let opened = text.stats().await?.initialize;

    let forged = http_client()?
        .get(gateway.envoy_url(handoff::SESSION_LOST_PATH))
        .header(handoff::LOST_SERVER_HEADER, "text")
        .header(handoff::LOST_GATEWAY_SESSION_HEADER, &session)
        .header(handoff::LOST_REQUEST_ID_HEADER, "9")
        .header(SESSION_HEADER, &session)
        .send()
        .await?;
    let status = forged.status();
    let body = forged.text().await?;
    ensure!(
        body.contains("\"jsonrpc\":\"2.0\""),
        "not a JSON-RPC answer: {status} {body}"
    );

    let reply = call_with(&gateway, &session, "2", "text_upper", &[]).await?;
    ensure!(reply.tool_text()? == "ABC", "{reply}");
    ensure!(
        text.stats().await?.initialize == opened,
        "the forged hand-off made the gateway open a new backend session"
    );
    Ok(())
}

#[tokio::test]
async fn a_dead_gateway_process_is_a_json_rpc_503() -> Result<()> {
    let mut gateway = Gateway::start(GatewayOptions {
        echo: &["echo"],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    gateway.kill_gateway().await?;

    let initialize = raw
        .request(
            None,
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18"}),
        )
        .await?;
    let call = call_with(&gateway, &session, "2", "echo_echo", &[]).await?;
    for reply in [initialize, call] {
        ensure!(
            reply.status == StatusCode::SERVICE_UNAVAILABLE,
            "unexpected status: {reply}"
        );
        ensure!(
            content_type(&reply).starts_with("application/json"),
            "not a JSON body: {reply}"
        );
        ensure!(reply.error_code() == Some(INTERNAL_ERROR), "{reply}");
        let message = reply.error_message().unwrap_or_default();
        ensure!(message.contains("router is unavailable"), "{reply}");
    }
    Ok(())
}

/// The rendered bootstrap with a 1 s ext_proc message timeout (10 s by default).
fn short_message_timeout(bootstrap: String) -> String {
    bootstrap.replace("message_timeout: 10s", "message_timeout: 1s")
}

/// A router that holds its connections but answers nothing (the process is stopped): after
/// the message timeout, a JSON-RPC 503; once it runs again, calls work again.
#[tokio::test]
async fn a_stalled_router_is_a_json_rpc_503_after_the_message_timeout() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        echo: &["echo"],
        edit_bootstrap: Some(short_message_timeout),
        ..GatewayOptions::default()
    })
    .await?;
    let session = gateway.raw()?.initialize().await?;
    gateway.pause_gateway(true)?;
    let stalled = call_with(&gateway, &session, "1", "echo_echo", &[]).await;
    gateway.pause_gateway(false)?;
    let reply = stalled?;
    ensure!(
        reply.status == StatusCode::SERVICE_UNAVAILABLE,
        "unexpected status: {reply}"
    );
    ensure!(
        content_type(&reply).starts_with("application/json"),
        "{reply}"
    );
    ensure!(reply.error_code() == Some(INTERNAL_ERROR), "{reply}");
    let message = reply.error_message().unwrap_or_default();
    ensure!(message.contains("router is unavailable"), "{reply}");

    let reply = call_with(&gateway, &session, "2", "echo_echo", &[]).await?;
    reply
        .tool_text()
        .with_context(|| format!("no recovery: {reply}"))?;
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    plain_text_backend_errors_become_json_rpc_errors_with_the_request_id,
    a_backend_cannot_name_the_server_a_call_is_replayed_to,
    a_client_cannot_make_the_gateway_forget_a_backend_session,
);
