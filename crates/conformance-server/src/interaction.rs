//! Tools that talk back to the client while they run: log messages, progress
//! notifications, sampling and elicitation requests, and closing their own SSE
//! stream. Through a gateway these are the interesting ones: the messages must
//! reach the right client on the right stream.
//!
//! rmcp marks logging and sampling deprecated for protocol 2026-07-28
//! (SEP-2577); the 2025-06-18 and 2025-11-25 revisions the suite tests have them.
#![allow(deprecated)]

use std::time::Duration;

use axum::http::request::Parts;
use rmcp::{
    ErrorData, RoleServer,
    model::{
        CallToolResult, ContentBlock, CreateMessageRequestParams, ElicitRequestParams,
        ElicitResult, JsonObject, LoggingLevel, LoggingMessageNotificationParam,
        ProgressNotificationParam, SamplingContent, SamplingMessage, SamplingMessageContentBlock,
    },
    service::{ElicitationMode, RequestContext},
    transport::streamable_http_server::SessionId,
};
use serde_json::Value;

use crate::{elicitation, server::Fixture, sessions::Reconnection};

/// Sends three log messages while it runs.
pub const LOGGING: &str = "test_tool_with_logging";
/// Reports progress while it runs.
pub const PROGRESS: &str = "test_tool_with_progress";
/// Asks the client's LLM (`sampling/createMessage`).
pub const SAMPLING: &str = "test_sampling";
/// Asks the user (`elicitation/create`).
pub const ELICITATION: &str = "test_elicitation";
/// Elicits a form with default values (SEP-1034).
pub const ELICITATION_DEFAULTS: &str = "test_elicitation_sep1034_defaults";
/// Elicits a form with every enum form (SEP-1330).
pub const ELICITATION_ENUMS: &str = "test_elicitation_sep1330_enums";
/// Closes its own SSE stream and answers after the client resumes it (SEP-1699).
pub const RECONNECTION: &str = "test_reconnection";

/// Pause between the steps of the logging and progress tools.
const STEP: Duration = Duration::from_millis(50);
/// `retry` announced before `test_reconnection` closes its stream.
const RECONNECT_RETRY: Duration = Duration::from_millis(500);
/// How long `test_reconnection` waits for the client to resume its stream.
const RESUME_WAIT: Duration = Duration::from_secs(10);
/// `maxTokens` of the sampling request.
const SAMPLING_MAX_TOKENS: u32 = 100;
/// Header carrying the MCP session id on streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

/// The messages of [`LOGGING`], in order.
pub const LOG_MESSAGES: [&str; 3] = [
    "Tool execution started",
    "Tool processing data",
    "Tool execution completed",
];

/// Answer of [`RECONNECTION`].
pub const RECONNECTION_RESPONSE: &str = "Reconnection test completed successfully";

/// An error raised by the client or the transport while the tool talked to it.
fn peer_failure(what: &str, error: impl std::fmt::Display) -> ErrorData {
    ErrorData::internal_error(format!("{what} failed: {error}"), None)
}

/// A required string argument, or an invalid-params error naming it.
fn string_argument<'a>(arguments: &'a JsonObject, name: &str) -> Result<&'a str, ErrorData> {
    arguments.get(name).and_then(Value::as_str).ok_or_else(|| {
        ErrorData::invalid_params(format!("argument {name:?} (string) is required"), None)
    })
}

/// [`LOGGING`]: three `info` messages [`STEP`] apart, filtered by the session's level.
pub async fn logging(
    fixture: &Fixture,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    for (index, message) in LOG_MESSAGES.into_iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(STEP).await;
        }
        if fixture.log_filter().allows(LoggingLevel::Info) {
            let params = LoggingMessageNotificationParam::new(LoggingLevel::Info, message.into())
                .with_logger(crate::server::NAME);
            context
                .peer
                .notify_logging_message(params)
                .await
                .map_err(|error| peer_failure("sending a log message", error))?;
        }
    }
    Ok(CallToolResult::success(vec![ContentBlock::text(
        "Tool with logging executed successfully",
    )]))
}

/// [`PROGRESS`]: 0, 50 and 100 of 100, [`STEP`] apart, when the request has a
/// progress token.
pub async fn progress(context: &RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
    let token = context.meta.get_progress_token();
    for (index, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(STEP).await;
        }
        if let Some(token) = &token {
            let params = ProgressNotificationParam::new(token.clone(), progress)
                .with_total(100.0)
                .with_message(format!("{progress}% done"));
            context
                .peer
                .notify_progress(params)
                .await
                .map_err(|error| peer_failure("sending progress", error))?;
        }
    }
    Ok(CallToolResult::success(vec![ContentBlock::text(
        "Tool with progress executed successfully",
    )]))
}

/// [`SAMPLING`]: sends `prompt` to the client's LLM and returns its answer.
pub async fn sampling(
    arguments: &JsonObject,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let prompt = string_argument(arguments, "prompt")?;
    let supported = context
        .peer
        .peer_info()
        .is_some_and(|client| client.capabilities.sampling.is_some());
    if !supported {
        return Ok(CallToolResult::error(vec![ContentBlock::text(
            "the client does not support sampling (no sampling capability)",
        )]));
    }
    let request = CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt)],
        SAMPLING_MAX_TOKENS,
    );
    let answer = match context.peer.create_message(request).await {
        Ok(answer) => answer,
        Err(error) => {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "sampling failed: {error}"
            ))]));
        }
    };
    let text = sampled_text(answer.message.content);
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "LLM response: {text}"
    ))]))
}

