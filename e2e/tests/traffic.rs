//! A server's traffic policy (`traffic:` in the gateway config), enforced by Envoy: rate
//! limits answer a JSON-RPC error with `Retry-After` and recover after their window; a
//! request timeout ends a call that takes too long with a clear error and leaves one that
//! fits alone; a backend that hangs trips its circuit breaker and outlier detection and
//! does not slow calls to another server.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures::future::join_all;
use mcp_gateway_bench::echo::REPLY_DELAY_HEADER;
use mcp_gateway_e2e::{
    ExternalServer, FIRST_TOOL, Gateway, GatewayOptions, IdentityProvider, LiveServer, Mode,
    RawClient, Reply, SESSION_HEADER, SLEEP_ARGUMENT, ServerKind, eventually,
};
use mcp_gateway_protocol::codes::{INTERNAL_ERROR, RATE_LIMITED, REQUEST_TIMEOUT};
use reqwest::StatusCode;
use serde_json::json;

/// The live server's tool as the gateway exposes it (prefix `live_`).
fn live_tool() -> String {
    format!("live_{FIRST_TOOL}")
}

async fn call(raw: &RawClient, session: &str, tool: &str, sleep_ms: u64) -> Result<Reply> {
    let arguments = if tool.starts_with("live_") {
        json!({SLEEP_ARGUMENT: sleep_ms})
    } else if tool.starts_with("calc_") {
        json!({"a": 1, "b": 2})
    } else {
        json!({"text": "abc"})
    };
    raw.call_tool(Some(session), tool, arguments).await
}

/// Calls `tool` until a call is refused (at most 20 calls, quickly); returns how many
/// passed before and the refusal.
async fn exhaust(raw: &RawClient, session: &str, tool: &str) -> Result<(usize, Reply)> {
    for passed in 0..20 {
        let reply = call(raw, session, tool, 0).await?;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            return Ok((passed, reply));
        }
        reply
            .result()
            .with_context(|| format!("{tool} failed before its limit"))?;
    }
    anyhow::bail!("{tool} was never rate limited")
}

/// The refusal of a rate limit: HTTP 429, `Retry-After` in whole seconds within the
/// window, and a JSON-RPC error answering the call (id 1) that names the server.
fn assert_rate_limited(reply: &Reply, server: &str, window_secs: u64) -> Result<u64> {
    ensure!(reply.status == StatusCode::TOO_MANY_REQUESTS, "{reply}");
    let retry_after: u64 = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no Retry-After seconds: {reply}"))?;
    ensure!(
        (1..=window_secs).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    ensure!(reply.error_code() == Some(RATE_LIMITED), "{reply}");
    ensure!(
        reply.body.contains("\"id\":1,"),
        "not answering id 1: {reply}"
    );
    let message = reply.error_message().unwrap_or_default();
    ensure!(
        message.contains(&format!("rate limit of MCP server '{server}' exceeded"))
            && message.contains(&format!("retry after {retry_after} s")),
        "{reply}"
    );
    Ok(retry_after)
}

#[tokio::test]
async fn rate_limits_trip_with_a_json_rpc_error_and_retry_after_and_recover() -> Result<()> {
    rate_limits_trip_and_recover(Mode::ExtProc).await
}

#[tokio::test]
async fn rate_limits_trip_with_a_json_rpc_error_and_retry_after_and_recover_module() -> Result<()> {
    rate_limits_trip_and_recover(Mode::Module).await
}

async fn rate_limits_trip_and_recover(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc, ServerKind::Text],
        traffic: &[
            ("text", "{rateLimit: {perTool: {requests: 2, per: 3s}}}"),
            ("calc", "{rateLimit: {server: {requests: 3, per: 3s}}}"),
        ],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    // Per tool: text_upper runs out, text_lower still has its own bucket.
    let (passed, refused) = exhaust(&raw, &session, "text_upper").await?;
    ensure!(passed >= 2, "refused after {passed} calls: {refused}");
    let retry_after = assert_rate_limited(&refused, "text", 3)?;
    call(&raw, &session, "text_lower", 0).await?.result()?;

    // Per server: once calc_add used up the server's bucket, calc_subtract is refused too.
    let (passed, refused) = exhaust(&raw, &session, "calc_add").await?;
    ensure!(passed >= 3, "refused after {passed} calls: {refused}");
    assert_rate_limited(&refused, "calc", 3)?;
    let other = call(&raw, &session, "calc_subtract", 0).await?;
    ensure!(other.status == StatusCode::TOO_MANY_REQUESTS, "{other}");

    // The window passes: text_upper works again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    eventually("text_upper to work again after Retry-After", || {
        let raw = &raw;
        let session = &session;
        async move {
            let reply = call(raw, session, "text_upper", 0).await?;
            reply.result()?;
            Ok(())
        }
    })
    .await?;
    let limited = gateway
        .envoy_counter("mcp_ratelimit_tool_text.http_local_rate_limit.rate_limited")
        .await?;
    ensure!(
        limited >= 1,
        "Envoy counted {limited} rate-limited requests"
    );
    Ok(())
}

