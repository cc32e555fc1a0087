//! An MCP server the test drives while it runs: it gains tools on demand (announcing
//! `notifications/tools/list_changed` to every session) and tells subscribers that a
//! resource changed (`notifications/resources/updated`). Neither example server nor
//! the conformance fixture does either, so the gateway's handling of both is proven
//! against this one.
//!
//! It runs in the test's own process (built with rmcp, the official SDK, and served
//! over real streamable HTTP on a free loopback port) so the test can trigger changes
//! directly. Configure it with [`crate::GatewayOptions::external`].
//!
//! rmcp marks `resources/(un)subscribe` legacy-only for protocol 2026-07-28; the
//! 2025 revisions the gateway speaks have them.
#![allow(deprecated)]

use std::{
    borrow::Cow,
    collections::BTreeSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use anyhow::{Context, Result, bail};
use axum::Router;
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
        JsonObject, ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
        ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
        ResourceContents, ServerCapabilities, ServerConfig, SetLevelRequestParams,
        SubscribeRequestParams, Tool, UnsubscribeRequestParams,
    },
    service::{NotificationContext, Peer, RequestContext},
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// The one resource, which subscribers are told about when it changes.
pub const WATCHED_URI: &str = "file:///watched.txt";

/// Any tool of a [`LiveServer`] called with this argument (milliseconds) takes that long
/// to answer: a slow, long-running tool.
pub const SLEEP_ARGUMENT: &str = "sleepMs";

/// The tool every [`LiveServer`] starts with.
pub const FIRST_TOOL: &str = "hello";

/// Newest protocol revision served: the last with sessions and a GET stream.
const PROTOCOL: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// Locks `mutex`; a panic elsewhere leaves plain data that stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every session of the server shares.
#[derive(Debug, Default)]
struct Shared {
    tools: Mutex<BTreeSet<String>>,
    /// Every initialised session.
    sessions: Mutex<Vec<Peer<RoleServer>>>,
    /// (URI as received, session number, session) of every subscription.
    subscriptions: Mutex<Vec<(String, u64, Peer<RoleServer>)>>,
    /// Number of the next session.
    next_session: AtomicU64,
    /// The credential headers (`authorization`, `x-api-key`) of every request, in order.
    credentials: Mutex<Vec<SeenCredentials>>,
    /// `tools/list` requests answered.
    tools_listed: AtomicU64,
}

/// The credential headers one request carried, and what the request was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenCredentials {
    /// The HTTP method (`POST`, `GET` for the session's stream, `DELETE` ending it).
    pub http_method: String,
    /// The JSON-RPC `method` of a POSTed request or notification (`None` for a response, a
    /// batch, or a GET or DELETE).
    pub rpc_method: Option<String>,
    /// `Authorization`, when sent.
    pub authorization: Option<String>,
    /// `X-Api-Key`, when sent.
    pub api_key: Option<String>,
    /// `Mcp-Session-Id`: the backend session the request belongs to.
    pub session_id: Option<String>,
    /// `x-mcp-method`: set by the router on requests it routed, absent on the gateway's own
    /// requests (discovery, backend sessions it opens).
    pub routed_method: Option<String>,
    /// `x-mcp-caller-key`: the router's key for per-caller rate limits, which must not reach
    /// a backend.
    pub caller_key: Option<String>,
}

