//! A real MCP server built with the official Rust SDK (rmcp), served
//! in-process on 127.0.0.1:0. Its `tools/list` pages two tools at a time.

use axum::http::request::Parts;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::scripted::{Backend, serve};

/// Tools per `tools/list` page.
pub const PAGE_SIZE: usize = 2;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AddArgs {
    a: i64,
    b: i64,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SleepArgs {
    ms: u64,
}

#[derive(Clone)]
pub struct Demo {
    tool_router: ToolRouter<Self>,
}

impl Demo {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl Demo {
    #[tool(description = "Adds two integers")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    #[tool(description = "Reports the session headers of the HTTP request")]
    fn headers(&self, Extension(parts): Extension<Parts>) -> String {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        serde_json::json!({
            "session": header("mcp-session-id"),
            "version": header("mcp-protocol-version"),
        })
        .to_string()
    }

    #[tool(description = "Sleeps for ms milliseconds")]
    async fn sleep(&self, Parameters(SleepArgs { ms }): Parameters<SleepArgs>) -> String {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        "slept".to_owned()
    }

    #[tool(description = "Does nothing")]
    fn noop(&self) -> String {
        String::new()
    }

    #[tool(description = "Answers ok")]
    fn ok(&self) -> String {
        "ok".to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Demo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("demo", "1.0.0"))
            .with_instructions("demo instructions")
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = self.tool_router.list_all();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => cursor
                .parse::<usize>()
                .ok()
                .filter(|start| *start < tools.len())
                .ok_or_else(|| ErrorData::invalid_params("bad cursor", None))?,
        };
        let end = (start + PAGE_SIZE).min(tools.len());
        let mut page = ListToolsResult::with_all_items(tools[start..end].to_vec());
        page.next_cursor = (end < tools.len()).then(|| end.to_string());
        Ok(page)
    }
}

/// Names of all the demo's tools, sorted.
pub const TOOL_NAMES: [&str; 5] = ["add", "headers", "noop", "ok", "sleep"];

/// rmcp's default: sessions on, POST answers as event streams.
pub fn stateful() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
}

/// Stateless, answering with plain JSON bodies.
pub fn stateless_json() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
}

/// Serves the demo server at `/mcp`.
pub async fn spawn(config: StreamableHttpServerConfig) -> Backend {
    let service: StreamableHttpService<Demo, LocalSessionManager> =
        StreamableHttpService::new(|| Ok(Demo::new()), Default::default(), config);
    serve(axum::Router::new().nest_service("/mcp", service)).await
}
