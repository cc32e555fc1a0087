//! Through Envoy with a real MCP client and two backends: aggregated resources and
//! templates with per-server URIs (both backends offer `file:///notes.txt`), reads
//! routed by URI (listed or produced by a template), and subscriptions.
#![allow(deprecated)] // resources/(un)subscribe: legacy-only in rmcp, current in 2025-11-25.

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, Mode, RawClient, Reply, ServerKind, json_rpc_error, within,
};
use rmcp::model::{
    ErrorCode, ReadResourceRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
};
use serde_json::{Value, json};

async fn both(mode: Mode) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await
}

/// `resources/read` of `uri`: its one content, as JSON.
async fn read(client: &McpClient, uri: &str) -> Result<Value> {
    let result = within(
        &format!("resources/read {uri}"),
        client.read_resource(ReadResourceRequestParams::new(uri)),
    )
    .await?;
    ensure!(result.contents.len() == 1, "{uri}: {result:?}");
    Ok(serde_json::to_value(&result.contents[0])?)
}

/// The `text` of a resource content.
fn text(contents: &Value) -> Result<&str> {
    contents
        .get("text")
        .and_then(Value::as_str)
        .with_context(|| format!("no text in {contents}"))
}

async fn keeps_same_uris_of_two_backends_apart(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let client = gateway.client().await?;

    let resources = within("resources/list", client.list_all_resources()).await?;
    let mut uris: Vec<&str> = resources
        .iter()
        .map(|resource| resource.uri.as_str())
        .collect();
    uris.sort_unstable();
    assert_eq!(
        uris,
        [
            "calc://calc_constants",
            "file://calc_/notes.txt",
            "file://text_/notes.txt",
            "text://text_readme",
        ]
    );
    let templates = within(
        "resources/templates/list",
        client.list_all_resource_templates(),
    )
    .await?;
    let mut patterns: Vec<&str> = templates
        .iter()
        .map(|template| template.uri_template.as_str())
        .collect();
    patterns.sort_unstable();
    assert_eq!(
        patterns,
        ["calc://calc_square/{n}", "text://text_words/{word}"]
    );

    let calc_notes = read(&client, "file://calc_/notes.txt").await?;
    ensure!(
        text(&calc_notes)?.starts_with("Notes of the calc server"),
        "{calc_notes}"
    );
    let text_notes = read(&client, "file://text_/notes.txt").await?;
    ensure!(
        text(&text_notes)?.starts_with("Notes of the text server"),
        "{text_notes}"
    );
    // The contents name the URI the client asked for, not the backend's.
    assert_eq!(calc_notes["uri"], "file://calc_/notes.txt");
    assert_eq!(text_notes["uri"], "file://text_/notes.txt");

    let constants = read(&client, "calc://calc_constants").await?;
    let constants: Value = serde_json::from_str(text(&constants)?)?;
    assert_eq!(constants["pi"], std::f64::consts::PI);
    let readme = read(&client, "text://text_readme").await?;
    ensure!(text(&readme)?.starts_with("The text server"), "{readme}");

    client.cancel().await?;
    Ok(())
}

/// The JSON text of the JSON-RPC response a reply carried, exactly as sent: the body, or the
/// `data` of the event that holds the response.
fn response_text(reply: &Reply) -> Result<String> {
    if reply.body.trim_start().starts_with('{') {
        return Ok(reply.body.trim().to_owned());
    }
    reply
        .body
        .split("\n\n")
        .map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|data| data.strip_prefix(' ').unwrap_or(data))
                .collect();
            data.join("\n")
        })
        .find(|data| data.contains("\"result\"") || data.contains("\"error\""))
        .with_context(|| format!("no JSON-RPC response in {reply}"))
}

/// `resources/read` of `uri` on a fresh raw session at `client`: the response's text.
async fn read_raw(client: &RawClient, uri: &str) -> Result<String> {
    let session = client.initialize().await?;
    let reply = client
        .request(Some(&session), 5, "resources/read", json!({"uri": uri}))
        .await?;
    response_text(&reply)
}

