//! The `text` server: string utilities and the current time.

use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use rmcp::{
    ErrorData, Json, RoleServer, ServerHandler,
    handler::server::{
        router::tool::ToolRouter,
        tool::{ToolCallContext, schema_for_output},
        wrapper::Parameters,
    },
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
        InitializeRequestParams, InitializeResult,
    },
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{identity::Identity, stats::Stats};

/// Server name reported in `initialize`, `whoami` and `/stats`.
pub const NAME: &str = "text";

/// Arguments of every tool that takes a string.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Input {
    /// The input text.
    pub text: String,
}

/// Structured result of `word_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WordCount {
    /// Number of whitespace-separated words.
    pub count: usize,
}

/// The text-utilities MCP server; one instance per MCP session.
#[derive(Debug, Clone)]
pub struct Text {
    stats: Arc<Stats>,
    tool_router: ToolRouter<Self>,
}

impl Text {
    /// A text server that records its activity in `stats`.
    pub fn new(stats: Arc<Stats>) -> Self {
        Self {
            stats,
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl Text {
    #[tool(description = "Return the text converted to upper case.")]
    fn upper(&self, Parameters(Input { text }): Parameters<Input>) -> String {
        text.to_uppercase()
    }

    #[tool(description = "Return the text converted to lower case.")]
    fn lower(&self, Parameters(Input { text }): Parameters<Input>) -> String {
        text.to_lowercase()
    }

    #[tool(description = "Return the text with its characters in reverse order.")]
    fn reverse(&self, Parameters(Input { text }): Parameters<Input>) -> String {
        text.chars().rev().collect()
    }

    #[tool(
        description = "Count the whitespace-separated words in the text.",
        output_schema = schema_for_output::<WordCount>()
    )]
    fn word_count(&self, Parameters(Input { text }): Parameters<Input>) -> CallToolResult {
        let count = text.split_whitespace().count();
        let mut result = CallToolResult::success(vec![ContentBlock::text(count.to_string())]);
        let structured = serde_json::Map::from_iter([("count".to_owned(), count.into())]);
        result.structured_content = Some(structured.into());
        result
    }

    #[tool(
        description = "Return the current UTC time in RFC 3339 format, e.g. 2025-06-18T12:34:56.789Z."
    )]
    fn now(&self) -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[tool(description = "Return the text unchanged.")]
    fn echo(&self, Parameters(Input { text }): Parameters<Input>) -> String {
        text
    }

    #[tool(
        description = "Return the name of this server and the MCP session id it saw on this request."
    )]
    fn whoami(&self, context: RequestContext<RoleServer>) -> Json<Identity> {
        Json(Identity::of(NAME, &context))
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "text",
    instructions = "Text utilities: upper, lower, reverse, word_count, echo, and now for the current UTC time."
)]
impl ServerHandler for Text {
    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.stats.record_initialize();
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.stats.record_tool_call();
        let call = ToolCallContext::new(self, request, context);
        self.tool_router.call(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_tool_with_a_description() {
        let tools = Text::tool_router().list_all();
        let mut names: Vec<_> = tools.iter().map(|tool| tool.name.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "echo",
                "lower",
                "now",
                "reverse",
                "upper",
                "whoami",
                "word_count"
            ]
        );
        assert!(tools.iter().all(|tool| tool.description.is_some()));
    }
}
