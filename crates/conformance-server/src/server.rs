//! The MCP server: one [`Fixture`] per session, answering every request the
//! server scenarios send.
//!
//! Logging, `logging/setLevel` and `resources/(un)subscribe` are deprecated in
//! rmcp for protocol 2026-07-28 (SEP-2577); the revisions the suite tests have them.
#![allow(deprecated)]

use std::{
    borrow::Cow,
    collections::BTreeSet,
    sync::{Arc, Mutex, PoisonError},
};

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
        ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
        ServerConfig, SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
    },
    service::RequestContext,
};

use crate::{completion, logging::LogFilter, prompts, resources, sessions::Sessions, tools};

/// Server name reported in `initialize` and used as the logger name.
pub const NAME: &str = "mcp-conformance-server";

/// The newest protocol revision served: the newest the suite tests, and the
/// last with sessions and server-to-client requests (sampling, elicitation).
pub const NEWEST_PROTOCOL: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// The fixture server of one MCP session.
#[derive(Debug)]
pub struct Fixture {
    sessions: Arc<Sessions>,
    log_filter: LogFilter,
    subscriptions: Mutex<BTreeSet<String>>,
}

impl Fixture {
    /// A fresh session served through `sessions`.
    pub fn new(sessions: Arc<Sessions>) -> Self {
        Self {
            sessions,
            log_filter: LogFilter::default(),
            subscriptions: Mutex::new(BTreeSet::new()),
        }
    }

    /// The session manager serving this session.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The log level set by `logging/setLevel`.
    pub fn log_filter(&self) -> &LogFilter {
        &self.log_filter
    }

    fn update_subscriptions(&self, update: impl FnOnce(&mut BTreeSet<String>)) {
        update(
            &mut self
                .subscriptions
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }
}

impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_tools()
            .build();
        ServerConfig::new(capabilities)
            .with_protocol_version(NEWEST_PROTOCOL)
            .with_server_info(Implementation::new(NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Fixture server for the official MCP conformance suite: every tool, resource \
                 and prompt its server scenarios expect.",
            )
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&NEWEST_PROTOCOL))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        tools::call(self, request, context).await.map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(&request).map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(resources::list()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
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
        if !resources::exists(&request.uri) {
            return Err(ErrorData::resource_not_found(
                format!("no resource {:?} to subscribe to", request.uri),
                None,
            ));
        }
        self.update_subscriptions(|subscriptions| {
            subscriptions.insert(request.uri);
        });
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.update_subscriptions(|subscriptions| {
            subscriptions.remove(&request.uri);
        });
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        completion::complete(&request)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log_filter.set(request.level);
        Ok(())
    }
}
