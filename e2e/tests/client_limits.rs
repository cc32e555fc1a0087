//! Envoy's limits on clients, as the gateway renders them: a client that trickles its
//! headers or its body is cut off, header names with `_` are refused (a backend folding
//! `_` into `-` would see a session header the router never checked), and a response that
//! takes longer than the request limit is not cut.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, PROTOCOL_VERSION, SESSION_HEADER, ServerKind};
use mcp_gateway_e2e::{WireRequest, send_wire};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The rendered limits, shortened so the test runs in seconds.
fn short_limits(bootstrap: String) -> String {
    let out = bootstrap
        .replace(
            "request_headers_timeout: 10s",
            "request_headers_timeout: 1s",
        )
        .replace("request_timeout: 60s", "request_timeout: 2s");
    assert!(
        out.contains("request_headers_timeout: 1s") && out.contains("request_timeout: 2s"),
        "the bootstrap's client limits changed: {out}"
    );
    out
}

/// Writes `head` (and nothing more) and returns the status Envoy answers with, and when.
async fn stall(gateway: &Gateway, head: &str) -> Result<(String, Duration)> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(gateway.envoy_listener()).await?;
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .context("Envoy kept the stalled request open")??;
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or_default().to_owned();
    Ok((status, start.elapsed()))
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_underscored_headers_refused() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        edit_bootstrap: Some(short_limits),
        ..GatewayOptions::default()
    })
    .await?;

    // Headers never finished.
    let (status, took) = stall(&gateway, "POST /mcp HTTP/1.1\r\nhost: gw\r\n").await?;
    ensure!(
        took < Duration::from_secs(10),
        "half-sent headers held the connection for {took:?} ({status})"
    );

    // Headers sent, body trickled: the request limit answers 408.
    let (status, took) = stall(
        &gateway,
        "POST /mcp HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"",
    )
    .await?;
    ensure!(status.contains(" 408"), "a trickled body got {status:?}");
    ensure!(took < Duration::from_secs(10), "it took {took:?}");

    // A session header spelled with `_`.
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let request = WireRequest {
        method: "POST".into(),
        target: "/mcp".into(),
        headers: vec![
            ("host".into(), "gw".into()),
            ("content-type".into(), "application/json".into()),
            (
                "accept".into(),
                "application/json, text/event-stream".into(),
            ),
            ("mcp-protocol-version".into(), PROTOCOL_VERSION.into()),
            (SESSION_HEADER.into(), session.clone()),
            ("mcp_session_id".into(), "someone-elses".into()),
        ],
        body: json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "calc_add", "arguments": {"a": 1, "b": 2}}})
        .to_string(),
    };
    // Envoy's HTTP/1 codec refuses the request: a 400, or (as Envoy 1.40 does) the
    // connection closed with nothing sent on. Either way the backend never sees it.
    let before = gateway
        .envoy_counter("cluster.mcp_server_calc.upstream_rq_total")
        .await?;
    match send_wire(gateway.envoy_listener(), &request).await {
        Ok(reply) => ensure!(reply.status == 400, "an underscored header got {reply}"),
        Err(error) => ensure!(
            error
                .to_string()
                .contains("connection closed before the response headers"),
            "{error:#}"
        ),
    }
    let after = gateway
        .envoy_counter("cluster.mcp_server_calc.upstream_rq_total")
        .await?;
    ensure!(
        after == before,
        "the underscored request reached the backend"
    );
    // Without the underscored header the same request goes through.
    let mut plain = request.clone();
    plain.headers.retain(|(name, _)| name != "mcp_session_id");
    let reply = send_wire(gateway.envoy_listener(), &plain).await?;
    ensure!(reply.status == 200, "the plain request failed: {reply}");

    // Responses are not limited by the request limit: the session's GET stream is still
    // open well past it.
    let mut stream = TcpStream::connect(gateway.envoy_listener()).await?;
    let head = format!(
        "GET /mcp HTTP/1.1\r\nhost: gw\r\naccept: text/event-stream\r\n{SESSION_HEADER}: {session}\r\nmcp-protocol-version: {PROTOCOL_VERSION}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await?;
    let first = String::from_utf8_lossy(&buf[..n]).into_owned();
    ensure!(
        first.starts_with("HTTP/1.1 200"),
        "the GET stream was refused: {first}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let still_open = loop {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Err(_) => break true,
            Ok(Ok(0)) | Ok(Err(_)) => break false,
            Ok(Ok(_)) => {} // a keep-alive or an event: keep reading
        }
    };
    ensure!(still_open, "the GET stream was cut after the request limit");
    Ok(())
}
