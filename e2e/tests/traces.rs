//! OpenTelemetry traces end to end: Envoy's tracer (`envoy-config --otlp-endpoint`) and the
//! gateway's own spans (`--otlp-endpoint`) reach one OTLP receiver, and a client's
//! `traceparent` is continued through Envoy, the router, the broker and the backend call;
//! in module mode (`--mode module`, the routing core inside Envoy) through Envoy and the
//! broker.
//!
//! The receiver is the harness's ([`OtlpReceiver`]: the OpenTelemetry protos over tonic;
//! no OpenTelemetry Collector can be installed here). Every span it checks comes from the
//! real Envoy tracer or the real gateway binary.

use anyhow::{Context, Result, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, Mode, OtlpReceiver, ReceivedSpan, ServerKind, call_text,
    call_tool, connect_over, eventually, http_client, json_rpc_error, list_tools,
};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

/// The client's trace and span: everything the gateway does for it must join this trace.
const TRACE: &str = "5d1c0f2a9b8e7d6c5b4a39281706f5e4";
const CLIENT_SPAN: &str = "a1b2c3d4e5f60718";
const ENVOY: &str = "mcp-gateway-envoy";
const GATEWAY: &str = "mcp-broker-router";

/// Whether `span` descends from the span `ancestor` (by parent ids within `spans`).
fn descends_from(spans: &[ReceivedSpan], span: &ReceivedSpan, ancestor: &str) -> bool {
    let mut parent = span.parent_id.clone();
    for _ in 0..16 {
        if parent == ancestor {
            return true;
        }
        match spans.iter().find(|s| s.span_id == parent) {
            Some(next) => parent = next.parent_id.clone(),
            None => return false,
        }
    }
    false
}

fn describe(spans: &[ReceivedSpan]) -> String {
    spans
        .iter()
        .map(|s| {
            format!(
                "{} {:?} trace={} id={} parent={} kind={} {:?}",
                s.service, s.name, s.trace_id, s.span_id, s.parent_id, s.kind, s.attributes
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Envoy's span of the client's request with method `method` (a child of the client's span).
fn envoy_request<'a>(spans: &'a [ReceivedSpan], method: &str) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| {
        s.service == ENVOY
            && s.parent_id == CLIENT_SPAN
            && s.attribute("mcp.method.name") == Some(method)
    })
}

/// Checks the trace of one `tools/call calc_add`, one `tools/list` and one call the router
/// refused with JSON-RPC error `refused`.
fn check(spans: &[ReceivedSpan], refused: i64) -> Result<()> {
    let spans: Vec<ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == TRACE)
        .cloned()
        .collect();
    let spans = spans.as_slice();

    // tools/call: Envoy's request span continues the client's, tagged from the router's
    // metadata; its upstream span is the call to the backend's cluster.
    let Some(call) = envoy_request(spans, "tools/call") else {
        bail!("no Envoy span of tools/call under the client's span");
    };
    ensure!(
        call.attribute("gen_ai.tool.name") == Some("add"),
        "tool: {call:?}"
    );
    ensure!(
        call.attribute("mcp_gateway.server") == Some("calc"),
        "server: {call:?}"
    );
    ensure!(
        spans.iter().any(|s| s.service == ENVOY
            && s.parent_id == call.span_id
            && s.attribute("upstream_cluster.name")
                .or(s.attribute("upstream_cluster"))
                == Some("mcp_server_calc")),
        "no Envoy upstream span to the backend's cluster under {}",
        call.span_id
    );
    // The router's decision, within Envoy's span, with what it decided.
    let Some(route) = spans.iter().find(|s| {
        s.service == GATEWAY
            && s.name == "route tools/call"
            && descends_from(spans, s, &call.span_id)
    }) else {
        bail!(
            "no router span of tools/call under Envoy's {}",
            call.span_id
        );
    };
    ensure!(
        route.attribute("mcp.method.name") == Some("tools/call"),
        "{route:?}"
    );
    ensure!(
        route.attribute("gen_ai.tool.name") == Some("add"),
        "{route:?}"
    );
    ensure!(
        route.attribute("mcp_gateway.server") == Some("calc"),
        "{route:?}"
    );
    let session = route
        .attribute("mcp.session.id")
        .unwrap_or_default()
        .to_owned();
    ensure!(session.len() == 16, "the session is hashed: {route:?}");
    // The first call of the session opened its backend session, with the backend's
    // initialize under it.
    let Some(open) = spans.iter().find(|s| {
        s.service == GATEWAY && s.name == "backend session open" && s.parent_id == route.span_id
    }) else {
        bail!("no backend session open under the router's span");
    };
    ensure!(
        open.attribute("mcp_gateway.server") == Some("calc"),
        "{open:?}"
    );
    ensure!(
        spans
            .iter()
            .any(|s| s.name == "initialize" && s.kind == 3 && s.parent_id == open.span_id),
        "no initialize client span under the backend session open"
    );

    // tools/list: answered by the broker from its catalog, within Envoy's span of it.
    let Some(list) = spans.iter().find(|s| {
        s.service == GATEWAY
            && s.name == "tools/list"
            && s.attribute("mcp.method.name") == Some("tools/list")
    }) else {
        bail!("no broker span of tools/list");
    };
    let tools = ServerKind::Calc.tools().len().to_string();
    ensure!(
        list.attribute("mcp_gateway.list.items") == Some(tools.as_str()),
        "{list:?}"
    );
    ensure!(
        list.attribute("mcp.session.id") == Some(session.as_str()),
        "{list:?}"
    );
    // The session's initialize already names it, so its whole life can be found.
    ensure!(
        spans.iter().any(|s| s.service == GATEWAY
            && s.name == "initialize"
            && s.kind == 2
            && s.attribute("mcp.session.id") == Some(session.as_str())),
        "the broker's initialize span does not name the session it opened"
    );
    let Some(envoy_list) = spans.iter().find(|s| {
        s.service == ENVOY && s.parent_id == CLIENT_SPAN && descends_from(spans, list, &s.span_id)
    }) else {
        bail!("the broker's tools/list span is not under an Envoy span of the client's request");
    };
    ensure!(
        spans.iter().any(|s| s.service == GATEWAY
            && s.name == "route tools/list"
            && descends_from(spans, s, &envoy_list.span_id)),
        "no router span of tools/list under Envoy's {}",
        envoy_list.span_id
    );

    // The refused call: Envoy's span carries the router's error code, and so does the
    // router's span under it.
    let code = refused.to_string();
    let Some(envoy_refused) = spans.iter().find(|s| {
        s.service == ENVOY
            && s.parent_id == CLIENT_SPAN
            && s.attribute("rpc.jsonrpc.error_code") == Some(code.as_str())
    }) else {
        bail!("no Envoy span with the JSON-RPC error code {code}");
    };
    ensure!(
        spans.iter().any(|s| s.service == GATEWAY
            && s.name == "route tools/call"
            && s.attribute("error.type") == Some(code.as_str())
            && s.attribute("rpc.jsonrpc.error_code") == Some(code.as_str())
            && descends_from(spans, s, &envoy_refused.span_id)),
        "no router span with error {code} under Envoy's {}",
        envoy_refused.span_id
    );
    Ok(())
}

/// Checks the module mode's trace of one `tools/call calc_add` and one `tools/list`: the
/// call is decided inside Envoy (no router span), whose spans carry the same attributes; the
/// broker's spans are under Envoy's.
fn check_module(spans: &[ReceivedSpan]) -> Result<()> {
    let spans: Vec<ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == TRACE)
        .cloned()
        .collect();
    let spans = spans.as_slice();
    let Some(call) = envoy_request(spans, "tools/call") else {
        bail!("no Envoy span of tools/call under the client's span");
    };
    ensure!(
        call.attribute("gen_ai.tool.name") == Some("add"),
        "tool: {call:?}"
    );
    ensure!(
        call.attribute("mcp_gateway.server") == Some("calc"),
        "server: {call:?}"
    );
    ensure!(
        spans.iter().any(|s| s.service == ENVOY
            && s.parent_id == call.span_id
            && s.attribute("upstream_cluster") == Some("mcp_server_calc")),
        "no Envoy upstream span to the backend's cluster under {}",
        call.span_id
    );
    let Some(list) = spans
        .iter()
        .find(|s| s.service == GATEWAY && s.name == "tools/list")
    else {
        bail!("no broker span of tools/list");
    };
    ensure!(
        spans.iter().any(|s| s.service == ENVOY
            && s.parent_id == CLIENT_SPAN
            && descends_from(spans, list, &s.span_id)),
        "the broker's tools/list span is not under an Envoy span of the client's request"
    );
    Ok(())
}