/// The text blocks of a sampled message, joined by newlines.
fn sampled_text(content: SamplingContent<SamplingMessageContentBlock>) -> String {
    content
        .into_vec()
        .into_iter()
        .filter_map(|block| match block {
            SamplingMessageContentBlock::Text(text) => Some(text.text),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`ELICITATION`]: asks for a username and email with `message`.
pub async fn elicitation(
    arguments: &JsonObject,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let message = string_argument(arguments, "message")?;
    let answer = match elicit(context, message, elicitation::user_info()).await? {
        Ok(answer) => answer,
        Err(refusal) => return Ok(refusal),
    };
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "User response: {}",
        describe(&answer)
    ))]))
}

/// [`ELICITATION_DEFAULTS`]: a form with default values.
pub async fn elicitation_defaults(
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    elicit_form(
        context,
        "Test client default value handling - please accept with defaults",
        elicitation::defaults(),
    )
    .await
}

/// [`ELICITATION_ENUMS`]: a form with every enum form.
pub async fn elicitation_enums(
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    elicit_form(
        context,
        "Test enum schema handling - please choose options",
        elicitation::enums(),
    )
    .await
}

/// Elicits `schema` and reports the answer as `Elicitation completed: …`.
async fn elicit_form(
    context: &RequestContext<RoleServer>,
    message: &str,
    schema: Value,
) -> Result<CallToolResult, ErrorData> {
    let answer = match elicit(context, message, schema).await? {
        Ok(answer) => answer,
        Err(refusal) => return Ok(refusal),
    };
    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
        "Elicitation completed: {}",
        describe(&answer)
    ))]))
}

/// Sends a form elicitation. The inner `Err` is the tool error result to return
/// when the client cannot or did not answer.
async fn elicit(
    context: &RequestContext<RoleServer>,
    message: &str,
    schema: Value,
) -> Result<Result<ElicitResult, CallToolResult>, ErrorData> {
    if !context
        .peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Form)
    {
        return Ok(Err(CallToolResult::error(vec![ContentBlock::text(
            "the client does not support form elicitation (no elicitation capability)",
        )])));
    }
    let requested_schema = elicitation::typed(schema)
        .map_err(|error| ErrorData::internal_error(format!("elicitation schema: {error}"), None))?;
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.to_owned(),
        requested_schema,
    };
    Ok(match context.peer.create_elicitation(params).await {
        Ok(answer) => Ok(answer),
        Err(error) => Err(CallToolResult::error(vec![ContentBlock::text(format!(
            "elicitation failed: {error}"
        ))])),
    })
}

/// `action=<action>, content=<json>` of an elicitation answer.
fn describe(answer: &ElicitResult) -> String {
    // The wire name: accept, decline or cancel.
    let action = serde_json::to_value(&answer.action).unwrap_or(Value::Null);
    let action = action.as_str().unwrap_or("unknown");
    let content = answer.content.clone().unwrap_or(Value::Null);
    format!("action={action}, content={content}")
}

/// [`RECONNECTION`]: closes the SSE stream carrying this call, waits until the
/// client resumes it, then answers on the resumed stream.
pub async fn reconnection(
    fixture: &Fixture,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let outcome = match session_id(context) {
        Some(session) => fixture
            .sessions()
            .close_and_await_resume(&session, &context.id, RECONNECT_RETRY, RESUME_WAIT)
            .await
            .map_err(|error| peer_failure("closing the SSE stream", error))?,
        None => Reconnection::NoStream,
    };
    tracing::debug!(?outcome, "test_reconnection");
    Ok(CallToolResult::success(vec![ContentBlock::text(
        RECONNECTION_RESPONSE,
    )]))
}

/// The `Mcp-Session-Id` of the HTTP request that carried this MCP request.
fn session_id(context: &RequestContext<RoleServer>) -> Option<SessionId> {
    context
        .extensions
        .get::<Parts>()?
        .headers
        .get(SESSION_HEADER)?
        .to_str()
        .ok()
        .map(SessionId::from)
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ElicitationAction, TextContent};

    use super::*;

    #[test]
    fn describes_elicitation_answers() {
        let answer = ElicitResult::new(ElicitationAction::Accept)
            .with_content(serde_json::json!({"username": "u"}));
        assert_eq!(
            describe(&answer),
            r#"action=accept, content={"username":"u"}"#
        );
        let declined = ElicitResult::new(ElicitationAction::Decline);
        assert_eq!(describe(&declined), "action=decline, content=null");
    }

    #[test]
    fn joins_sampled_text_and_skips_other_blocks() {
        let content = SamplingContent::Multiple(vec![
            SamplingMessageContentBlock::Text(TextContent::new("a")),
            SamplingMessageContentBlock::tool_use("id", "tool", JsonObject::new()),
            SamplingMessageContentBlock::Text(TextContent::new("b")),
        ]);
        assert_eq!(sampled_text(content), "a\nb");
    }

    #[test]
    fn string_arguments_are_required() {
        let mut arguments = JsonObject::new();
        assert!(string_argument(&arguments, "prompt").is_err());
        arguments.insert("prompt".into(), Value::from(3));
        assert!(string_argument(&arguments, "prompt").is_err());
        arguments.insert("prompt".into(), Value::from("hi"));
        assert_eq!(string_argument(&arguments, "prompt").ok(), Some("hi"));
    }
}
