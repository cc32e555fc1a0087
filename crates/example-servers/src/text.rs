//! The `text` server: string utilities and the current time, the prompts
//! `summarize` and `translate` (with completion of the language), the resources
//! `text://readme` and `file:///notes.txt`, the template `text://words/{word}`,
//! subscriptions and logging.

mod prompts;
mod resources;

use chrono::{SecondsFormat, Utc};
use rmcp::{
    ErrorData, Json, RoleServer, ServerHandler,
    handler::server::{
        prompt::PromptContext,
        router::{prompt::PromptRouter, tool::ToolRouter},
        tool::{ToolCallContext, schema_for_output},
        wrapper::Parameters,
    },
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
        CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestParams,
        GetPromptResponse, Implementation, InitializeRequestParams, InitializeResult,
        ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
        PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, Reference,
        ServerConfig, SubscribeRequestParams, UnsubscribeRequestParams,
    },
    service::{NotificationContext, RequestContext},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
// Logging is deprecated in rmcp for protocol 2026-07-28 (SEP-2577); the revisions
// the gateway speaks still have it.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;

pub use self::{
    prompts::{LANGUAGES, SummarizeArgs, TranslateArgs},
    resources::{NOTES, NOTES_TEXT, README, README_TEXT, WORDS, WORDS_TEMPLATE},
};
use crate::{
    identity::Identity,
    shared::{self, Shared},
};

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

/// Instructions returned by `initialize`.
const INSTRUCTIONS: &str = "Text utilities: upper, lower, reverse, word_count, echo, and now for \
the current UTC time; the prompts summarize and translate; the resources text://readme and \
file:///notes.txt and facts about any word at text://words/{word}.";

/// The text-utilities MCP server; one instance per MCP session.
#[derive(Debug, Clone)]
pub struct Text {
    shared: Shared,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

impl Text {
    /// A text server for one session of the process described by `shared`.
    pub fn new(shared: Shared) -> Self {
        Self {
            shared,
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
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

// Logging and resources/(un)subscribe are deprecated in rmcp for protocol 2026-07-28
// (SEP-2577); the revisions the gateway speaks still have them.
#[allow(deprecated)]
#[tool_handler(router = self.tool_router)]
impl ServerHandler for Text {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(shared::capabilities())
            .with_server_info(Implementation::new(NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.shared.stats().record_initialize();
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.shared
            .tools(self.tool_router.list_all(), request.as_ref())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.shared.stats().record_tool_call();
        let call = ToolCallContext::new(self, request, context);
        self.tool_router.call(call).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.shared
            .prompts(self.prompt_router.list_all(), request.as_ref())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let prompt = PromptContext::new(self, request.name, request.arguments, context);
        self.prompt_router.get_prompt(prompt).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.shared.resources(resources::list(), request.as_ref())
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.shared
            .resource_templates(resources::templates(), request.as_ref())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(&request.uri).map(Into::into)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared
            .subscribe(&request.uri, resources::exists(&request.uri))
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared
            .unsubscribe(&request.uri, resources::exists(&request.uri))
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        complete(&request)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared.set_level(&request);
        Ok(())
    }

    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        self.shared.cancelled(&notification);
    }
}

/// `completion/complete`: languages for `translate`, words for `text://words/{word}`.
fn complete(request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let argument = request.argument.name.as_str();
    let candidates: &[&str] = match &request.r#ref {
        Reference::Prompt(prompt) => match (prompt.name.as_str(), argument) {
            ("translate", "language") => LANGUAGES,
            ("summarize" | "translate", _) => &[],
            _ => return Err(shared::unknown_reference()),
        },
        Reference::Resource(template) => match (template.uri.as_str(), argument) {
            (WORDS_TEMPLATE, "word") => WORDS,
            (WORDS_TEMPLATE, _) => &[],
            _ => return Err(shared::unknown_reference()),
        },
        _ => return Err(shared::unknown_reference()),
    };
    shared::completion(candidates, &request.argument.value)
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

    fn values(reference: Reference, argument: &str, typed: &str) -> Result<Vec<String>, ErrorData> {
        let request =
            CompleteRequestParams::new(reference, rmcp::model::ArgumentInfo::new(argument, typed));
        complete(&request).map(|result| result.completion.values)
    }

    #[test]
    fn completes_languages_and_words() {
        let translate = || Reference::for_prompt("translate");
        assert_eq!(
            values(translate(), "language", "fr").expect("ok"),
            ["French"]
        );
        assert_eq!(
            values(translate(), "language", "F").expect("ok"),
            ["Finnish", "French"]
        );
        assert!(values(translate(), "text", "").expect("ok").is_empty());
        let words = Reference::for_resource(WORDS_TEMPLATE);
        assert_eq!(values(words, "word", "h").expect("ok"), ["hello"]);
    }

    #[test]
    fn unknown_references_are_invalid_params() {
        for reference in [
            Reference::for_prompt("explain"),
            Reference::for_resource("calc://square/{n}"),
        ] {
            let error = values(reference, "x", "").expect_err("unknown");
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        }
    }
}
