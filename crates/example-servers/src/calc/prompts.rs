//! The `calc` server's prompt: `explain`.

use rmcp::{
    handler::server::wrapper::Parameters,
    model::{PromptMessage, Role},
    prompt, prompt_router,
};
use schemars::JsonSchema;
use serde::Deserialize;

use super::Calc;

/// Expressions `explain` suggests for its `expression` argument.
pub const EXPRESSIONS: &[&str] = &["(1 + 2) * 3", "1 / 0", "2 + 2", "sqrt(2)", "sum(1, 2, 3)"];

/// Arguments of `explain`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExplainArgs {
    /// The arithmetic expression to explain, e.g. (1 + 2) * 3.
    pub expression: String,
}

#[prompt_router(vis = "pub(super)")]
impl Calc {
    #[prompt(
        description = "Ask for a step-by-step evaluation of an arithmetic expression with the calc tools."
    )]
    fn explain(
        &self,
        Parameters(ExplainArgs { expression }): Parameters<ExplainArgs>,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!(
                "Explain step by step how to evaluate {expression}, calling the calc tools \
                 (add, subtract, multiply, divide, sqrt, sum) for each step."
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_explain_with_its_argument() {
        let prompts = Calc::prompt_router().list_all();
        assert_eq!(prompts.len(), 1);
        assert_eq!(prompts[0].name, "explain");
        let arguments = prompts[0].arguments.clone().unwrap_or_default();
        assert_eq!(arguments.len(), 1);
        assert_eq!(arguments[0].name, "expression");
        assert_eq!(arguments[0].required, Some(true));
    }
}
