//! MCP over streamable HTTP, client side: request bodies, headers, sessions and checking
//! that a response really is the JSON-RPC answer to the request.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::connection::{Conn, Reply};
use super::target::Target;
use crate::BenchError;

/// The protocol version this client asks for.
pub const PROTOCOL_VERSION: &str = "2025-06-18";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
/// How much of an unexpected body goes into an error.
const BODY_EXCERPT: usize = 200;

/// One kind of request the load generator sends.
#[derive(Debug, Clone)]
pub enum Call {
    /// `tools/call` of `name` with `arguments` (a JSON object, as text).
    Tool {
        /// The tool name as the server under test exposes it.
        name: String,
        /// The arguments object, serialised.
        arguments: String,
    },
    /// `tools/list` (first page).
    List,
    /// `ping`.
    Ping,
}

impl Call {
    /// A `tools/call`; `arguments` must be a JSON object.
    pub fn tool(name: &str, arguments: &str) -> Result<Self, BenchError> {
        let parsed: serde_json::Value = serde_json::from_str(arguments)
            .map_err(|e| BenchError::Protocol(format!("--args is not JSON: {e}")))?;
        if !parsed.is_object() {
            return Err(BenchError::Protocol("--args must be a JSON object".into()));
        }
        Ok(Self::Tool {
            name: name.to_owned(),
            arguments: parsed.to_string(),
        })
    }

    /// The JSON-RPC method.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Tool { .. } => "tools/call",
            Self::List => "tools/list",
            Self::Ping => "ping",
        }
    }

    /// The request body with JSON-RPC id `id`.
    pub fn body(&self, id: u64) -> Bytes {
        let text = match self {
            Self::Tool { name, arguments } => {
                let name = serde_json::to_string(name).unwrap_or_else(|_| "\"\"".to_owned());
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":{name},"arguments":{arguments}}}}}"#
                )
            }
            Self::List => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#),
            Self::Ping => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#),
        };
        Bytes::from(text)
    }
}

/// An initialized MCP session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The `Mcp-Session-Id` the server issued.
    pub id: HeaderValue,
}

/// A POST of `body` to the target (with its `Authorization`, if any), in `session` when given.
pub fn post(target: &Target, session: Option<&HeaderValue>, body: Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = Method::POST;
    if let Ok(uri) = target.path().parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    headers.insert(HOST, target.authority().clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    if let Some(authorization) = target.authorization() {
        headers.insert(AUTHORIZATION, authorization.clone());
    }
    if let Some(session) = session {
        headers.insert(SESSION_HEADER, session.clone());
        headers.insert(VERSION_HEADER, HeaderValue::from_static(PROTOCOL_VERSION));
    }
    request
}

/// A GET of the target's path (for admin and stats endpoints).
pub fn get(target: &Target) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(Bytes::new()));
    if let Ok(uri) = target.path().parse() {
        *request.uri_mut() = uri;
    }
    request
        .headers_mut()
        .insert(HOST, target.authority().clone());
    request
}

/// Sends `call` with JSON-RPC id `id` in `session`; returns when the reply was complete and
/// whether it was the successful answer (checked after the time is taken).
pub async fn exchange(
    conn: &mut Conn,
    target: &Target,
    session: &Session,
    call: &Call,
    id: u64,
    timeout: Duration,
) -> (Instant, Result<(), BenchError>) {
    let request = post(target, Some(&session.id), call.body(id));
    let reply = tokio::time::timeout(timeout, conn.send(request)).await;
    let done = Instant::now();
    let verdict = match reply {
        Ok(Ok(reply)) => check(&reply, id),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BenchError::Timeout(timeout)),
    };
    (done, verdict)
}

/// Opens a session: `initialize`, then `notifications/initialized`.
pub async fn initialize(
    conn: &mut Conn,
    target: &Target,
    timeout: Duration,
) -> Result<Session, BenchError> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"mcp-loadgen","version":"{}"}}}}}}"#,
        env!("CARGO_PKG_VERSION")
    );
    let reply = send(conn, post(target, None, Bytes::from(body)), timeout).await?;
    check(&reply, 0)?;
    let id = reply
        .headers
        .get(SESSION_HEADER)
        .cloned()
        .ok_or_else(|| BenchError::Protocol("initialize returned no Mcp-Session-Id".into()))?;
    let body = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let reply = send(conn, post(target, Some(&id), body), timeout).await?;
    if !reply.status.is_success() {
        return Err(status_error(&reply));
    }
    Ok(Session { id })
}

