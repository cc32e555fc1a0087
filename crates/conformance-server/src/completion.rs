//! `completion/complete` for the arguments of the prompts and of the resource
//! template: the candidates that start with the typed value.

use rmcp::{
    ErrorData,
    model::{CompleteRequestParams, CompleteResult, CompletionInfo, Reference},
};

use crate::{prompts, resources};

/// The candidate values of argument `argument` of `reference`, or `None` when
/// the reference names no prompt or template of this server.
fn candidates(reference: &Reference, argument: &str) -> Option<&'static [&'static str]> {
    let values: &'static [&'static str] = match reference {
        Reference::Prompt(prompt) => match (prompt.name.as_str(), argument) {
            (prompts::WITH_ARGUMENTS, "arg1") => &["hello", "help", "test", "testValue1"],
            (prompts::WITH_ARGUMENTS, "arg2") => &["world", "wonder", "test", "testValue2"],
            (prompts::WITH_EMBEDDED_RESOURCE, "resourceUri") => &[
                resources::STATIC_TEXT,
                resources::STATIC_BINARY,
                resources::WATCHED,
            ],
            (
                prompts::SIMPLE
                | prompts::WITH_ARGUMENTS
                | prompts::WITH_EMBEDDED_RESOURCE
                | prompts::WITH_IMAGE,
                _,
            ) => &[],
            _ => return None,
        },
        Reference::Resource(template) => match (template.uri.as_str(), argument) {
            (resources::TEMPLATE, "id") => &["1", "2", "3", "123"],
            (resources::TEMPLATE, _) => &[],
            _ => return None,
        },
        _ => return None,
    };
    Some(values)
}

/// The candidates of `params.argument` that start with its value
/// (case-insensitively); an unknown prompt or template is an invalid-params error.
pub fn complete(params: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let Some(candidates) = candidates(&params.r#ref, &params.argument.name) else {
        return Err(ErrorData::invalid_params(
            "completion reference names no prompt or resource template of this server",
            None,
        ));
    };
    let typed = params.argument.value.to_lowercase();
    let values: Vec<String> = candidates
        .iter()
        .filter(|candidate| candidate.to_lowercase().starts_with(&typed))
        .map(|candidate| (*candidate).to_owned())
        .collect();
    let completion = CompletionInfo::with_all_values(values)
        .map_err(|error| ErrorData::internal_error(error, None))?;
    Ok(CompleteResult::new(completion))
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ArgumentInfo, ErrorCode};

    use super::*;

    fn values(reference: Reference, argument: &str, value: &str) -> Result<Vec<String>, ErrorData> {
        let params = CompleteRequestParams::new(reference, ArgumentInfo::new(argument, value));
        complete(&params).map(|result| result.completion.values)
    }

    #[test]
    fn completes_prompt_arguments_by_prefix() {
        let prompt = || Reference::for_prompt(prompts::WITH_ARGUMENTS);
        assert_eq!(
            values(prompt(), "arg1", "te").expect("ok"),
            ["test", "testValue1"]
        );
        assert_eq!(
            values(prompt(), "arg1", "HEL").expect("ok"),
            ["hello", "help"]
        );
        assert!(values(prompt(), "arg2", "zzz").expect("ok").is_empty());
        assert!(values(prompt(), "other", "").expect("ok").is_empty());
    }

    #[test]
    fn completes_template_variables() {
        let template = Reference::for_resource(resources::TEMPLATE);
        assert_eq!(values(template, "id", "1").expect("ok"), ["1", "123"]);
    }

    #[test]
    fn unknown_references_are_invalid_params() {
        let error = values(Reference::for_prompt("nope"), "arg1", "").expect_err("unknown");
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
        let error =
            values(Reference::for_resource("test://other/{x}"), "x", "").expect_err("unknown");
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
    }
}
