//! The tools the server scenarios call, by the names and with the content
//! they check. Tools that talk back to the client while they run (logging,
//! progress, sampling, elicitation, stream reconnection) live in
//! [`crate::interaction`].

use std::sync::Arc;

use rmcp::{
    ErrorData, RoleServer,
    model::{
        CallToolRequestParams, CallToolResult, ContentBlock, JsonObject, ResourceContents, Tool,
    },
    service::RequestContext,
};
use serde_json::{Value, json};

use crate::{interaction, media, server::Fixture};

/// Text content only.
pub const SIMPLE_TEXT: &str = "test_simple_text";
/// One image.
pub const IMAGE_CONTENT: &str = "test_image_content";
/// One audio clip.
pub const AUDIO_CONTENT: &str = "test_audio_content";
/// One embedded text resource.
pub const EMBEDDED_RESOURCE: &str = "test_embedded_resource";
/// Text, image and embedded resource together.
pub const MULTIPLE_CONTENT_TYPES: &str = "test_multiple_content_types";
/// Always a tool error (`isError: true`).
pub const ERROR_HANDLING: &str = "test_error_handling";
/// An input schema using JSON Schema 2020-12 keywords (`$schema`, `$defs`, `$ref`).
pub const JSON_SCHEMA_2020_12: &str = "json_schema_2020_12_tool";

/// Text of [`SIMPLE_TEXT`].
pub const SIMPLE_TEXT_RESPONSE: &str = "This is a simple text response for testing.";
/// Text of [`ERROR_HANDLING`].
pub const ERROR_MESSAGE: &str = "This tool intentionally returns an error for testing";

/// A tool with `description` and a JSON Schema `input_schema`.
fn tool(name: &'static str, description: &'static str, input_schema: Value) -> Tool {
    let schema = match input_schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    Tool::new(name, description, Arc::new(schema))
}

/// The input schema of a tool without arguments.
fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}})
}

/// Every tool, in a stable order.
pub fn list() -> Vec<Tool> {
    vec![
        tool(
            SIMPLE_TEXT,
            "Returns a simple text response.",
            no_arguments(),
        ),
        tool(
            IMAGE_CONTENT,
            "Returns a 1x1 red PNG image.",
            no_arguments(),
        ),
        tool(
            AUDIO_CONTENT,
            "Returns 10 ms of silent WAV audio.",
            no_arguments(),
        ),
        tool(
            EMBEDDED_RESOURCE,
            "Returns an embedded text resource.",
            no_arguments(),
        ),
        tool(
            MULTIPLE_CONTENT_TYPES,
            "Returns text, an image and an embedded resource.",
            no_arguments(),
        ),
        tool(
            ERROR_HANDLING,
            "Always fails with a tool error (isError: true).",
            no_arguments(),
        ),
        tool(
            JSON_SCHEMA_2020_12,
            "Tool with JSON Schema 2020-12 features",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "type": "object",
                        "properties": {
                            "street": {"type": "string"},
                            "city": {"type": "string"}
                        }
                    }
                },
                "properties": {
                    "name": {"type": "string"},
                    "address": {"$ref": "#/$defs/address"}
                },
                "additionalProperties": false
            }),
        ),
        tool(
            interaction::LOGGING,
            "Sends three info log messages about 50 ms apart while it runs.",
            no_arguments(),
        ),
        tool(
            interaction::PROGRESS,
            "Reports progress 0, 50 and 100 of 100 about 50 ms apart when given a progress token.",
            no_arguments(),
        ),
        tool(
            interaction::SAMPLING,
            "Asks the client's LLM to answer the prompt (sampling/createMessage) and returns its answer.",
            json!({
                "type": "object",
                "properties": {
                    "prompt": {"type": "string", "description": "The prompt to send to the LLM"}
                },
                "required": ["prompt"]
            }),
        ),
        tool(
            interaction::ELICITATION,
            "Asks the user for a username and an email address (elicitation/create) and returns the answer.",
            json!({
                "type": "object",
                "properties": {
                    "message": {"type": "string", "description": "The message to show the user"}
                },
                "required": ["message"]
            }),
        ),
        tool(
            interaction::ELICITATION_DEFAULTS,
            "Elicits a form whose fields of every primitive type have default values (SEP-1034).",
            no_arguments(),
        ),
        tool(
            interaction::ELICITATION_ENUMS,
            "Elicits a form with every enum form: titled, untitled, legacy, single and multi-select (SEP-1330).",
            no_arguments(),
        ),
        tool(
            interaction::RECONNECTION,
            "Closes its own SSE stream before answering; the answer arrives once the client resumes with Last-Event-ID (SEP-1699).",
            no_arguments(),
        ),
    ]
}

