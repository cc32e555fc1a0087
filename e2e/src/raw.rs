//! JSON-RPC over plain HTTP, for tests where status codes, headers and exact bodies
//! matter more than what an MCP SDK would make of them.

use std::{collections::BTreeSet, sync::Once, time::Duration};

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};

use crate::sse::EventStream;

/// The MCP protocol version raw sessions ask for and announce.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// Header carrying the MCP session id.
pub const SESSION_HEADER: &str = "mcp-session-id";

/// Header carrying the agreed MCP protocol version.
const VERSION_HEADER: &str = "mcp-protocol-version";

/// Longest a raw request (body included) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP client with no proxy, usable once rustls has a crypto provider.
pub fn http_client() -> Result<reqwest::Client> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Fails only when another provider is already the default, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("building an HTTP client")
}

/// One HTTP response, with the JSON-RPC message it carried (if any).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as received (for an event stream: up to the JSON-RPC response).
    pub body: String,
    /// The JSON body, or the JSON-RPC response found in an event stream.
    pub message: Option<Value>,
}

impl Reply {
    /// The `Mcp-Session-Id` response header.
    pub fn session_id(&self) -> Option<&str> {
        self.headers
            .get(SESSION_HEADER)
            .and_then(|value| value.to_str().ok())
    }

    /// `error.code` of the JSON-RPC message.
    pub fn error_code(&self) -> Option<i64> {
        self.message.as_ref()?.pointer("/error/code")?.as_i64()
    }

    /// `error.message` of the JSON-RPC message.
    pub fn error_message(&self) -> Option<&str> {
        self.message.as_ref()?.pointer("/error/message")?.as_str()
    }

    /// `result` of a successful JSON-RPC response; otherwise an error describing the reply.
    pub fn result(&self) -> Result<&Value> {
        self.message
            .as_ref()
            .and_then(|message| message.get("result"))
            .ok_or_else(|| anyhow!("no JSON-RPC result in {self}"))
    }

    /// The first text content of a successful `tools/call` result.
    pub fn tool_text(&self) -> Result<&str> {
        self.result()?
            .pointer("/content/0/text")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("no text content in {self}"))
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let content_type = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        write!(f, "HTTP {} ({content_type}) {}", self.status, self.body)
    }
}

/// A raw JSON-RPC client for one MCP endpoint.
#[derive(Debug, Clone)]
pub struct RawClient {
    http: reqwest::Client,
    url: String,
}