async fn send(
    conn: &mut Conn,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Reply, BenchError> {
    tokio::time::timeout(timeout, conn.send(request))
        .await
        .map_err(|_| BenchError::Timeout(timeout))?
}

#[derive(Debug, Deserialize)]
struct RpcOut<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    result: Option<ResultOut>,
    #[serde(default)]
    error: Option<ErrorOut>,
}

#[derive(Debug, Deserialize)]
struct ResultOut {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct ErrorOut {
    code: i64,
    #[serde(default)]
    message: String,
}

/// Checks that `reply` is a 200 carrying the JSON-RPC result for `id` (as JSON or in an event
/// stream), and that a tool result is not `isError`.
pub fn check(reply: &Reply, id: u64) -> Result<(), BenchError> {
    if reply.status != StatusCode::OK {
        return Err(status_error(reply));
    }
    let content_type = reply
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body = std::str::from_utf8(&reply.body)
        .map_err(|_| BenchError::Protocol("body is not UTF-8".into()))?;
    let want = id.to_string();
    if content_type.starts_with("text/event-stream") {
        return sse_messages(body)
            .into_iter()
            .find_map(|data| verdict(&data, &want))
            .unwrap_or_else(|| {
                Err(BenchError::Protocol(format!(
                    "no response to id {id} in stream"
                )))
            });
    }
    verdict(body, &want).unwrap_or_else(|| {
        Err(BenchError::Protocol(format!(
            "not the response to id {id}: {}",
            excerpt(body)
        )))
    })
}

/// The outcome carried by one JSON message, `None` when it is not the response to `want`.
fn verdict(text: &str, want: &str) -> Option<Result<(), BenchError>> {
    let out: RpcOut<'_> = serde_json::from_str(text).ok()?;
    if out.id.map(RawValue::get) != Some(want) {
        return None;
    }
    Some(match (out.result, out.error) {
        (_, Some(error)) => Err(BenchError::Rpc {
            code: error.code,
            message: error.message,
        }),
        (
            Some(ResultOut {
                is_error: Some(true),
            }),
            None,
        ) => Err(BenchError::Protocol(format!(
            "tool result isError: {}",
            excerpt(text)
        ))),
        (Some(_), None) => Ok(()),
        (None, None) => Err(BenchError::Protocol("neither result nor error".into())),
    })
}

/// The data of every event in an event stream.
fn sse_messages(body: &str) -> Vec<String> {
    let mut messages = Vec::new();
    let mut data = String::new();
    for line in body.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty() {
                messages.push(std::mem::take(&mut data));
            }
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    messages
}

fn status_error(reply: &Reply) -> BenchError {
    BenchError::Status {
        status: reply.status.as_u16(),
        body: excerpt(&String::from_utf8_lossy(&reply.body)),
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(BODY_EXCERPT).collect()
}

#[cfg(test)]
mod tests {
    use hyper::HeaderMap;

    use super::*;

    fn reply(status: u16, content_type: &str, body: &str) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("valid"),
        );
        Reply {
            status: StatusCode::from_u16(status).expect("valid"),
            headers,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn accepts_the_result_for_its_id_only() {
        let ok = reply(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":7,"result":{}}"#,
        );
        assert!(check(&ok, 7).is_ok());
        assert_eq!(check(&ok, 8).map_err(|e| e.kind()), Err("protocol".into()));
        let err = reply(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"no"}}"#,
        );
        assert_eq!(
            check(&err, 7).map_err(|e| e.kind()),
            Err("rpc_-32602".into())
        );
        let tool_error = reply(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":7,"result":{"content":[],"isError":true}}"#,
        );
        assert!(check(&tool_error, 7).is_err());
        let status = reply(502, "application/json", "upstream");
        assert_eq!(
            check(&status, 7).map_err(|e| e.kind()),
            Err("status_502".into())
        );
    }

    #[test]
    fn reads_event_streams() {
        let body = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n\
                    id: 2\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\n\
                    data: \"result\":{\"tools\":[]}}\n\n";
        assert!(check(&reply(200, "text/event-stream", body), 3).is_ok());
        assert!(check(&reply(200, "text/event-stream", body), 4).is_err());
    }

    #[test]
    fn bodies_are_json_rpc() {
        let call = Call::tool("a_echo", r#"{ "text": "hi" }"#).expect("valid");
        let body: serde_json::Value = serde_json::from_slice(&call.body(5)).expect("JSON");
        assert_eq!(body["id"], 5);
        assert_eq!(body["params"]["name"], "a_echo");
        assert_eq!(body["params"]["arguments"]["text"], "hi");
        assert!(Call::tool("x", "[1]").is_err());
        assert!(Call::tool("x", "{").is_err());
        let list: serde_json::Value = serde_json::from_slice(&Call::List.body(1)).expect("JSON");
        assert_eq!(list["method"], "tools/list");
    }
}
