//! The client the gateway uses to talk to backend MCP servers.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use tracing::{Instrument, debug};
use url::Url;

use crate::error::UpstreamError;
use crate::message::encode;
use crate::session::{BackendSession, InitOptions};
use crate::transport::{Exchange, describe};

/// Most pages [`UpstreamClient::list_all`] follows before giving up.
pub const MAX_PAGES: usize = 1000;

const USER_AGENT: &str = concat!("mcp-gateway/", env!("CARGO_PKG_VERSION"));

/// A streamable-HTTP MCP client. Cheap to clone; clones share connections
/// and the request id counter.
///
/// Every HTTP exchange (one POST with its answer, one DELETE) is bounded by
/// the timeout given to [`UpstreamClient::new`], so no call can hang.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    http: reqwest::Client,
    timeout: Duration,
    next_id: Arc<AtomicU64>,
    /// Sent with every request of this handle (see [`UpstreamClient::with_credential`]).
    credential: Option<(HeaderName, HeaderValue)>,
    /// The client capabilities a 2026-07-28 request of this handle declares (see
    /// [`UpstreamClient::declaring`]).
    declared: Arc<Value>,
}

impl UpstreamClient {
    /// A client whose every exchange (and every connection attempt) is bounded
    /// by `timeout`. Installs the rustls crypto provider if none is installed.
    pub fn new(timeout: Duration) -> Result<Self, UpstreamError> {
        Self::with_resolve(timeout, &[])
    }