/// `tools/call` of the echo server's tool that answers (JSON) after `delay_ms`.
async fn slow_echo(raw: &RawClient, session: &str, delay_ms: u64) -> Result<Reply> {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo_echo","arguments":{"text":"abc"}}}"#;
    let delay = delay_ms.to_string();
    raw.post_with(
        &[(SESSION_HEADER, session), (REPLY_DELAY_HEADER, &delay)],
        body,
    )
    .await
}

#[tokio::test]
async fn a_slow_tool_succeeds_within_its_timeout_and_a_too_slow_one_gets_a_timeout_error()
-> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        echo: &["echo"],
        traffic: &[("echo", "{timeout: 1s}")],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    let reply = slow_echo(&raw, &session, 400).await?;
    reply.result().context("a tool that fits its timeout")?;

    let started = Instant::now();
    let reply = slow_echo(&raw, &session, 5_000).await?;
    let took = started.elapsed();
    ensure!(reply.status == StatusCode::OK, "{reply}");
    ensure!(reply.error_code() == Some(REQUEST_TIMEOUT), "{reply}");
    ensure!(reply.body.contains("\"id\":1,"), "{reply}");
    ensure!(
        reply
            .error_message()
            .unwrap_or_default()
            .contains("MCP server 'echo' did not answer within its request timeout"),
        "{reply}"
    );
    ensure!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(4000),
        "the timeout answered after {took:?}"
    );
    let timeouts = gateway
        .envoy_counter("cluster.mcp_server_echo.upstream_rq_timeout")
        .await?;
    ensure!(timeouts == 1, "{timeouts} timeouts counted");
    Ok(())
}

