//! Gateway sessions: one backend session per (client session, backend) even under
//! concurrent first calls, gateway and backend session ids never cross, and a
//! deleted session is gone.

use anyhow::{Context, Result, ensure};
use futures::future::try_join_all;
use std::time::Duration;

use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, Mode, Reply, ServerKind, call_text, eventually,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn calc_gateway(mode: Mode) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        mode,
        ..GatewayOptions::default()
    })
    .await
}

/// Fires `count` concurrent first calls to calc on one client session.
async fn concurrent_adds(client: &McpClient, count: u32) -> Result<()> {
    let calls = (0..count).map(|i| async move {
        let sum = call_text(client, "calc_add", json!({"a": i, "b": 1})).await?;
        ensure!(
            sum == (i + 1).to_string(),
            "calc_add({i}, 1) returned {sum}"
        );
        Ok(())
    });
    try_join_all(calls).await?;
    Ok(())
}

#[tokio::test]
async fn one_backend_session_per_client_session_and_backend_ext_proc() -> Result<()> {
    one_backend_session_per_client_session_and_backend(Mode::ExtProc).await
}

#[tokio::test]
async fn one_backend_session_per_client_session_and_backend_module() -> Result<()> {
    one_backend_session_per_client_session_and_backend(Mode::Module).await
}

async fn one_backend_session_per_client_session_and_backend(mode: Mode) -> Result<()> {
    let gateway = calc_gateway(mode).await?;
    let calc = gateway.backend("calc")?;
    // Gateway::start waited for calc's tools, so discovery's sessions are open: its own,
    // and the probe that lists as the class declaring sampling, elicitation and roots
    // (calc offers every class the same tools, so no other class is probed). Refreshes
    // reuse both, and nothing else opens a calc session, so every count below is exact.
    let before = calc.stats().await?;
    assert_eq!(
        (before.initialize, before.sessions_ended),
        (2, 0),
        "discovery must hold exactly two calc sessions (initialize, ended)"
    );

    let first = gateway.client().await?;
    concurrent_adds(&first, 20).await?;
    let after_first = calc.stats().await?;
    assert_eq!(
        after_first.initialize,
        before.initialize + 1,
        "20 concurrent first calls of one client session must open exactly one calc session"
    );
    assert_eq!(after_first.tool_calls, before.tool_calls + 20);

    let second = gateway.client().await?;
    concurrent_adds(&second, 5).await?;
    // More calls on the first session reuse its backend session.
    concurrent_adds(&first, 3).await?;
    let after_second = calc.stats().await?;
    assert_eq!(
        after_second.initialize,
        before.initialize + 2,
        "a second client session must open exactly one more calc session"
    );
    assert_eq!(after_second.tool_calls, before.tool_calls + 28);
    assert_eq!(
        after_second.sessions_ended, 0,
        "no calc session may end while both clients hold theirs"
    );

    first.cancel().await?;
    second.cancel().await?;
    Ok(())
}

/// The `{server, session_id}` that `whoami` returned.
fn whoami(reply: &Reply) -> Result<(String, Option<String>)> {
    let result = reply.result()?;
    let identity = match result.get("structuredContent") {
        Some(structured) => structured.clone(),
        None => serde_json::from_str(reply.tool_text()?).context("whoami text is not JSON")?,
    };
    let server = identity
        .get("server")
        .and_then(Value::as_str)
        .with_context(|| format!("whoami without a server: {identity}"))?;
    let session = identity
        .get("session_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((server.to_owned(), session))
}

#[tokio::test]
async fn backend_never_sees_the_gateway_session_id_ext_proc() -> Result<()> {
    backend_never_sees_the_gateway_session_id(Mode::ExtProc).await
}

#[tokio::test]
async fn backend_never_sees_the_gateway_session_id_module() -> Result<()> {
    backend_never_sees_the_gateway_session_id(Mode::Module).await
}

async fn backend_never_sees_the_gateway_session_id(mode: Mode) -> Result<()> {
    let gateway = calc_gateway(mode).await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    for _ in 0..2 {
        let reply = raw
            .call_tool(Some(&session), "calc_whoami", json!({}))
            .await?;
        assert_eq!(reply.status, StatusCode::OK, "{reply}");
        let (server, backend_session) = whoami(&reply)?;
        assert_eq!(server, "calc");
        let backend_session =
            backend_session.context("calc saw no session id: the gateway sent none")?;
        assert_ne!(
            backend_session, session,
            "the backend saw the gateway's session id"
        );
        if let Some(header) = reply.session_id() {
            assert_eq!(
                header, session,
                "the client must only ever see the gateway's session id"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn deleted_session_answers_404_ext_proc() -> Result<()> {
    deleted_session_answers_404(Mode::ExtProc).await
}

#[tokio::test]
async fn deleted_session_answers_404_module() -> Result<()> {
    deleted_session_answers_404(Mode::Module).await
}

async fn deleted_session_answers_404(mode: Mode) -> Result<()> {
    let gateway = calc_gateway(mode).await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let reply = raw
        .call_tool(Some(&session), "calc_add", json!({"a": 2, "b": 3}))
        .await?;
    assert_eq!(reply.tool_text()?, "5");
    let mut stream = raw.open_stream(&session, None).await?;
    let calc = gateway.backend("calc")?;
    let ended_before = calc.stats().await?.sessions_ended;

    let status = raw.delete(&session).await?;
    assert!(status.is_success(), "DELETE answered {status}");
    // The GET stream ends, and so does the backend session the call opened.
    let end = stream.next_event(Duration::from_secs(5)).await;
    ensure!(
        end.as_ref()
            .is_err_and(|e| format!("{e:#}").contains("ended")),
        "the GET stream must end with the session: {end:?}"
    );
    eventually("calc's session to end", || async {
        let ended = calc.stats().await?.sessions_ended;
        ensure!(ended == ended_before + 1, "calc sessions ended: {ended}");
        Ok(())
    })
    .await?;

    let reply = raw
        .call_tool(Some(&session), "calc_add", json!({"a": 2, "b": 3}))
        .await?;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "tools/call after DELETE: {reply}"
    );
    let reply = raw.list_tools(Some(&session)).await?;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "tools/list after DELETE: {reply}"
    );
    Ok(())
}