    /// [`UpstreamClient::new`], with fixed addresses for some host names (`host`,
    /// address) instead of DNS; the port in a request's URL still applies.
    pub fn with_resolve(
        timeout: Duration,
        resolve: &[(String, SocketAddr)],
    ) -> Result<Self, UpstreamError> {
        crate::install_crypto_provider();
        let builder = resolve
            .iter()
            .fold(reqwest::Client::builder(), |builder, (host, address)| {
                builder.resolve(host, *address)
            });
        let http = builder
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| {
                UpstreamError::Connect(format!("building HTTP client: {}", describe(&e)))
            })?;
        Ok(Self {
            http,
            timeout,
            next_id: Arc::new(AtomicU64::new(1)),
            credential: None,
            declared: Arc::new(Value::Object(serde_json::Map::new())),
        })
    }

    /// The same client (sharing connections), sending `credential` (a header a backend
    /// authenticates the gateway by, its value marked sensitive) with every request; `None`
    /// sends none. Nothing else the client sends carries a credential.
    pub fn with_credential(&self, credential: Option<(HeaderName, HeaderValue)>) -> Self {
        let credential = credential.map(|(name, mut value)| {
            // Printed as "Sensitive" by `Debug`, never indexed by HPACK.
            value.set_sensitive(true);
            (name, value)
        });
        Self {
            credential,
            ..self.clone()
        }
    }

    /// The same client (sharing connections), declaring `capabilities` in the `_meta` of its
    /// 2026-07-28 requests (those in a [`BackendSession::modern`] stand-in); the default
    /// declares none. 2025 sessions declared theirs on `initialize`.
    pub fn declaring(&self, capabilities: Value) -> Self {
        Self {
            declared: Arc::new(capabilities),
            ..self.clone()
        }
    }

    /// The capabilities this handle's 2026-07-28 requests declare.
    pub(crate) fn declared(&self) -> Value {
        (*self.declared).clone()
    }

    /// `session`'s headers, and the credential if there is one.
    pub(crate) fn headers(
        &self,
        session: Option<&BackendSession>,
    ) -> Result<HeaderMap, UpstreamError> {
        let mut headers = match session {
            Some(session) => session.headers()?,
            None => HeaderMap::new(),
        };
        if let Some((name, value)) = &self.credential {
            headers.insert(name.clone(), value.clone());
        }
        // The backend's spans join the trace of the request this exchange serves.
        mcp_gateway_telemetry::inject(&mut headers);
        Ok(headers)
    }

    /// The per-exchange timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Opens a session: POSTs `initialize` with `opts`, reads `Mcp-Session-Id`
    /// from the response, then sends `notifications/initialized` in that
    /// session with the negotiated `MCP-Protocol-Version` (the version the
    /// server answered with).
    pub async fn initialize(
        &self,
        url: &Url,
        opts: &InitOptions,
    ) -> Result<BackendSession, UpstreamError> {
        let span = exchange_span("initialize");
        self.initialize_in_span(url, opts).instrument(span).await
    }

    async fn initialize_in_span(
        &self,
        url: &Url,
        opts: &InitOptions,
    ) -> Result<BackendSession, UpstreamError> {
        let params = json!({
            "protocolVersion": opts.protocol_version,
            "capabilities": opts.capabilities,
            "clientInfo": opts.client_info,
        });
        let exchange = Exchange::new(&self.http, url, self.headers(None)?);
        let id = self.next_id();
        let body = encode(Some(id), "initialize", Some(&params))?;
        let (headers, result) = self.bounded(exchange.request(id, body)).await?;
        let session = BackendSession::from_initialize(result, &headers)?;
        if let Err(error) = self
            .notify(url, &session, "notifications/initialized", None)
            .await
        {
            if !error.is_unreachable() {
                // Best effort: do not leave a half-open session behind.
                let _ = self.terminate(url, &session).await;
            }
            return Err(error);
        }
        debug!(
            host = url.host_str().unwrap_or_default(),
            version = %session.protocol_version,
            stateful = session.session_id.is_some(),
            "backend session initialised"
        );
        Ok(session)
    }

    /// Sends request `method` in `session`; returns the JSON-RPC `result`. In a 2026-07-28
    /// stand-in session ([`BackendSession::modern`]) the request carries its envelope.
    pub async fn request(
        &self,
        url: &Url,
        session: &BackendSession,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, UpstreamError> {
        async {
            let mut headers = self.headers(Some(session))?;
            let params =
                crate::modern::envelop(session, &self.declared, method, params, &mut headers)?;
            let exchange = Exchange::new(&self.http, url, headers);
            let id = self.next_id();
            let body = encode(Some(id), method, params.as_ref())?;
            let (_, result) = self.bounded(exchange.request(id, body)).await?;
            Ok(result)
        }
        .instrument(exchange_span(method))
        .await
    }

    /// Sends notification `method` in `session`.
    pub async fn notify(
        &self,
        url: &Url,
        session: &BackendSession,
        method: &str,
        params: Option<Value>,
    ) -> Result<(), UpstreamError> {
        async {
            let exchange = Exchange::new(&self.http, url, self.headers(Some(session))?);
            let body = encode(None, method, params.as_ref())?;
            self.bounded(exchange.notify(body)).await
        }
        .instrument(exchange_span(method))
        .await
    }

    /// Sends `ping`; Ok when the backend answered.
    pub async fn ping(&self, url: &Url, session: &BackendSession) -> Result<(), UpstreamError> {
        self.request(url, session, "ping", None).await.map(drop)
    }

    /// Calls a paginated list method (`tools/list`, `prompts/list`, ...) and
    /// follows `nextCursor` to the end, returning the items under `item_key`
    /// of every page in order. An absent, null or empty `nextCursor` ends the
    /// list; a repeated cursor or more than [`MAX_PAGES`] pages is an error.
    pub async fn list_all(
        &self,
        url: &Url,
        session: &BackendSession,
        method: &str,
        item_key: &str,
    ) -> Result<Vec<Value>, UpstreamError> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map(|cursor| json!({ "cursor": cursor }));
            let mut page = self.request(url, session, method, params).await?;
            match page.get_mut(item_key).map(Value::take) {
                Some(Value::Array(page_items)) => items.extend(page_items),
                _ => {
                    return Err(UpstreamError::Protocol(format!(
                        "{method} result has no {item_key:?} array"
                    )));
                }
            }
            match page.get_mut("nextCursor").map(Value::take) {
                None | Some(Value::Null) => return Ok(items),
                Some(Value::String(next)) if next.is_empty() => return Ok(items),
                Some(Value::String(next)) => {
                    if !seen.insert(next.clone()) {
                        return Err(UpstreamError::Protocol(format!(
                            "{method} repeated a cursor"
                        )));
                    }
                    cursor = Some(next);
                }
                Some(_) => {
                    return Err(UpstreamError::Protocol(format!(
                        "{method} nextCursor is not a string"
                    )));
                }
            }
        }
        Err(UpstreamError::Protocol(format!(
            "{method} has more than {MAX_PAGES} pages"
        )))
    }

    /// Ends the session with DELETE. Best effort: a stateless session, a
    /// server that does not allow DELETE (405) or has already forgotten the
    /// session (404) is fine.
    pub async fn terminate(
        &self,
        url: &Url,
        session: &BackendSession,
    ) -> Result<(), UpstreamError> {
        if session.session_id.is_none() {
            return Ok(());
        }
        let exchange = Exchange::new(&self.http, url, self.headers(Some(session))?);
        self.bounded(exchange.delete()).await
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) async fn bounded<T>(
        &self,
        exchange: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(UpstreamError::Timeout))
    }
}

/// How the gateway introduces itself in its own 2026-07-28 requests.
pub(crate) fn own_client_info() -> Value {
    json!({ "name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION") })
}

/// The client span of one exchange with a backend made for a traced request (none for
/// the gateway's own background work).
fn exchange_span(method: &str) -> tracing::Span {
    mcp_gateway_telemetry::child_span!(
        "backend request",
        otel.name = method,
        otel.kind = "client",
        mcp.method.name = method,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_goes_with_every_request_and_never_prints() {
        let plain = UpstreamClient::new(Duration::from_secs(1)).expect("client");
        assert!(plain.headers(None).expect("headers").is_empty());
        let keyed = plain.with_credential(Some((
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("s3cret"),
        )));
        assert_eq!(keyed.headers(None).expect("headers")["x-api-key"], "s3cret");
        assert!(!format!("{keyed:?}").contains("s3cret"));
        // The original handle is unchanged.
        assert!(plain.headers(None).expect("headers").is_empty());
    }
}
