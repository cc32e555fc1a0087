//! A backend that dies and comes back: its tools disappear and return, calls to it
//! fail fast with a JSON-RPC error naming it, and the client's gateway session
//! survives the restart.

use std::{collections::BTreeSet, time::Duration};

use anyhow::{Context, Result, anyhow, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, RawClient, Reply, ServerKind, call_text, eventually,
    tool_names,
};
use reqwest::StatusCode;
use rmcp::ServiceError;
use serde_json::json;

/// JSON-RPC internal error: what a call to an unreachable backend gets.
const INTERNAL_ERROR: i64 = -32603;

/// Longest a call to a dead backend may take to fail: fast, not after some timeout.
const FAIL_FAST: Duration = Duration::from_secs(3);

/// True when `message` names the server `text` as a word (not e.g. `text/html`).
fn names_text(message: &str) -> bool {
    message
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '/')
        .any(|word| word == "text")
}

/// A raw reply to a call routed to a dead backend: HTTP 200 with a JSON-RPC internal
/// error naming it (the router's own answer, or Envoy's 502-504 rewritten by the local
/// reply mapper of crates/xds/src/bootstrap.rs).
fn assert_unavailable(reply: &Reply) -> Result<()> {
    ensure!(reply.status == StatusCode::OK, "unexpected status: {reply}");
    ensure!(
        reply.error_code() == Some(INTERNAL_ERROR),
        "not a JSON-RPC internal error: {reply}"
    );
    let content_type = reply
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    ensure!(
        content_type.starts_with("application/json")
            || content_type.starts_with("text/event-stream"),
        "not a JSON-RPC body: {reply}"
    );
    let message = reply
        .error_message()
        .with_context(|| format!("no JSON-RPC error in {reply}"))?;
    ensure!(
        names_text(message),
        "the error does not name 'text': {reply}"
    );
    Ok(())
}

/// The JSON-RPC error of an rmcp call that must have failed.
fn mcp_error(result: Result<String>) -> Result<rmcp::model::ErrorData> {
    let error = match result {
        Ok(text) => bail!("the call succeeded ({text}) while text is down"),
        Err(error) => error,
    };
    match error.downcast_ref::<ServiceError>() {
        Some(ServiceError::McpError(data)) => Ok(data.clone()),
        _ => Err(anyhow!("not a JSON-RPC error: {error:#}")),
    }
}

fn tools_of(names: &BTreeSet<String>, kind: ServerKind) -> usize {
    let prefix = kind.tool_prefix();
    names
        .iter()
        .filter(|name| name.starts_with(&prefix))
        .count()
}

async fn upper(client: &McpClient) -> Result<String> {
    call_text(client, "text_upper", json!({"text": "abc"})).await
}

async fn raw_upper(raw: &RawClient, session: &str) -> Result<Reply> {
    raw.call_tool(Some(session), "text_upper", json!({"text": "abc"}))
        .await
}

/// [`raw_upper`], which must answer within [`FAIL_FAST`].
async fn raw_upper_fast(raw: &RawClient, session: &str) -> Result<Reply> {
    tokio::time::timeout(FAIL_FAST, raw_upper(raw, session))
        .await
        .with_context(|| format!("text_upper did not answer within {FAIL_FAST:?}"))?
}

async fn start() -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await
}

/// Waits until `tools/list` shows `text_count` of text's tools and all of calc's.
async fn wait_for_text_tools(client: &McpClient, text_count: usize) -> Result<()> {
    let what = format!("tools/list to show {text_count} text tools");
    eventually(&what, || async {
        let names = tool_names(client).await?;
        ensure!(
            tools_of(&names, ServerKind::Text) == text_count,
            "tools/list showed {names:?}"
        );
        ensure!(
            tools_of(&names, ServerKind::Calc) == 7,
            "calc's tools changed: {names:?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn killed_backend_fails_fast_and_recovers_after_restart() -> Result<()> {
    let gateway = start().await?;
    let text = gateway.backend("text")?;
    let client = gateway.client().await?;
    let raw = gateway.raw()?;
    let raw_session = raw.initialize().await?;
    // Both sessions hold a text backend session before the crash.
    assert_eq!(upper(&client).await?, "ABC");
    assert_eq!(raw_upper(&raw, &raw_session).await?.tool_text()?, "ABC");

    text.kill().await?;
    wait_for_text_tools(&client, 0).await?;
    // A session that already had a text backend session, and one that never had.
    assert_unavailable(&raw_upper_fast(&raw, &raw_session).await?)?;
    let fresh = raw.initialize().await?;
    assert_unavailable(&raw_upper_fast(&raw, &fresh).await?)?;
    // calc is unaffected.
    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
        "5"
    );

    text.restart().await?;
    wait_for_text_tools(&client, 7).await?;

    // The same sessions work again; at most one "retry" error first.
    match upper(&client).await {
        Ok(upper) => {
            assert_eq!(upper, "ABC");
            eprintln!("SDK session: the first call after the restart succeeded");
        }
        Err(error) => {
            let data = mcp_error(Err(error))?;
            ensure!(
                data.message.to_lowercase().contains("retry"),
                "the first call after the restart failed without asking to retry: {data:?}"
            );
            eprintln!("SDK session: the first call after the restart asked to retry: {data:?}");
            assert_eq!(upper(&client).await?, "ABC");
        }
    }
    let reply = raw_upper(&raw, &raw_session).await?;
    if reply.tool_text().ok() == Some("ABC") {
        eprintln!("raw session: the first call after the restart succeeded");
    } else {
        let message = reply.error_message().unwrap_or_default().to_lowercase();
        ensure!(
            message.contains("retry"),
            "the first call after the restart failed without asking to retry: {reply}"
        );
        eprintln!("raw session: the first call after the restart asked to retry: {reply}");
        assert_eq!(raw_upper(&raw, &raw_session).await?.tool_text()?, "ABC");
    }
    assert_eq!(raw_upper(&raw, &fresh).await?.tool_text()?, "ABC");

    client.cancel().await?;
    Ok(())
}

/// What an MCP SDK sees when the backend of an established session is down: a
/// JSON-RPC error it can match to its request (same id), not a hang.
#[tokio::test]
async fn sdk_call_to_a_dead_backend_gets_a_json_rpc_error() -> Result<()> {
    let gateway = start().await?;
    let client = gateway.client().await?;
    let fresh = gateway.client().await?;
    assert_eq!(upper(&client).await?, "ABC");

    gateway.backend("text")?.kill().await?;
    wait_for_text_tools(&client, 0).await?;
    for (session, what) in [(&client, "established"), (&fresh, "fresh")] {
        let error = mcp_error(upper(session).await).with_context(|| format!("{what} session"))?;
        ensure!(
            names_text(&error.message),
            "{what} session: the error does not name 'text': {error:?}"
        );
    }
    client.cancel().await?;
    fresh.cancel().await?;
    Ok(())
}