impl RawClient {
    /// A client for the MCP endpoint at `url`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            http: http_client()?,
            url: url.to_owned(),
        })
    }

    /// POSTs `body` as is, with the session header when given.
    pub async fn post(&self, session: Option<&str>, body: impl Into<String>) -> Result<Reply> {
        let headers: Vec<(&str, &str)> = session
            .map(|id| vec![(SESSION_HEADER, id)])
            .unwrap_or_default();
        self.post_with(&headers, body).await
    }

    /// POSTs `body` as is with extra request headers; `MCP-Protocol-Version` is
    /// [`PROTOCOL_VERSION`] unless `headers` has one.
    pub async fn post_with(
        &self,
        headers: &[(&str, &str)],
        body: impl Into<String>,
    ) -> Result<Reply> {
        let has_version = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(VERSION_HEADER));
        let default = (!has_version).then_some(PROTOCOL_VERSION);
        self.send_post(headers, default, body.into()).await
    }

    /// `initialize` asking for protocol `version`, sent as a client's first request:
    /// without `MCP-Protocol-Version` (a client sends it once a version is agreed).
    pub async fn initialize_as(&self, version: &str) -> Result<Reply> {
        let body = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": "mcp-gateway-e2e", "version": "0"},
            },
        });
        self.send_post(&[], None, body.to_string()).await
    }

    async fn send_post(
        &self,
        headers: &[(&str, &str)],
        version: Option<&str>,
        body: String,
    ) -> Result<Reply> {
        let mut request = self
            .http
            .post(&self.url)
            .timeout(REQUEST_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            );
        if let Some(version) = version {
            request = request.header(VERSION_HEADER, version);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {}", self.url))?;
        read_reply(response).await
    }

    /// Sends a JSON-RPC request.
    pub async fn request(
        &self,
        session: Option<&str>,
        id: u64,
        method: &str,
        params: Value,
    ) -> Result<Reply> {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.post(session, body.to_string()).await
    }

    /// Sends a JSON-RPC notification (no id, so no JSON-RPC response).
    pub async fn notify(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Reply> {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.post(session, body.to_string()).await
    }

    /// `initialize` followed by `notifications/initialized`; returns the session id.
    pub async fn initialize(&self) -> Result<String> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-gateway-e2e", "version": "0"},
        });
        let reply = self.request(None, 0, "initialize", params).await?;
        if reply.status != StatusCode::OK {
            bail!("initialize failed: {reply}");
        }
        reply.result()?;
        let session = reply
            .session_id()
            .with_context(|| format!("initialize answered without {SESSION_HEADER}: {reply}"))?
            .to_owned();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let reply = self.post(Some(&session), initialized.to_string()).await?;
        if reply.status != StatusCode::ACCEPTED {
            bail!("notifications/initialized not accepted with 202: {reply}");
        }
        Ok(session)
    }

    /// `tools/call` of `name` with `arguments`.
    pub async fn call_tool(
        &self,
        session: Option<&str>,
        name: &str,
        arguments: Value,
    ) -> Result<Reply> {
        let params = json!({"name": name, "arguments": arguments});
        self.request(session, 1, "tools/call", params).await
    }

    /// `tools/list`, one page.
    pub async fn list_tools(&self, session: Option<&str>) -> Result<Reply> {
        self.request(session, 2, "tools/list", json!({})).await
    }

    /// The names of all tools, following `nextCursor`.
    pub async fn tool_names(&self, session: &str) -> Result<BTreeSet<String>> {
        let mut names = BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(cursor) => json!({"cursor": cursor}),
                None => json!({}),
            };
            let reply = self.request(Some(session), 2, "tools/list", params).await?;
            let result = reply.result()?;
            let tools = result
                .get("tools")
                .and_then(Value::as_array)
                .with_context(|| format!("tools/list without a tools array: {reply}"))?;
            for tool in tools {
                let name = tool
                    .get("name")
                    .and_then(Value::as_str)
                    .with_context(|| format!("a tool without a name: {tool}"))?;
                names.insert(name.to_owned());
            }
            cursor = result
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                return Ok(names);
            }
        }
    }

    /// The names of the tools of one `tools/list` page asked as an MCP 2026-07-28 client
    /// (no session; fails against a server that does not speak 2026-07-28).
    pub async fn modern_tool_names(&self) -> Result<BTreeSet<String>> {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }}});
        let headers = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ];
        let reply = self.post_with(&headers, body.to_string()).await?;
        let tools = reply
            .result()?
            .get("tools")
            .and_then(Value::as_array)
            .with_context(|| format!("tools/list without a tools array: {reply}"))?;
        Ok(tools
            .iter()
            .filter_map(|tool| tool.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect())
    }

    /// Opens the session's GET stream (`Accept: text/event-stream`), resuming after
    /// `last_event_id` when given; fails unless the answer is a 200 event stream.
    pub async fn open_stream(
        &self,
        session: &str,
        last_event_id: Option<&str>,
    ) -> Result<EventStream> {
        self.open_stream_with(session, last_event_id, &[]).await
    }

    /// [`RawClient::open_stream`] with extra request headers (`Authorization`).
    pub async fn open_stream_with(
        &self,
        session: &str,
        last_event_id: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<EventStream> {
        let mut request = self
            .http
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header(SESSION_HEADER, session)
            .header(VERSION_HEADER, PROTOCOL_VERSION);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // No overall timeout: the stream stays open; readers bound each wait.
        let response = tokio::time::timeout(REQUEST_TIMEOUT, request.send())
            .await
            .with_context(|| format!("GET {} did not answer within {REQUEST_TIMEOUT:?}", self.url))?
            .with_context(|| format!("GET {}", self.url))?;
        let is_event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if response.status() != StatusCode::OK || !is_event_stream {
            let reply = read_reply(response).await?;
            bail!("GET stream refused: {reply}");
        }
        Ok(EventStream::new(response))
    }

    /// `DELETE` of a session; returns the status.
    pub async fn delete(&self, session: &str) -> Result<StatusCode> {
        self.delete_with(session, &[]).await
    }

    /// [`RawClient::delete`] with extra request headers (`Authorization`).
    pub async fn delete_with(&self, session: &str, headers: &[(&str, &str)]) -> Result<StatusCode> {
        let mut request = self
            .http
            .delete(&self.url)
            .timeout(REQUEST_TIMEOUT)
            .header(SESSION_HEADER, session)
            .header(VERSION_HEADER, PROTOCOL_VERSION);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("DELETE {}", self.url))?;
        Ok(response.status())
    }
}

/// Reads a response: JSON bodies whole, event streams up to the first JSON-RPC
/// response (the stream may stay open after it).
async fn read_reply(response: reqwest::Response) -> Result<Reply> {
    let status = response.status();
    let headers = response.headers().clone();
    let is_event_stream = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if !is_event_stream {
        let body = response.text().await.context("reading the response body")?;
        let message = serde_json::from_str(&body).ok();
        return Ok(Reply {
            status,
            headers,
            body,
            message,
        });
    }
    let mut body = String::new();
    let mut stream = response.bytes_stream();
    let mut parsed = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("reading the event stream")?;
        body.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        while let Some(end) = body[parsed..].find("\n\n") {
            let event = &body[parsed..parsed + end];
            parsed += end + 2;
            if let Some(message) = response_in_event(event) {
                return Ok(Reply {
                    status,
                    headers,
                    body,
                    message: Some(message),
                });
            }
        }
    }
    Ok(Reply {
        status,
        headers,
        body,
        message: None,
    })
}

/// The JSON-RPC response carried by one server-sent event, if it carries one.
fn response_in_event(event: &str) -> Option<Value> {
    let data: Vec<&str> = event
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| data.strip_prefix(' ').unwrap_or(data))
        .collect();
    let message: Value = serde_json::from_str(&data.join("\n")).ok()?;
    let is_response = message.get("result").is_some() || message.get("error").is_some();
    is_response.then_some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_responses_in_events() {
        let event = "id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}";
        assert_eq!(
            response_in_event(event),
            Some(json!({"jsonrpc": "2.0", "id": 1, "result": {}}))
        );
        assert_eq!(response_in_event("data:"), None);
        let notification = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}";
        assert_eq!(response_in_event(notification), None);
    }
}
