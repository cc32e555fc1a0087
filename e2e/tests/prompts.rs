//! Through Envoy with a real MCP client and two backends: the gateway's declared
//! capabilities, the aggregated and prefixed `prompts/list`, `prompts/get` routed by
//! prompt name and `completion/complete` routed by its reference.

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, Mode, ServerKind, json_rpc_error, within,
};
use rmcp::model::{ErrorCode, GetPromptRequestParams};
use serde_json::{Value, json};

async fn both(mode: Mode) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await
}

/// `prompts/get`; the messages as JSON.
async fn get_prompt(client: &McpClient, name: &str, arguments: Value) -> Result<Value> {
    let mut params = GetPromptRequestParams::new(name);
    if let Value::Object(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    let result = within(&format!("prompts/get {name}"), client.get_prompt(params)).await?;
    Ok(serde_json::to_value(&result.messages)?)
}

/// The JSON-RPC error code a failed request got.
fn error_code(result: Result<impl std::fmt::Debug>) -> Result<ErrorCode> {
    let error = match result {
        Ok(value) => anyhow::bail!("expected a JSON-RPC error, got {value:?}"),
        Err(error) => error,
    };
    json_rpc_error(&error)
        .map(|data| data.code)
        .with_context(|| format!("not a JSON-RPC error: {error:#}"))
}

async fn declares_what_its_backends_offer(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let client = gateway.client().await?;
    let info = client.peer_info().context("no initialize result")?;
    let capabilities = &info.capabilities;
    ensure!(capabilities.tools.is_some(), "no tools: {capabilities:?}");
    ensure!(
        capabilities.prompts.is_some(),
        "no prompts: {capabilities:?}"
    );
    ensure!(
        capabilities.completions.is_some(),
        "no completions: {capabilities:?}"
    );
    ensure!(
        capabilities.logging.is_some(),
        "no logging: {capabilities:?}"
    );
    let subscribe = capabilities
        .resources
        .as_ref()
        .and_then(|resources| resources.subscribe);
    assert_eq!(subscribe, Some(true), "{capabilities:?}");
    client.cancel().await?;
    Ok(())
}

async fn aggregates_prompts_and_routes_them_by_prefix(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let client = gateway.client().await?;

    let prompts = within("prompts/list", client.list_all_prompts()).await?;
    let mut listed: Vec<&str> = prompts.iter().map(|prompt| prompt.name.as_str()).collect();
    listed.sort_unstable();
    // Every backend prompt exactly once, prefixed; nothing else.
    assert_eq!(listed, ["calc_explain", "text_summarize", "text_translate"]);
    let translate = prompts
        .iter()
        .find(|prompt| prompt.name == "text_translate")
        .context("text_translate not listed")?;
    let arguments: Vec<(&str, Option<bool>)> = translate
        .arguments
        .iter()
        .flatten()
        .map(|argument| (argument.name.as_str(), argument.required))
        .collect();
    assert_eq!(
        arguments,
        [("language", Some(true)), ("text", Some(true))],
        "the backend's arguments must pass through unchanged"
    );

    let messages = get_prompt(
        &client,
        "text_translate",
        json!({"text": "good morning", "language": "French"}),
    )
    .await?;
    assert_eq!(
        messages,
        json!([
            {"role": "user", "content": {"type": "text",
                "text": "Translate the following text into French:\n\ngood morning"}},
            {"role": "assistant", "content": {"type": "text", "text": "Here is the text in French:"}},
        ])
    );
    let messages = get_prompt(&client, "calc_explain", json!({"expression": "2 + 2"})).await?;
    let text = messages
        .pointer("/0/content/text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ensure!(
        text.starts_with("Explain step by step how to evaluate 2 + 2"),
        "{messages}"
    );

    // Unknown to a healthy backend: the gateway answers; a bad argument: the backend does.
    let unknown = get_prompt(&client, "calc_nope", json!({})).await;
    assert_eq!(error_code(unknown)?, ErrorCode::INVALID_PARAMS);
    let no_prefix = get_prompt(&client, "translate", json!({})).await;
    assert_eq!(error_code(no_prefix)?, ErrorCode::INVALID_PARAMS);
    let missing = get_prompt(&client, "text_translate", json!({"text": "x"})).await;
    assert_eq!(error_code(missing)?, ErrorCode::INVALID_PARAMS);

    client.cancel().await?;
    Ok(())
}

async fn routes_completions_by_prompt_and_template(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let client = gateway.client().await?;

    let languages = within(
        "completion/complete text_translate",
        client.complete_prompt_simple("text_translate", "language", "fr"),
    )
    .await?;
    assert_eq!(languages, ["French"]);
    let languages = within(
        "completion/complete text_translate",
        client.complete_prompt_simple("text_translate", "language", "F"),
    )
    .await?;
    assert_eq!(languages, ["Finnish", "French"]);
    let expressions = within(
        "completion/complete calc_explain",
        client.complete_prompt_simple("calc_explain", "expression", "s"),
    )
    .await?;
    assert_eq!(expressions, ["sqrt(2)", "sum(1, 2, 3)"]);
    // A template reference is routed by its URI, prefix removed.
    let words = within(
        "completion/complete text://text_words/{word}",
        client.complete_resource_simple("text://text_words/{word}", "word", "wo"),
    )
    .await?;
    assert_eq!(words, ["world"]);

    let unknown = within(
        "completion/complete calc_nope",
        client.complete_prompt_simple("calc_nope", "expression", ""),
    )
    .await;
    assert_eq!(error_code(unknown)?, ErrorCode::INVALID_PARAMS);

    client.cancel().await?;
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    declares_what_its_backends_offer,
    aggregates_prompts_and_routes_them_by_prefix,
    routes_completions_by_prompt_and_template,
);