/// A server that answers with SSE (rmcp's default) has started its answer before the
/// timeout: the gateway can only end the stream, at the timeout, and sends nothing again.
#[tokio::test]
async fn a_too_slow_streamed_answer_is_ended_at_the_timeout_and_not_retried() -> Result<()> {
    let live = LiveServer::start().await?;
    let url = live.url();
    let gateway = Gateway::start(GatewayOptions {
        external: &[ExternalServer {
            name: "live",
            url: &url,
        }],
        traffic: &[("live", "{timeout: 2s}")],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    call(&raw, &session, &live_tool(), 800)
        .await?
        .result()
        .context("a tool that fits its timeout")?;

    let started = Instant::now();
    let cut = call(&raw, &session, &live_tool(), 8_000).await;
    let took = started.elapsed();
    ensure!(cut.is_err(), "a 8s answer survived a 2s timeout: {cut:?}");
    ensure!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(6000),
        "the stream ended after {took:?}"
    );
    let timeouts = gateway
        .envoy_counter("cluster.mcp_server_live.upstream_rq_timeout")
        .await?;
    ensure!(timeouts == 1, "{timeouts} timeouts counted");
    // A timeout is not retried: the server received each call once.
    let calls = live
        .credentials_seen()
        .iter()
        .filter(|seen| seen.rpc_method.as_deref() == Some("tools/call"))
        .count();
    ensure!(calls == 2, "the live server received {calls} tools/call");
    Ok(())
}

#[tokio::test]
async fn a_hanging_backend_trips_its_breaker_and_outlier_detection_and_others_stay_fast()
-> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Text],
        echo: &["echo"],
        traffic: &[(
            "echo",
            "{timeout: 3s, maxRequests: 2, outlierDetection: {consecutiveGatewayErrors: 2, \
             baseEjectionTime: 60s, maxEjectionTime: 60s}}",
        )],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    // The backend session exists and the server answers while it is healthy.
    slow_echo(&raw, &session, 0).await?.result()?;

    // Six calls that hang: two reach the server (maxRequests) and time out, the other four
    // are refused at once by the circuit breaker. Meanwhile text answers as fast as ever.
    let hanging = join_all((0..6).map(|_| slow_echo(&raw, &session, 30_000)));
    let others = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut slowest = Duration::ZERO;
        for _ in 0..5 {
            let started = Instant::now();
            call(&raw, &session, "text_upper", 0).await?.result()?;
            slowest = slowest.max(started.elapsed());
        }
        anyhow::Ok(slowest)
    };
    let (hung, slowest) = tokio::join!(hanging, others);
    let slowest = slowest?;
    ensure!(
        slowest < Duration::from_millis(1500),
        "a call to text took {slowest:?} while echo hung"
    );
    let mut timed_out = 0;
    let mut refused = 0;
    for reply in hung {
        let reply = reply?;
        ensure!(reply.status == StatusCode::OK, "{reply}");
        let message = reply.error_message().unwrap_or_default().to_owned();
        match reply.error_code() {
            Some(REQUEST_TIMEOUT) => timed_out += 1,
            Some(INTERNAL_ERROR) if message.contains("circuit breaker open") => refused += 1,
            _ => anyhow::bail!("unexpected answer to a hanging call: {reply}"),
        }
    }
    ensure!(
        timed_out == 2 && refused == 4,
        "{timed_out} timed out, {refused} refused by the breaker"
    );
    // Only the two that reached the server count as its requests (the refusals carry
    // Envoy's UO flag, which the error body above reflects).
    let reached = gateway
        .envoy_counter("cluster.mcp_server_echo.upstream_rq_total")
        .await?;
    ensure!(
        reached == 3,
        "{reached} requests reached echo (1 healthy + 2 hanging)"
    );

    // Two consecutive timeouts ejected the only host: calls now fail at once, without
    // reaching the server, instead of hanging.
    eventually("Envoy to eject the hanging host", || async {
        let ejected = gateway
            .envoy_counter("cluster.mcp_server_echo.outlier_detection.ejections_enforced_total")
            .await?;
        ensure!(ejected >= 1, "no ejection yet");
        Ok(())
    })
    .await?;
    let started = Instant::now();
    let reply = slow_echo(&raw, &session, 0).await?;
    ensure!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    ensure!(reply.error_code() == Some(INTERNAL_ERROR), "{reply}");
    ensure!(
        reply
            .error_message()
            .unwrap_or_default()
            .contains("MCP server 'echo' is unavailable (Envoy response flags: UH)"),
        "{reply}"
    );
    call(&raw, &session, "text_upper", 0).await?.result()?;
    Ok(())
}

