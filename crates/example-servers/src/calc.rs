//! The `calc` server: floating-point arithmetic tools, the prompt `explain`,
//! the resources `calc://constants` and `file:///notes.txt` (the same URI as the
//! `text` server's, on purpose), the template `calc://square/{n}`,
//! subscriptions and logging.
//!
//! Every result comes back as text (`"5"`) and as structured content
//! (`{"result": 5.0}`). Bad input the caller can fix (division by zero, the
//! square root of a negative number, an overflow) is a tool error result
//! (`isError: true`) with a message, not a JSON-RPC error.

mod prompts;
mod resources;

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
    prompts::{EXPRESSIONS, ExplainArgs},
    resources::{CONSTANTS, NOTES, NOTES_TEXT, SQUARE_TEMPLATE},
};
use crate::{
    identity::Identity,
    shared::{self, Shared},
};

/// Server name reported in `initialize`, `whoami` and `/stats`.
pub const NAME: &str = "calc";

/// Arguments of the binary operations.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Operands {
    /// The left operand.
    pub a: f64,
    /// The right operand.
    pub b: f64,
}

/// Arguments of `sqrt`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Radicand {
    /// The number to take the square root of; must not be negative.
    pub x: f64,
}

/// Arguments of `sum`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Numbers {
    /// The numbers to add up; an empty list sums to 0.
    pub numbers: Vec<f64>,
}

/// Structured result of every arithmetic tool.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Calculation {
    /// The numeric result.
    pub result: f64,
}

/// Instructions returned by `initialize`.
const INSTRUCTIONS: &str = "A calculator: add, subtract, multiply, divide, sqrt and sum over \
floating-point numbers; the prompt explain; the resources calc://constants and \
file:///notes.txt and the square of any number at calc://square/{n}.";

/// The calculator MCP server; one instance per MCP session.
#[derive(Debug, Clone)]
pub struct Calc {
    shared: Shared,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

impl Calc {
    /// A calculator for one session of the process described by `shared`.
    pub fn new(shared: Shared) -> Self {
        Self {
            shared,
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
        }
    }
}

#[tool_router]
impl Calc {
    #[tool(
        description = "Add two numbers and return a + b.",
        output_schema = schema_for_output::<Calculation>()
    )]
    fn add(&self, Parameters(Operands { a, b }): Parameters<Operands>) -> CallToolResult {
        calculation(a + b)
    }

    #[tool(
        description = "Subtract b from a and return a - b.",
        output_schema = schema_for_output::<Calculation>()
    )]
    fn subtract(&self, Parameters(Operands { a, b }): Parameters<Operands>) -> CallToolResult {
        calculation(a - b)
    }

    #[tool(
        description = "Multiply two numbers and return a * b.",
        output_schema = schema_for_output::<Calculation>()
    )]
    fn multiply(&self, Parameters(Operands { a, b }): Parameters<Operands>) -> CallToolResult {
        calculation(a * b)
    }

    #[tool(
        description = "Divide a by b and return a / b. Dividing by zero is a tool error.",
        output_schema = schema_for_output::<Calculation>()
    )]
    fn divide(&self, Parameters(Operands { a, b }): Parameters<Operands>) -> CallToolResult {
        if b == 0.0 {
            return failure("cannot divide by zero: b must not be 0");
        }
        calculation(a / b)
    }

    #[tool(
        description = "Return the square root of x. A negative x is a tool error.",
        output_schema = schema_for_output::<Calculation>()
    )]
    fn sqrt(&self, Parameters(Radicand { x }): Parameters<Radicand>) -> CallToolResult {
        if x < 0.0 {
            return failure(&format!(
                "cannot take the square root of a negative number: x = {x}"
            ));
        }
        calculation(x.sqrt())
    }

    #[tool(
        description = "Add up a list of numbers and return their sum (0 for an empty list).",
        output_schema = schema_for_output::<Calculation>()
    )]
    fn sum(&self, Parameters(Numbers { numbers }): Parameters<Numbers>) -> CallToolResult {
        calculation(numbers.iter().fold(0.0, |total, n| total + n))
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
impl ServerHandler for Calc {
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

/// `completion/complete`: example expressions for `explain`; nothing to suggest
/// for `calc://square/{n}`.
fn complete(request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let argument = request.argument.name.as_str();
    let candidates: &[&str] = match &request.r#ref {
        Reference::Prompt(prompt) => match (prompt.name.as_str(), argument) {
            ("explain", "expression") => EXPRESSIONS,
            ("explain", _) => &[],
            _ => return Err(shared::unknown_reference()),
        },
        Reference::Resource(template) if template.uri == SQUARE_TEMPLATE => &[],
        _ => return Err(shared::unknown_reference()),
    };
    shared::completion(candidates, &request.argument.value)
}

/// A successful result carrying `value` as text and as structured content,
/// or a tool error when `value` is not finite (overflow).
fn calculation(value: f64) -> CallToolResult {
    if !value.is_finite() {
        return failure("the result is not a finite number (overflow)");
    }
    // Report negative zero as plain 0.
    let value = if value == 0.0 { 0.0 } else { value };
    let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
    let structured = serde_json::Map::from_iter([("result".to_owned(), value.into())]);
    result.structured_content = Some(structured.into());
    result
}

/// A tool error result with `message` as its text.
fn failure(message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(result: &CallToolResult) -> Option<&str> {
        result.content.first()?.as_text().map(|t| t.text.as_str())
    }

    #[test]
    fn calculation_has_text_and_structured_content() {
        let result = calculation(5.0);
        assert_eq!(result.is_error, Some(false));
        assert_eq!(text(&result), Some("5"));
        assert_eq!(
            result.structured_content,
            Some(serde_json::json!({"result": 5.0}))
        );
    }

    #[test]
    fn negative_zero_is_reported_as_zero() {
        let result = calculation(-0.0);
        assert_eq!(text(&result), Some("0"));
        assert_eq!(
            result.structured_content,
            Some(serde_json::json!({"result": 0.0}))
        );
    }

    #[test]
    fn non_finite_results_are_tool_errors() {
        for value in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            let result = calculation(value);
            assert_eq!(result.is_error, Some(true), "{value}");
            assert_eq!(result.structured_content, None);
        }
    }

    #[test]
    fn every_tool_has_a_description_and_object_schema() {
        let tools = Calc::tool_router().list_all();
        let mut names: Vec<_> = tools.iter().map(|tool| tool.name.to_string()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "add", "divide", "multiply", "sqrt", "subtract", "sum", "whoami"
            ]
        );
        for tool in tools {
            assert!(
                tool.description.is_some(),
                "{} has no description",
                tool.name
            );
            assert_eq!(
                tool.input_schema.get("type"),
                Some(&serde_json::json!("object"))
            );
        }
    }
}
