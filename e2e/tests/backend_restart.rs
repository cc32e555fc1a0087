//! A real rmcp backend that restarts and forgets every session, while clients hold backend
//! sessions on it: the clients' gateway sessions survive, with auth on too (Envoy's internal
//! hand-off of the backend's 404 carries no caller, see crates/routing/src/lost.rs).
//! Needs `npm ci --prefix e2e/node` for the OpenID provider (`make test` runs it).

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, IdentityProvider, RawClient, Reply, SESSION_HEADER, ServerKind,
    eventually,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// JSON-RPC internal error: the retryable "backend lost the session" answer.
const INTERNAL_ERROR: i64 = -32603;

/// A gateway in front of the text server (rmcp), with `auth:` on, and a token of `alice`.
struct Authed {
    _idp: IdentityProvider,
    gateway: Gateway,
    raw: RawClient,
    bearer: String,
}

impl Authed {
    async fn start() -> Result<Self> {
        let idp = IdentityProvider::start("alice:alice-secret").await?;
        let gateway = Gateway::start(GatewayOptions {
            servers: &[ServerKind::Text],
            // Discovery would notice the restart itself and forget every backend session;
            // here only the client's call meets the backend's 404.
            discovery_interval: Some("1h"),
            ..GatewayOptions::default()
        })
        .await?;
        let resource = gateway.mcp_url();
        let yaml = format!(
            "{}{}",
            gateway.config_yaml(&[ServerKind::Text])?,
            idp.auth_section(&resource)
        );
        gateway.write_config(&yaml)?;
        let token = idp
            .client_token("alice", "alice-secret", &resource, Some("mcp"))
            .await?;
        let authed = Self {
            _idp: idp,
            raw: RawClient::new(&resource)?,
            gateway,
            bearer: format!("Bearer {token}"),
        };
        eventually("auth on", || async {
            let anonymous = authed.raw.list_tools(None).await?;
            ensure!(anonymous.status == StatusCode::UNAUTHORIZED, "{anonymous}");
            Ok(())
        })
        .await?;
        Ok(authed)
    }

    async fn post(&self, session: Option<&str>, body: Value) -> Result<Reply> {
        let mut headers = vec![("authorization", self.bearer.as_str())];
        if let Some(session) = session {
            headers.push((SESSION_HEADER, session));
        }
        self.raw.post_with(&headers, body.to_string()).await
    }

    /// A session of a client that declares nothing (so its calls take the route whose
    /// responses the router does not see, where Envoy hands a 404 back to the router).
    async fn initialize(&self) -> Result<String> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "restart-e2e", "version": "0"}}});
        let reply = self.post(None, body).await?;
        ensure!(reply.status == StatusCode::OK, "initialize: {reply}");
        let session = reply.session_id().map(str::to_owned);
        session.with_context(|| format!("no session id: {reply}"))
    }

    async fn upper(&self, session: &str, id: u64) -> Result<Reply> {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "text_upper", "arguments": {"text": "abc"}}});
        self.post(Some(session), call).await
    }
}

/// HTTP 200 with the JSON-RPC "retry" error answering `id`.
fn assert_retryable(reply: &Reply, id: u64) -> Result<()> {
    ensure!(reply.status == StatusCode::OK, "not a 200: {reply}");
    ensure!(
        reply.error_code() == Some(INTERNAL_ERROR),
        "not the retryable internal error: {reply}"
    );
    ensure!(
        reply.message.as_ref().and_then(|m| m.get("id")) == Some(&json!(id)),
        "the error does not answer id {id}: {reply}"
    );
    let message = reply.error_message().unwrap_or_default();
    ensure!(
        message.contains("retry") && message.contains("'text'"),
        "the error does not ask to retry on 'text': {reply}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_on_a_lost_backend_session_is_retryable_and_the_session_survives() -> Result<()> {
    let authed = Authed::start().await?;
    let text = authed.gateway.backend("text")?;
    let session = authed.initialize().await?;
    let reply = authed.upper(&session, 1).await?;
    ensure!(reply.tool_text()? == "ABC", "{reply}");

    text.kill().await?;
    text.restart().await?;
    let lost = authed.upper(&session, 2).await?;
    assert_retryable(&lost, 2).with_context(|| authed.gateway.log_tails())?;
    let retry = authed.upper(&session, 3).await?;
    ensure!(
        retry.tool_text().ok() == Some("ABC"),
        "the retry in the same gateway session failed: {retry}"
    );
    Ok(())
}
