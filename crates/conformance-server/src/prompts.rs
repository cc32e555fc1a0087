//! The prompts of the `prompts-*` scenarios.

use rmcp::{
    ErrorData,
    model::{
        ContentBlock, GetPromptRequestParams, GetPromptResult, JsonObject, Prompt, PromptArgument,
        PromptMessage, ResourceContents, Role,
    },
};
use serde_json::Value;

use crate::media;

/// No arguments, one text message.
pub const SIMPLE: &str = "test_simple_prompt";
/// Two required arguments, substituted into the text.
pub const WITH_ARGUMENTS: &str = "test_prompt_with_arguments";
/// Embeds the resource named by its `resourceUri` argument.
pub const WITH_EMBEDDED_RESOURCE: &str = "test_prompt_with_embedded_resource";
/// An image and a text message.
pub const WITH_IMAGE: &str = "test_prompt_with_image";

/// A required argument of a prompt.
fn required(name: &str, description: &str) -> PromptArgument {
    PromptArgument::new(name)
        .with_description(description)
        .with_required(true)
}

/// Every prompt, in a stable order.
pub fn list() -> Vec<Prompt> {
    vec![
        Prompt::new(SIMPLE, Some("A simple prompt without arguments"), None),
        Prompt::new(
            WITH_ARGUMENTS,
            Some("A prompt with two required arguments"),
            Some(vec![
                required("arg1", "First test argument"),
                required("arg2", "Second test argument"),
            ]),
        ),
        Prompt::new(
            WITH_EMBEDDED_RESOURCE,
            Some("A prompt that embeds a resource"),
            Some(vec![required(
                "resourceUri",
                "URI of the resource to embed",
            )]),
        ),
        Prompt::new(WITH_IMAGE, Some("A prompt with an image"), None),
    ]
}

/// A required string argument of a prompt, or an invalid-params error naming it.
fn argument<'a>(arguments: Option<&'a JsonObject>, name: &str) -> Result<&'a str, ErrorData> {
    arguments
        .and_then(|arguments| arguments.get(name))
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorData::invalid_params(format!("argument {name:?} is required"), None))
}

/// The messages of prompt `params.name`; an unknown name or a missing
/// argument is an invalid-params error.
pub fn get(params: &GetPromptRequestParams) -> Result<GetPromptResult, ErrorData> {
    let arguments = params.arguments.as_ref();
    let messages = match params.name.as_str() {
        SIMPLE => vec![PromptMessage::new_text(
            Role::User,
            "This is a simple prompt for testing.",
        )],
        WITH_ARGUMENTS => {
            let arg1 = argument(arguments, "arg1")?;
            let arg2 = argument(arguments, "arg2")?;
            vec![PromptMessage::new_text(
                Role::User,
                format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"),
            )]
        }
        WITH_EMBEDDED_RESOURCE => {
            let uri = argument(arguments, "resourceUri")?;
            vec![
                PromptMessage::new(
                    Role::User,
                    ContentBlock::resource(
                        ResourceContents::text("Embedded resource content for testing.", uri)
                            .with_mime_type("text/plain"),
                    ),
                ),
                PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
            ]
        }
        WITH_IMAGE => vec![
            PromptMessage::new(
                Role::User,
                ContentBlock::image(media::png_base64(), media::PNG_MIME),
            ),
            PromptMessage::new_text(Role::User, "Please analyze the image above."),
        ],
        other => {
            return Err(ErrorData::invalid_params(
                format!("unknown prompt {other:?}"),
                None,
            ));
        }
    };
    Ok(GetPromptResult::new(messages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(name: &str, arguments: Value) -> GetPromptRequestParams {
        let mut params = GetPromptRequestParams::new(name);
        if let Value::Object(arguments) = arguments {
            params = params.with_arguments(arguments);
        }
        params
    }

    #[test]
    fn substitutes_arguments() {
        let result = get(&params(
            WITH_ARGUMENTS,
            json!({"arg1": "hello", "arg2": "world"}),
        ))
        .expect("prompt");
        let text = serde_json::to_string(&result.messages).expect("serializes");
        assert!(text.contains("arg1='hello', arg2='world'"), "{text}");
    }

    #[test]
    fn missing_arguments_and_unknown_prompts_are_invalid_params() {
        for bad in [
            params(WITH_ARGUMENTS, json!({"arg1": "only one"})),
            params(WITH_EMBEDDED_RESOURCE, json!({})),
            params("no_such_prompt", json!({})),
        ] {
            let error = get(&bad).expect_err(&bad.name);
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        }
    }

    #[test]
    fn embeds_the_requested_resource() {
        let result = get(&params(
            WITH_EMBEDDED_RESOURCE,
            json!({"resourceUri": "test://example-resource"}),
        ))
        .expect("prompt");
        let first = serde_json::to_value(&result.messages[0]).expect("serializes");
        assert_eq!(first["content"]["type"], "resource");
        assert_eq!(
            first["content"]["resource"]["uri"],
            "test://example-resource"
        );
    }

    #[test]
    fn every_prompt_has_a_description_and_answers() {
        let prompts = list();
        assert!(!prompts.is_empty());
        for prompt in prompts {
            assert!(prompt.description.is_some(), "{}", prompt.name);
            let arguments: JsonObject = prompt
                .arguments
                .iter()
                .flatten()
                .map(|argument| (argument.name.clone(), Value::from("x")))
                .collect();
            let mut request = GetPromptRequestParams::new(prompt.name.clone());
            request = request.with_arguments(arguments);
            let result = get(&request).expect(&prompt.name);
            assert!(!result.messages.is_empty());
        }
    }
}
