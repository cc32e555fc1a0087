//! A real rmcp backend that restarts and forgets every session, while clients hold backend
//! sessions on it. With the standalone bootstrap Envoy replays the refused call on a new
//! backend session and the client sees nothing, with auth on too and under load; where Envoy
//! does not replay (a bootstrap without it, as in Kubernetes), the client gets one retryable
//! error and its gateway session survives, with auth on too (Envoy's hand-off of the
//! backend's 404 carries no caller, see crates/routing/src/lost.rs).
//! Needs `npm ci --prefix e2e/node` for the OpenID provider (`make test` runs it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, IdentityProvider, RawClient, Reply, SESSION_HEADER, ServerKind,
    eventually,
};
use mcp_gateway_protocol::handoff;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// JSON-RPC internal error: the retryable "backend lost the session" answer.
const INTERNAL_ERROR: i64 = -32603;

/// A gateway in front of the text server (rmcp), with `auth:` on, and a token of `alice`.
struct Authed {
    _idp: IdentityProvider,
    gateway: Gateway,
    raw: RawClient,
    bearer: String,
}

/// The bootstrap without replays: the ext_proc filter does not tell the router that the
/// backend clusters move the backend session upstream, so it sets it on the request itself
/// (as with the Kubernetes charts' Envoy) and no 404 becomes a 307.
fn without_replay(bootstrap: String) -> String {
    let entry = format!(
        "                - key: {}\n                  value: \"1\"\n",
        handoff::UPSTREAM_SESSIONS_METADATA
    );
    let replaced = bootstrap.replace(&entry, "");
    assert_ne!(replaced, bootstrap, "the bootstrap names the replay");
    replaced
}

impl Authed {
    async fn start(replay: bool) -> Result<Self> {
        let idp = IdentityProvider::start("alice:alice-secret").await?;
        let gateway = Gateway::start(GatewayOptions {
            servers: &[ServerKind::Text],
            // Discovery would notice the restart itself and forget every backend session;
            // here only the client's call meets the backend's 404.
            discovery_interval: Some("1h"),
            edit_bootstrap: (!replay).then_some(without_replay as fn(String) -> String),
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
async fn without_replay_and_with_auth_on_a_lost_backend_session_is_retryable() -> Result<()> {
    let authed = Authed::start(false).await?;
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

/// The replayed call carries no token (the router removed it for the backend): it is
/// admitted on the session's record, and the client sees only its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_on_a_backend_restart_is_invisible_to_the_client() -> Result<()> {
    let authed = Authed::start(true).await?;
    let text = authed.gateway.backend("text")?;
    let session = authed.initialize().await?;
    let reply = authed.upper(&session, 1).await?;
    ensure!(reply.tool_text()? == "ABC", "{reply}");
    let opened = text.stats().await?.initialize;

    text.kill().await?;
    text.restart().await?;
    let replayed = authed.upper(&session, 2).await?;
    ensure!(
        replayed.tool_text().ok() == Some("ABC")
            && replayed.message.as_ref().and_then(|m| m.get("id")) == Some(&json!(2)),
        "the call after the restart was not replayed: {replayed}\n{}",
        authed.gateway.log_tails()
    );
    for header in [
        handoff::REFUSED_SESSION_HEADER,
        handoff::REPLAY_SESSION_HEADER,
        handoff::REPLAY_SERVER_HEADER,
        handoff::REPLAYED_RESPONSE_HEADER,
    ] {
        ensure!(
            !replayed.headers.contains_key(header),
            "the client sees {header}: {replayed}"
        );
    }
    ensure!(
        text.stats().await?.initialize >= 1 && opened >= 1,
        "the restarted backend opened no session"
    );
    Ok(())
}

/// Several clients, two callers per session, call a real rmcp backend in a loop; the backend
/// is restarted (every backend session lost) while each session holds one. Calls are held
/// while the backend is down (a call to a backend that is not listening is a different
/// failure: it fails fast, see backends.rs); every call after the restart meets a lost
/// session, concurrently, and none may fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_restart_under_load_fails_no_call() -> Result<()> {
    const SESSIONS: usize = 4;
    const CALLS_PER_CALLER: u64 = 40;
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Text],
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let gate = Arc::new(RwLock::new(()));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut callers = Vec::new();
    for _ in 0..SESSIONS {
        let session = raw.initialize().await?;
        for caller in 0..2_u64 {
            let (raw, session, gate) = (raw.clone(), session.clone(), gate.clone());
            let (done, failed) = (done.clone(), failed.clone());
            callers.push(tokio::spawn(async move {
                let mut failures = Vec::new();
                for i in 0..CALLS_PER_CALLER {
                    let _open = gate.read().await;
                    let id = caller * 1000 + i;
                    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "text_upper", "arguments": {"text": "abc"}}});
                    let reply = raw
                        .post_with(&[(SESSION_HEADER, session.as_str())], call.to_string())
                        .await;
                    done.fetch_add(1, Ordering::Relaxed);
                    match reply {
                        Ok(reply) if reply.tool_text().ok() == Some("ABC") => {}
                        Ok(reply) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            failures.push(reply.to_string());
                        }
                        Err(error) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            failures.push(format!("{error:#}"));
                        }
                    }
                }
                failures
            }));
        }
    }
    // Let every session reach the backend, then restart it between two calls of each.
    eventually("every caller under way", || async {
        let n = done.load(Ordering::Relaxed);
        ensure!(n >= (SESSIONS as u64) * 2 * 5, "{n} calls so far");
        Ok(())
    })
    .await?;
    let text = gateway.backend("text")?;
    let before = text.stats().await?.tool_calls;
    {
        let _closed = gate.write().await;
        text.kill().await?;
        text.restart().await?;
    }
    let mut failures = Vec::new();
    for caller in callers {
        failures.extend(caller.await?);
    }
    let attempted = done.load(Ordering::Relaxed);
    let stats = text.stats().await?;
    eprintln!(
        "backend restart under load: {attempted} calls, {} failed; the restarted backend opened {} sessions for {} calls ({before} before the restart)",
        failed.load(Ordering::Relaxed),
        stats.initialize,
        stats.tool_calls,
    );
    ensure!(attempted == (SESSIONS as u64) * 2 * CALLS_PER_CALLER);
    ensure!(
        failures.is_empty(),
        "{} calls failed, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    ensure!(
        stats.initialize >= SESSIONS as u64,
        "the restarted backend saw {} sessions opened",
        stats.initialize
    );
    Ok(())
}
