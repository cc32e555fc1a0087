//! Hand-written HTTP backends: a closure decides each answer, and every
//! request the backend saw is recorded for assertions.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

/// A server on 127.0.0.1; stops when dropped.
pub struct Backend {
    pub url: Url,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a fresh loopback port; the MCP endpoint is `/mcp`.
pub async fn serve(router: axum::Router) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let url = Url::parse(&format!("http://{addr}/mcp")).expect("url");
    Backend { url, task }
}

/// One request as the backend saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Seen {
    /// The JSON-RPC method, or "" for none.
    pub fn rpc(&self) -> &str {
        self.body["method"].as_str().unwrap_or("")
    }

    /// The JSON-RPC request id, if it is an integer.
    pub fn id(&self) -> Option<u64> {
        self.body["id"].as_u64()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A scripted backend and the requests it has seen.
pub struct Scripted {
    pub backend: Backend,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    pub fn url(&self) -> &Url {
        &self.backend.url
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// Starts a backend whose answer to each request is `script(request, all
/// requests seen before it)`.
pub async fn scripted(
    script: impl Fn(&Seen, &[Seen]) -> Response + Send + Sync + 'static,
) -> Scripted {
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let script = Arc::new(script);
    let handler = {
        let seen = seen.clone();
        move |request: Request| {
            let seen = seen.clone();
            let script = script.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let entry = Seen {
                    method: parts.method,
                    headers: parts.headers,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                let mut seen = seen.lock().expect("not poisoned");
                let response = script(&entry, &seen);
                seen.push(entry);
                response
            }
        }
    };
    let router = axum::Router::new().route("/mcp", axum::routing::any(handler));
    Scripted {
        backend: serve(router).await,
        seen,
    }
}

/// A response with `status`, `content_type` and `body`.
pub fn reply(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.into())
        .expect("valid response")
}

/// A 200 JSON response.
pub fn json(value: &Value) -> Response {
    reply(StatusCode::OK, "application/json", value.to_string())
}

/// 202 Accepted with no body.
pub fn accepted() -> Response {
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .body(Body::empty())
        .expect("valid response")
}

/// An event stream sending `chunks` 10 ms apart; stays open afterwards
/// when `keep_open`.
pub fn event_stream(chunks: Vec<String>, keep_open: bool) -> Response {
    let chunks = futures::stream::iter(chunks).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok::<_, Infallible>(chunk)
    });
    let body = if keep_open {
        Body::from_stream(chunks.chain(futures::stream::pending()))
    } else {
        Body::from_stream(chunks)
    };
    reply(StatusCode::OK, "text/event-stream", body)
}

/// A JSON-RPC result message for request `id`.
pub fn result_for(id: Option<u64>, result: Value) -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The `initialize` result of a scripted backend answering `version`.
pub fn init_result(id: Option<u64>, version: &str) -> Value {
    result_for(
        id,
        serde_json::json!({
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "scripted", "version": "0"},
        }),
    )
}

/// Answers `initialize` (with session id `session`, if any) and
/// notifications the way a plain server does; `None` for anything else.
pub fn handshake(seen: &Seen, session: Option<&str>) -> Option<Response> {
    match seen.rpc() {
        "initialize" => {
            let mut response = json(&init_result(seen.id(), "2025-06-18"));
            if let Some(session) = session {
                response
                    .headers_mut()
                    .insert("mcp-session-id", session.parse().expect("header"));
            }
            Some(response)
        }
        method if method.starts_with("notifications/") => Some(accepted()),
        _ => None,
    }
}