/// The in-process server; stops serving on drop.
#[derive(Debug)]
pub struct LiveServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl LiveServer {
    /// Binds a free loopback port and serves streamable HTTP MCP at `/mcp`.
    pub async fn start() -> Result<Self> {
        let shared = Arc::new(Shared::default());
        lock(&shared.tools).insert(FIRST_TOOL.to_owned());
        let shutdown = CancellationToken::new();
        let config =
            StreamableHttpServerConfig::default().with_cancellation_token(shutdown.clone());
        let factory = {
            let shared = shared.clone();
            move || {
                Ok(Session {
                    id: shared.next_session.fetch_add(1, Ordering::Relaxed),
                    shared: shared.clone(),
                })
            }
        };
        let service =
            StreamableHttpService::new(factory, Arc::new(LocalSessionManager::default()), config);
        let recorder = shared.clone();
        let router = Router::new()
            .route_service("/mcp", service)
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let recorder = recorder.clone();
                    async move {
                        // The body is small JSON-RPC: read whole to note its method, then
                        // handed on unchanged.
                        let (parts, body) = request.into_parts();
                        let bytes = axum::body::to_bytes(body, 1 << 20)
                            .await
                            .unwrap_or_default();
                        let rpc_method = serde_json::from_slice::<serde_json::Value>(&bytes)
                            .ok()
                            .and_then(|v| v.get("method")?.as_str().map(str::to_owned));
                        let request = axum::extract::Request::from_parts(
                            parts,
                            axum::body::Body::from(bytes),
                        );
                        let seen = {
                            let header = |name: &str| {
                                request
                                    .headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned)
                            };
                            SeenCredentials {
                                http_method: request.method().as_str().to_owned(),
                                rpc_method,
                                authorization: header("authorization"),
                                api_key: header("x-api-key"),
                                session_id: header("mcp-session-id"),
                                routed_method: header("x-mcp-method"),
                                caller_key: header("x-mcp-caller-key"),
                            }
                        };
                        lock(&recorder.credentials).push(seen);
                        next.run(request).await
                    }
                },
            ));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the live server")?;
        let addr = listener.local_addr()?;
        let stopping = shutdown.clone();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stopping.cancelled().await });
            if let Err(error) = serving.await {
                eprintln!("live server stopped: {error}");
            }
        });
        Ok(Self {
            addr,
            shared,
            shutdown,
            task,
        })
    }

    /// The URL of its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// The credential headers of every request received so far, in order.
    pub fn credentials_seen(&self) -> Vec<SeenCredentials> {
        lock(&self.shared.credentials).clone()
    }

    /// How many `tools/list` requests it has answered.
    pub fn tools_listed(&self) -> u64 {
        self.shared.tools_listed.load(Ordering::SeqCst)
    }

    /// Its tools now.
    pub fn tools(&self) -> BTreeSet<String> {
        lock(&self.shared.tools).clone()
    }

    /// Adds a tool, then announces the change; returns the sessions told.
    pub async fn add_tool(&self, name: &str) -> Result<usize> {
        if !lock(&self.shared.tools).insert(name.to_owned()) {
            bail!("the live server already has a tool {name}");
        }
        Ok(self.announce_tools_changed().await)
    }

    /// Sends `notifications/tools/list_changed` to every open session; returns how
    /// many took it.
    pub async fn announce_tools_changed(&self) -> usize {
        let sessions = lock(&self.shared.sessions).clone();
        let mut told = 0;
        for peer in sessions {
            if peer.notify_tool_list_changed().await.is_ok() {
                told += 1;
            }
        }
        told
    }

    /// The URIs subscribed to, as this server received them.
    pub fn subscribed_uris(&self) -> Vec<String> {
        lock(&self.shared.subscriptions)
            .iter()
            .map(|(uri, _, _)| uri.clone())
            .collect()
    }

    /// Sends `notifications/resources/updated` for `uri` to every session subscribed
    /// to it; returns how many took it.
    pub async fn touch(&self, uri: &str) -> usize {
        let subscribers: Vec<Peer<RoleServer>> = lock(&self.shared.subscriptions)
            .iter()
            .filter(|(subscribed, _, _)| subscribed == uri)
            .map(|(_, _, peer)| peer.clone())
            .collect();
        let mut told = 0;
        for peer in subscribers {
            let params = rmcp::model::ResourceUpdatedNotificationParam::new(uri);
            if peer.notify_resource_updated(params).await.is_ok() {
                told += 1;
            }
        }
        told
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.task.abort();
    }
}

/// One MCP session of the live server.
#[derive(Debug)]
struct Session {
    id: u64,
    shared: Arc<Shared>,
}

impl ServerHandler for Session {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_logging()
            .build();
        ServerConfig::new(capabilities)
            .with_protocol_version(PROTOCOL)
            .with_server_info(Implementation::new("mcp-gateway-e2e-live", "0"))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&PROTOCOL))
    }

    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        lock(&self.shared.sessions).push(context.peer);
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.shared.tools_listed.fetch_add(1, Ordering::SeqCst);
        let schema: JsonObject = serde_json::from_value(serde_json::json!({"type": "object"}))
            .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
        let schema = Arc::new(schema);
        let tools = lock(&self.shared.tools)
            .iter()
            .map(|name| Tool::new(name.clone(), "Answers with its own name.", schema.clone()))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !lock(&self.shared.tools).contains(request.name.as_ref()) {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {:?}", request.name),
                None,
            ));
        }
        let sleep = request
            .arguments
            .as_ref()
            .and_then(|arguments| arguments.get(SLEEP_ARGUMENT)?.as_u64());
        if let Some(millis) = sleep {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        }
        Ok(
            CallToolResult::success(vec![ContentBlock::text(format!("{} ran", request.name))])
                .into(),
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(WATCHED_URI, "watched").with_mime_type("text/plain"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != WATCHED_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {:?}", request.uri),
                None,
            ));
        }
        let contents = ResourceContents::text("watched", WATCHED_URI).with_mime_type("text/plain");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if request.uri != WATCHED_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {:?} to subscribe to", request.uri),
                None,
            ));
        }
        let mut subscriptions = lock(&self.shared.subscriptions);
        let known = subscriptions
            .iter()
            .any(|(uri, session, _)| *uri == request.uri && *session == self.id);
        if !known {
            subscriptions.push((request.uri, self.id, context.peer));
        }
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        lock(&self.shared.subscriptions)
            .retain(|(uri, session, _)| *uri != request.uri || *session != self.id);
        Ok(())
    }
}
