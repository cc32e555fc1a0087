//! Prompts and argument completion.

use mcp_gateway_example_servers::ServerKind;
use rmcp::{
    model::{ErrorCode, GetPromptRequestParams},
    service::ServiceError,
};
use serde_json::{Value, json};

use crate::support::{connect, start};

fn params(name: &str, arguments: Value) -> GetPromptRequestParams {
    let mut params = GetPromptRequestParams::new(name);
    if let Value::Object(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    params
}

fn error_code(error: &ServiceError) -> Option<ErrorCode> {
    match error {
        ServiceError::McpError(error) => Some(error.code),
        _ => None,
    }
}

#[tokio::test]
async fn text_prompts_fill_in_their_arguments() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;
    let info = client.peer_info().expect("initialized");
    assert!(info.capabilities.prompts.is_some());
    assert!(info.capabilities.completions.is_some());

    let names: Vec<String> = client
        .list_all_prompts()
        .await?
        .into_iter()
        .map(|prompt| prompt.name)
        .collect();
    assert_eq!(names, ["summarize", "translate"]);

    let translated = client
        .get_prompt(params(
            "translate",
            json!({"text": "good morning", "language": "French"}),
        ))
        .await?;
    let messages = serde_json::to_value(&translated.messages)?;
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(
        messages[0]["content"]["text"],
        "Translate the following text into French:\n\ngood morning"
    );
    assert_eq!(messages[1]["role"], "assistant");

    let summarized = client
        .get_prompt(params("summarize", json!({"text": "a b c"})))
        .await?;
    let text = serde_json::to_value(&summarized.messages)?[0]["content"]["text"].clone();
    assert!(
        text.as_str().is_some_and(|t| t.ends_with("a b c")),
        "{text}"
    );

    let missing = client
        .get_prompt(params("translate", json!({"text": "x"})))
        .await
        .expect_err("language is required");
    assert_eq!(error_code(&missing), Some(ErrorCode::INVALID_PARAMS));
    let unknown = client
        .get_prompt(params("explain", json!({})))
        .await
        .expect_err("explain is calc's");
    assert_eq!(error_code(&unknown), Some(ErrorCode::INVALID_PARAMS));
    Ok(())
}

#[tokio::test]
async fn calc_explains_expressions() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;
    let prompts = client.list_all_prompts().await?;
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].name, "explain");
    let explained = client
        .get_prompt(params("explain", json!({"expression": "2 + 2"})))
        .await?;
    let text = serde_json::to_value(&explained.messages)?[0]["content"]["text"].clone();
    assert!(
        text.as_str().is_some_and(|t| t.contains("evaluate 2 + 2")),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn completes_prompt_arguments_and_template_variables() -> anyhow::Result<()> {
    let text = start(ServerKind::Text).await?;
    let client = connect(&text.url).await?;
    assert_eq!(
        client
            .complete_prompt_simple("translate", "language", "fr")
            .await?,
        ["French"]
    );
    assert_eq!(
        client
            .complete_prompt_simple("translate", "language", "F")
            .await?,
        ["Finnish", "French"]
    );
    assert_eq!(
        client
            .complete_resource_simple("text://words/{word}", "word", "wo")
            .await?,
        ["world"]
    );
    let unknown = client
        .complete_prompt_simple("explain", "expression", "")
        .await
        .expect_err("explain is calc's");
    assert_eq!(error_code(&unknown), Some(ErrorCode::INVALID_PARAMS));

    let calc = start(ServerKind::Calc).await?;
    let client = connect(&calc.url).await?;
    assert_eq!(
        client
            .complete_prompt_simple("explain", "expression", "s")
            .await?,
        ["sqrt(2)", "sum(1, 2, 3)"]
    );
    assert!(
        client
            .complete_resource_simple("calc://square/{n}", "n", "1")
            .await?
            .is_empty()
    );
    Ok(())
}