/// Runs the tool `params.name`; an unknown name is an invalid-params error.
pub async fn call(
    fixture: &Fixture,
    params: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let arguments = params.arguments.unwrap_or_default();
    let result = match params.name.as_ref() {
        SIMPLE_TEXT => CallToolResult::success(vec![ContentBlock::text(SIMPLE_TEXT_RESPONSE)]),
        IMAGE_CONTENT => CallToolResult::success(vec![image()]),
        AUDIO_CONTENT => CallToolResult::success(vec![ContentBlock::audio(
            media::wav_base64(),
            media::WAV_MIME,
        )]),
        EMBEDDED_RESOURCE => CallToolResult::success(vec![ContentBlock::resource(
            ResourceContents::text(
                "This is an embedded resource content.",
                "test://embedded-resource",
            )
            .with_mime_type("text/plain"),
        )]),
        MULTIPLE_CONTENT_TYPES => CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            image(),
            ContentBlock::resource(
                ResourceContents::text(
                    json!({"test": "data", "value": 123}).to_string(),
                    "test://mixed-content-resource",
                )
                .with_mime_type("application/json"),
            ),
        ]),
        ERROR_HANDLING => CallToolResult::error(vec![ContentBlock::text(ERROR_MESSAGE)]),
        JSON_SCHEMA_2020_12 => CallToolResult::success(vec![ContentBlock::text(format!(
            "Received: {}",
            Value::Object(arguments)
        ))]),
        interaction::LOGGING => interaction::logging(fixture, &context).await?,
        interaction::PROGRESS => interaction::progress(&context).await?,
        interaction::SAMPLING => interaction::sampling(&arguments, &context).await?,
        interaction::ELICITATION => interaction::elicitation(&arguments, &context).await?,
        interaction::ELICITATION_DEFAULTS => interaction::elicitation_defaults(&context).await?,
        interaction::ELICITATION_ENUMS => interaction::elicitation_enums(&context).await?,
        interaction::RECONNECTION => interaction::reconnection(fixture, &context).await?,
        other => {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {other:?}"),
                None,
            ));
        }
    };
    Ok(result)
}

/// The PNG fixture as image content.
fn image() -> ContentBlock {
    ContentBlock::image(media::png_base64(), media::PNG_MIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_description_and_an_object_schema() {
        let tools = list();
        assert_eq!(tools.len(), 14);
        for tool in &tools {
            assert!(
                tool.description.as_deref().is_some_and(|d| !d.is_empty()),
                "{}",
                tool.name
            );
            assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
        }
        let mut names: Vec<_> = tools.iter().map(|tool| tool.name.as_ref()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tools.len(), "names are unique");
    }

    #[test]
    fn json_schema_2020_12_keywords_are_kept() {
        let tools = list();
        let tool = tools
            .iter()
            .find(|tool| tool.name == JSON_SCHEMA_2020_12)
            .expect("tool");
        assert_eq!(
            tool.input_schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(tool.input_schema["$defs"].get("address").is_some());
        assert_eq!(tool.input_schema["additionalProperties"], false);
    }
}