/// With `auth:` on, a caller is the subject of its verified token: one caller using up its
/// limit leaves another's alone. Needs `npm ci --prefix e2e/node` (the identity provider).
#[tokio::test]
async fn a_per_caller_limit_counts_each_verified_caller_on_its_own() -> Result<()> {
    let idp = IdentityProvider::start("alice:alice-secret,bob:bob-secret").await?;
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await?;
    let resource = gateway.mcp_url();
    let servers = gateway.config_yaml(&[ServerKind::Calc])?.replace(
        "  - name: calc\n",
        "  - name: calc\n    traffic: {rateLimit: {perCaller: {requests: 2, per: 60s}}}\n",
    );
    gateway.write_config(&format!("{servers}{}", idp.auth_section(&resource)))?;
    let raw = gateway.raw()?;
    let token = |client: &'static str| {
        let idp = &idp;
        let resource = &resource;
        async move {
            let token = idp
                .client_token(client, &format!("{client}-secret"), resource, Some("mcp"))
                .await?;
            anyhow::Ok(format!("Bearer {token}"))
        }
    };
    let (alice, bob) = (token("alice").await?, token("bob").await?);
    let post = |bearer: &str, session: Option<&str>, body: serde_json::Value| {
        let mut headers = vec![("authorization", bearer.to_owned())];
        if let Some(session) = session {
            headers.push((SESSION_HEADER, session.to_owned()));
        }
        let raw = &raw;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            raw.post_with(&headers, body.to_string()).await
        }
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "traffic-e2e", "version": "0"}}});
    let add = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}}});
    // Auth on and the limit in Envoy: alice is refused within a few calls.
    // Auth first, then alice's session: a session made before the reload turned auth on
    // belongs to nobody, and alice's calls on it would rightly get 404.
    let alice_session = eventually("auth on for alice", || async {
        let anonymous = raw.list_tools(None).await?;
        ensure!(anonymous.status == StatusCode::UNAUTHORIZED, "{anonymous}");
        let reply = post(&alice, None, initialize.clone()).await?;
        ensure!(reply.status == StatusCode::OK, "{reply}");
        reply.session_id().map(str::to_owned).context("no session")
    })
    .await?;
    let refused = eventually("alice to be rate limited", || async {
        let reply = post(&alice, Some(&alice_session), add.clone()).await?;
        ensure!(
            reply.status == StatusCode::TOO_MANY_REQUESTS,
            "not yet: {reply}"
        );
        Ok(reply)
    })
    .await?;
    assert_rate_limited(&refused, "calc", 60)?;
    // Bob has a bucket of his own.
    let reply = post(&bob, None, initialize.clone()).await?;
    let bob_session = reply.session_id().context("bob's session")?.to_owned();
    let reply = post(&bob, Some(&bob_session), add.clone()).await?;
    reply.result().context("bob is limited by alice's calls")?;
    let again = post(&alice, Some(&alice_session), add).await?;
    ensure!(again.status == StatusCode::TOO_MANY_REQUESTS, "{again}");
    Ok(())
}

/// A reload with a misspelt traffic key is rejected with a message naming it, and the last
/// good policy (a limit) stays in force in Envoy.
#[tokio::test]
async fn a_bad_traffic_policy_is_rejected_and_the_last_good_limit_stays() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Text],
        traffic: &[("text", "{rateLimit: {perTool: {requests: 2, per: 60s}}}")],
        ..GatewayOptions::default()
    })
    .await?;
    let bad = gateway.config_yaml(&[ServerKind::Text])?.replace(
        "  - name: text\n",
        "  - name: text\n    traffic: {rateLimit: {perTol: {requests: 1000, per: 1s}}}\n",
    );
    gateway.write_config(&bad)?;
    eventually("the gateway to reject the misspelt key", || async {
        let log = gateway.gateway_log();
        ensure!(
            log.contains("configuration rejected") && log.contains("perTol"),
            "not yet"
        );
        Ok(())
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let (passed, refused) = exhaust(&raw, &session, "text_upper").await?;
    ensure!(
        passed == 2,
        "the old limit of 2 no longer holds: {passed} passed"
    );
    assert_rate_limited(&refused, "text", 60)?;
    Ok(())
}
