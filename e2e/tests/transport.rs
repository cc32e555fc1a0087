//! The transport rules through real Envoy (and on the broker directly, which applies the
//! same `mcp_gateway_protocol::transport` check): only the MCP path, only POST, GET and
//! DELETE, each header the gateway acts on once, and request bodies without ambiguity
//! (no repeated key at any depth) or values typical backends choke on. Every refusal is a
//! JSON-RPC error, and no refused request reaches a backend (Envoy's counter of requests
//! to `calc` stays put).

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, PROTOCOL_VERSION, RawClient, SESSION_HEADER, ServerKind, WireReply,
    WireRequest, send_wire,
};
use serde_json::json;
use std::net::SocketAddr;

const BACKEND_REQUESTS: &str = "cluster.mcp_server_calc.upstream_rq_total";
const INVALID_REQUEST: i64 = -32600;

fn call(id: u64) -> String {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}},
    })
    .to_string()
}

/// A request to `target` with the usual MCP headers, `extra` appended in order.
fn request(method: &str, target: &str, extra: &[(&str, &str)], body: &str) -> WireRequest {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), "gateway.example".into()),
        ("content-type".into(), "application/json".into()),
        (
            "accept".into(),
            "application/json, text/event-stream".into(),
        ),
    ];
    headers.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    WireRequest {
        method: method.into(),
        target: target.into(),
        headers,
        body: body.into(),
    }
}

/// A JSON-RPC error reply with this status and code; returns its message.
fn error(reply: &WireReply, status: u16, what: &str) -> Result<String> {
    ensure!(reply.status == status, "{what}: want {status}, got {reply}");
    let body = reply
        .json()
        .with_context(|| format!("{what}: not JSON: {reply}"))?;
    ensure!(
        body["jsonrpc"] == "2.0" && body["error"]["code"] == INVALID_REQUEST,
        "{what}: not a JSON-RPC -32600 error: {reply}"
    );
    Ok(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Records a failure unless `reply` is that refusal and its message holds `needle`: one
/// run lists every case that does not hold.
fn refused(failures: &mut Vec<String>, reply: &WireReply, status: u16, needle: &str, what: &str) {
    match error(reply, status, what) {
        Ok(message) if message.contains(needle) => {}
        Ok(message) => failures.push(format!("{what}: {message}")),
        Err(e) => failures.push(e.to_string()),
    }
}

struct Setup {
    gateway: Gateway,
    session: String,
}

impl Setup {
    async fn start() -> Result<Self> {
        let gateway = Gateway::start(GatewayOptions {
            servers: &[ServerKind::Calc],
            ..GatewayOptions::default()
        })
        .await?;
        let session = gateway.raw()?.initialize().await?;
        Ok(Self { gateway, session })
    }

    fn envoy(&self) -> SocketAddr {
        self.gateway.envoy_listener()
    }

    fn broker(&self) -> Result<SocketAddr> {
        let url = self.gateway.broker_url();
        let authority = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        authority.parse().context("the broker's address")
    }

    fn with_session<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut headers = vec![
            (SESSION_HEADER, self.session.as_str()),
            ("mcp-protocol-version", PROTOCOL_VERSION),
        ];
        headers.extend_from_slice(extra);
        headers
    }

    async fn backend_requests(&self) -> Result<u64> {
        self.gateway.envoy_counter(BACKEND_REQUESTS).await
    }

    /// A routed call through Envoy still works, with `query` after the MCP path, and moves
    /// the counter by one.
    async fn call_works(&self, query: &str) -> Result<()> {
        let before = self.backend_requests().await?;
        let raw = RawClient::new(&format!("{}{query}", self.gateway.mcp_url()))?;
        let reply = raw
            .call_tool(Some(&self.session), "calc_add", json!({"a": 2, "b": 3}))
            .await?;
        ensure!(reply.tool_text()? == "5", "call with {query:?}: {reply}");
        ensure!(
            self.backend_requests().await? == before + 1,
            "one backend request"
        );
        Ok(())
    }
}

#[tokio::test]
async fn only_post_get_and_delete_on_the_mcp_path() -> Result<()> {
    let setup = Setup::start().await?;
    let mut failures = Vec::new();
    let before = setup.backend_requests().await?;
    for addr in [setup.envoy(), setup.broker()?] {
        for method in ["PUT", "PATCH", "OPTIONS", "TRACE"] {
            for body in [call(1), String::new()] {
                let what = format!("{method} to {addr} with {} body", body.len());
                let reply = send_wire(
                    addr,
                    &request(method, "/mcp", &setup.with_session(&[]), &body),
                )
                .await?;
                refused(&mut failures, &reply, 405, "not allowed", &what);
                if reply.header("allow") != Some("GET, POST, DELETE") {
                    failures.push(format!("{what}: no Allow: {reply}"));
                }
            }
        }
        // HEAD answers carry no body: the status and Allow say it.
        let reply = send_wire(addr, &request("HEAD", "/mcp", &setup.with_session(&[]), "")).await?;
        if reply.status != 405 || reply.header("allow") != Some("GET, POST, DELETE") {
            failures.push(format!("HEAD to {addr}: {reply}"));
        }
    }
    if setup.backend_requests().await? != before {
        failures.push("a refused method reached the backend".into());
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));

    // DELETE ends the session and ignores its body: a tools/call inside is never routed.
    let raw = setup.gateway.raw()?;
    let doomed = raw.initialize().await?;
    let headers = [
        (SESSION_HEADER, doomed.as_str()),
        ("mcp-protocol-version", PROTOCOL_VERSION),
    ];
    let reply = send_wire(
        setup.envoy(),
        &request("DELETE", "/mcp", &headers, &call(2)),
    )
    .await?;
    ensure!(reply.status == 200, "DELETE with a body: {reply}");
    ensure!(
        setup.backend_requests().await? == before,
        "a DELETE's body was routed to the backend"
    );
    let reply = raw.list_tools(Some(&doomed)).await?;
    ensure!(reply.status == 404, "the session ended: {reply}");
    setup.call_works("").await
}

