//! The `text` server's prompts: `summarize` and `translate`.

use rmcp::{
    handler::server::wrapper::Parameters,
    model::{PromptMessage, Role},
    prompt, prompt_router,
};
use schemars::JsonSchema;
use serde::Deserialize;

use super::Text;

/// Languages `translate` suggests for its `language` argument.
pub const LANGUAGES: &[&str] = &[
    "Dutch",
    "English",
    "Finnish",
    "French",
    "German",
    "Italian",
    "Japanese",
    "Portuguese",
    "Spanish",
];

/// Arguments of `summarize`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SummarizeArgs {
    /// The text to summarize.
    pub text: String,
}

/// Arguments of `translate`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TranslateArgs {
    /// The text to translate.
    pub text: String,
    /// The language to translate into, e.g. French.
    pub language: String,
}

#[prompt_router(vis = "pub(super)")]
impl Text {
    #[prompt(description = "Ask for a summary of the text in one or two sentences.")]
    fn summarize(
        &self,
        Parameters(SummarizeArgs { text }): Parameters<SummarizeArgs>,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!("Summarize the following text in one or two sentences:\n\n{text}"),
        )]
    }

    #[prompt(description = "Ask for a translation of the text into another language.")]
    fn translate(
        &self,
        Parameters(TranslateArgs { text, language }): Parameters<TranslateArgs>,
    ) -> Vec<PromptMessage> {
        vec![
            PromptMessage::new_text(
                Role::User,
                format!("Translate the following text into {language}:\n\n{text}"),
            ),
            PromptMessage::new_text(Role::Assistant, format!("Here is the text in {language}:")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `name(argument, ...)` with `?` after optional arguments.
    fn signature(prompt: &rmcp::model::Prompt) -> String {
        let arguments: Vec<String> = prompt
            .arguments
            .iter()
            .flatten()
            .map(|argument| match argument.required {
                Some(true) => argument.name.clone(),
                _ => format!("{}?", argument.name),
            })
            .collect();
        format!("{}({})", prompt.name, arguments.join(", "))
    }

    #[test]
    fn lists_both_prompts_with_their_arguments() {
        let prompts = Text::prompt_router().list_all();
        assert!(prompts.iter().all(|prompt| prompt.description.is_some()));
        let signatures: Vec<String> = prompts.iter().map(signature).collect();
        // Arguments come in the order of the schema's properties: alphabetical.
        assert_eq!(signatures, ["summarize(text)", "translate(language, text)"]);
    }

    #[test]
    fn languages_are_sorted_and_unique() {
        assert!(LANGUAGES.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