/// The gateway and Envoy exporting to one receiver, and a client whose every request
/// carries the `traceparent` of [`TRACE`] / [`CLIENT_SPAN`].
async fn traced_gateway(mode: Mode) -> Result<(OtlpReceiver, Gateway, McpClient)> {
    let receiver = OtlpReceiver::start().await?;
    let collector = format!("http://{}", receiver.address());
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        gateway_env: &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector),
            // Batches every 100 ms, so the test does not wait for the default 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
        envoy_config_args: &["--otlp-endpoint", &collector],
        mode,
        ..GatewayOptions::default()
    })
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_str(&format!("00-{TRACE}-{CLIENT_SPAN}-01"))?,
    );
    drop(http_client()?); // installs the TLS provider reqwest needs
    let http = reqwest::Client::builder()
        .no_proxy()
        .default_headers(headers)
        .build()?;
    let client = connect_over(&gateway.mcp_url(), http).await?;
    Ok((receiver, gateway, client))
}

/// Waits until `check` passes on what `receiver` got; on failure, shows every span.
async fn expect_trace(
    receiver: &OtlpReceiver,
    gateway: &Gateway,
    what: &str,
    check: impl Fn(&[ReceivedSpan]) -> Result<()>,
) -> Result<()> {
    let check = &check;
    let checked = eventually(what, || {
        let spans = receiver.spans();
        async move { check(&spans) }
    })
    .await;
    if let Err(error) = checked {
        bail!(
            "{error:#}\nspans received:\n{}\n{}",
            describe(&receiver.spans()),
            gateway.log_tails()
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_and_a_list_are_one_trace_from_client_to_backend() -> Result<()> {
    let (receiver, gateway, client) = traced_gateway(Mode::ExtProc).await?;
    let sum = call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?;
    assert_eq!(sum, "5");
    let tools = list_tools(&client).await?;
    assert_eq!(tools.len(), ServerKind::Calc.tools().len());
    let unknown = call_tool(&client, "calc_nope", json!({}))
        .await
        .expect_err("no such tool");
    let refused = json_rpc_error(&unknown)
        .map(|e| i64::from(e.code.0))
        .context("a JSON-RPC error")?;
    expect_trace(
        &receiver,
        &gateway,
        "one connected trace of the calls and the list",
        |spans| check(spans, refused),
    )
    .await?;
    client.cancel().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_mode_traces_envoy_and_the_broker() -> Result<()> {
    let (receiver, gateway, client) = traced_gateway(Mode::Module).await?;
    let sum = call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?;
    assert_eq!(sum, "5");
    list_tools(&client).await?;
    expect_trace(
        &receiver,
        &gateway,
        "one trace of the call and the list (module mode)",
        check_module,
    )
    .await?;
    client.cancel().await?;
    Ok(())
}