#[tokio::test]
async fn only_the_mcp_path_serves_mcp() -> Result<()> {
    let setup = Setup::start().await?;
    let mut failures = Vec::new();
    let before = setup.backend_requests().await?;
    for addr in [setup.envoy(), setup.broker()?] {
        for path in ["/", "/foo", "/MCP", "/mcp/", "/mcp/x", "/readyz/../foo"] {
            let what = format!("POST {path} to {addr}");
            let reply = send_wire(
                addr,
                &request("POST", path, &setup.with_session(&[]), &call(1)),
            )
            .await?;
            refused(&mut failures, &reply, 404, "no MCP endpoint", &what);
        }
    }
    if setup.backend_requests().await? != before {
        failures.push("a request to another path reached the backend".into());
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    // What Envoy serves besides MCP: the OAuth metadata (both forms) and the liveness probe.
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/healthz",
    ] {
        let reply = send_wire(setup.envoy(), &request("GET", path, &[], "")).await?;
        ensure!(reply.status == 200, "GET {path}: {reply}");
    }
    // The readiness probe, which names servers, is the broker's only.
    let reply = send_wire(setup.envoy(), &request("GET", "/readyz", &[], "")).await?;
    error(&reply, 404, "GET /readyz through Envoy")?;
    setup.call_works("?x=1").await
}