async fn a_read_answer_keeps_the_backends_bytes_but_its_uri(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let direct = RawClient::new(&gateway.backend("calc")?.url())?;
    let backend = read_raw(&direct, "file:///notes.txt").await?;
    // The backend's key order is not serde_json's sorted one, so a re-serialised answer
    // would differ.
    let sorted = serde_json::from_str::<Value>(&backend)?.to_string();
    ensure!(
        sorted != backend,
        "backend answer is already sorted: {backend}"
    );

    let through = read_raw(&gateway.raw()?, "file://calc_/notes.txt").await?;
    let want = backend.replace(
        r#""uri":"file:///notes.txt""#,
        r#""uri":"file://calc_/notes.txt""#,
    );
    ensure!(want != backend, "no URI in {backend}");
    assert_eq!(through, want);
    Ok(())
}

async fn reads_uris_that_only_a_template_produces(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let client = gateway.client().await?;

    let square = read(&client, "calc://calc_square/7").await?;
    assert_eq!(text(&square)?, "49");
    assert_eq!(square["uri"], "calc://calc_square/7");
    let word = read(&client, "text://text_words/envoy").await?;
    let facts: Value = serde_json::from_str(text(&word)?)?;
    assert_eq!(facts["word"], "envoy");
    assert_eq!(facts["reversed"], "yovne");

    // No server has the prefix: the gateway answers. The prefix of a server that has
    // no such resource: the backend does.
    let error = read(&client, "file://nope_/notes.txt").await.err();
    let code = error
        .as_ref()
        .and_then(json_rpc_error)
        .map(|data| data.code);
    assert_eq!(code, Some(ErrorCode::INVALID_PARAMS), "{error:?}");
    let error = read(&client, "calc://calc_square/seven").await.err();
    let code = error
        .as_ref()
        .and_then(json_rpc_error)
        .map(|data| data.code);
    assert_eq!(code, Some(ErrorCode::RESOURCE_NOT_FOUND), "{error:?}");

    // A backend's own URI (as a tool's resource_link names it) reaches the one server whose
    // template produces it, and the contents keep the URI asked for; a URI both servers
    // list is refused, naming both.
    let square = read(&client, "calc://square/6").await?;
    assert_eq!(text(&square)?, "36");
    assert_eq!(square["uri"], "calc://square/6");
    let error = read(&client, "file:///notes.txt").await.err();
    let data = error.as_ref().and_then(json_rpc_error);
    assert_eq!(
        data.as_ref().map(|d| d.code),
        Some(ErrorCode::INVALID_PARAMS),
        "{error:?}"
    );
    let message = data.map(|d| d.message.to_string()).unwrap_or_default();
    ensure!(
        message.contains("\"calc\"") && message.contains("\"text\""),
        "{message}"
    );

    client.cancel().await?;
    Ok(())
}

async fn routes_subscriptions_to_the_owning_backend(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let text = gateway.backend("text")?;
    let calc = gateway.backend("calc")?;
    let (text_before, calc_before) = (text.stats().await?, calc.stats().await?);
    let client = gateway.client().await?;

    within(
        "resources/subscribe",
        client.subscribe(SubscribeRequestParams::new("text://text_readme")),
    )
    .await?;
    within(
        "resources/unsubscribe",
        client.unsubscribe(UnsubscribeRequestParams::new("text://text_readme")),
    )
    .await?;
    // The backend accepts only URIs it has: the prefix was removed on the way.
    let (text_after, calc_after) = (text.stats().await?, calc.stats().await?);
    assert_eq!(text_after.subscribes, text_before.subscribes + 1);
    assert_eq!(text_after.unsubscribes, text_before.unsubscribes + 1);
    assert_eq!(
        (calc_after.subscribes, calc_after.unsubscribes),
        (calc_before.subscribes, calc_before.unsubscribes)
    );

    let error = within(
        "resources/subscribe",
        client.subscribe(SubscribeRequestParams::new("text://text_nope")),
    )
    .await
    .err();
    let code = error
        .as_ref()
        .and_then(json_rpc_error)
        .map(|data| data.code);
    assert_eq!(code, Some(ErrorCode::RESOURCE_NOT_FOUND), "{error:?}");

    client.cancel().await?;
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    keeps_same_uris_of_two_backends_apart,
    a_read_answer_keeps_the_backends_bytes_but_its_uri,
    reads_uris_that_only_a_template_produces,
    routes_subscriptions_to_the_owning_backend,
);
