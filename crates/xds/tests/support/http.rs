//! Tiny HTTP servers that describe the request they got, and the test client.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An echo server on a free loopback port; aborted on drop.
pub struct Echo {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers every request with JSON naming this server and describing the request.
pub async fn echo(name: &'static str) -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().expect("echo address");
    // axum caps bodies at 2 MiB by default; the gateway's limit is Envoy's.
    let app = axum::Router::new()
        .fallback(describe)
        .layer(DefaultBodyLimit::disable())
        .with_state(name);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Echo { addr, task }
}

async fn describe(
    State(name): State<&'static str>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let header = |key: &str| {
        headers
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Json(json!({
        "server": name,
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "host": header("host"),
        "servername": header("x-mcp-servername"),
        "body_bytes": body.len(),
    }))
}

/// A client for plain HTTP to loopback (no proxy, no TLS needed).
pub fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; install one once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}