#[tokio::test]
async fn headers_the_gateway_acts_on_are_sent_once() -> Result<()> {
    let setup = Setup::start().await?;
    let mut failures = Vec::new();
    let raw = setup.gateway.raw()?;
    let other = raw.initialize().await?;
    let before = setup.backend_requests().await?;
    let (a, b) = (setup.session.as_str(), other.as_str());
    let cases: [(&str, &[(&str, &str)]); 7] = [
        (
            "mcp-session-id",
            &[(SESSION_HEADER, a), (SESSION_HEADER, b)],
        ),
        (
            "mcp-protocol-version",
            &[
                (SESSION_HEADER, a),
                ("mcp-protocol-version", PROTOCOL_VERSION),
                ("mcp-protocol-version", "2025-03-26"),
            ],
        ),
        (
            "origin",
            &[
                (SESSION_HEADER, a),
                ("origin", "http://localhost:1"),
                ("origin", "http://localhost:2"),
            ],
        ),
        (
            "authorization",
            &[
                (SESSION_HEADER, a),
                ("authorization", "Bearer one"),
                ("authorization", "Bearer two"),
            ],
        ),
        (
            "last-event-id",
            &[
                (SESSION_HEADER, a),
                ("last-event-id", "g1"),
                ("last-event-id", "g2"),
            ],
        ),
        ("mcp-session-id", &[(SESSION_HEADER, &format!("{a},{b}"))]),
        (
            "mcp-session-id",
            &[("Mcp-Session-Id", a), ("MCP-SESSION-ID", b)],
        ),
    ];
    for addr in [setup.envoy(), setup.broker()?] {
        for (name, headers) in &cases {
            for method in ["POST", "GET", "DELETE"] {
                let body = if method == "POST" {
                    call(1)
                } else {
                    String::new()
                };
                let what = format!("{method} to {addr} with {headers:?}");
                let reply = send_wire(addr, &request(method, "/mcp", headers, &body))
                    .await
                    .with_context(|| what.clone())?;
                let needle = format!("header {name} was sent more than once");
                refused(&mut failures, &reply, 400, &needle, &what);
            }
        }
    }
    if setup.backend_requests().await? != before {
        failures.push("a request with repeated headers reached the backend".into());
    }
    // Neither session was ended by the DELETEs.
    for session in [a, b] {
        let reply = raw.list_tools(Some(session)).await?;
        if reply.status != 200 {
            failures.push(format!("session {session} ended: {reply}"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    setup.call_works("").await
}

#[tokio::test]
async fn bodies_are_unambiguous_and_digestible() -> Result<()> {
    let setup = Setup::start().await?;
    let mut failures = Vec::new();
    let before = setup.backend_requests().await?;
    let call_with = |params: &str, id: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{params}}}"#)
    };
    let deep = format!(
        r#"{{"name":"calc_add","arguments":{{"a":1,"b":2,"c":{}{}}}}}"#,
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    let cases = [
        (
            call_with(
                r#"{"name":"calc_add","arguments":{"a":1,"b":2},"arguments":{"a":7,"b":7}}"#,
                "1",
            ),
            r#"duplicate key "arguments""#,
        ),
        (
            call_with(
                r#"{"name":"calc_add","name":"calc_add","arguments":{"a":1,"b":2}}"#,
                "1",
            ),
            r#"duplicate key "name""#,
        ),
        (
            call_with(
                r#"{"name":"calc_add","arguments":{"a":1,"b":2},"_meta":{},"_meta":{"x":1}}"#,
                "1",
            ),
            r#"duplicate key "_meta""#,
        ),
        (
            call_with(
                r#"{"name":"calc_add","arguments":{"a":1,"b":2,"o":{"k":1,"k":2}}}"#,
                "1",
            ),
            r#"duplicate key "k""#,
        ),
        (
            call_with(
                r#"{"name":"calc_add","arguments":{"a":1,"b":2}}"#,
                "1180591620717411303424",
            ),
            "does not fit in 64 bits",
        ),
        (
            call_with(r#"{"name":"calc_add","arguments":{"a":1e999,"b":2}}"#, "1"),
            "out of range of a 64-bit float",
        ),
        (
            call_with(
                r#"{"name":"calc_add","arguments":{"a":1,"b":2,"s":"\ud800"}}"#,
                "1",
            ),
            "lone UTF-16 surrogate",
        ),
        (call_with(&deep, "1"), "JSON nested deeper than 64 levels"),
    ];
    for addr in [setup.envoy(), setup.broker()?] {
        for (body, reason) in &cases {
            let what = format!("{reason} to {addr}");
            let reply = send_wire(
                addr,
                &request("POST", "/mcp", &setup.with_session(&[]), body),
            )
            .await?;
            refused(&mut failures, &reply, 400, reason, &what);
        }
    }
    if setup.backend_requests().await? != before {
        failures.push("an ambiguous or indigestible body reached the backend".into());
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    setup.call_works("").await
}
