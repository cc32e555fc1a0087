//! Against rmcp's streamable-HTTP server: stateful (event-stream answers) and
//! stateless (JSON answers).

use std::time::{Duration, Instant};

use mcp_gateway_upstream::{UpstreamClient, UpstreamError};
use serde_json::{Value, json};
use url::Url;

use crate::demo::{self, TOOL_NAMES};
use crate::{client, options};

/// The Content-Type rmcp answers an `initialize` POST with.
async fn initialize_content_type(url: &Url) -> String {
    mcp_gateway_upstream::install_crypto_provider();
    let response = reqwest::Client::new()
        .post(url.clone())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "probe", "version": "0"}}})
            .to_string(),
        )
        .send()
        .await
        .expect("probe");
    response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn modes_under_test_answer_as_expected() {
    let stateful = demo::spawn(demo::stateful()).await;
    assert!(
        initialize_content_type(&stateful.url)
            .await
            .starts_with("text/event-stream")
    );
    let stateless = demo::spawn(demo::stateless_json()).await;
    assert!(
        initialize_content_type(&stateless.url)
            .await
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn initialize_opens_a_session_with_the_negotiated_version() {
    let backend = demo::spawn(demo::stateful()).await;
    for version in ["2025-06-18", "2025-03-26", "2025-11-25"] {
        let session = client()
            .initialize(&backend.url, &options(version))
            .await
            .expect("initialize");
        assert!(
            session
                .session_id
                .as_deref()
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(session.protocol_version, version);
        assert!(session.capabilities["tools"].is_object());
        assert_eq!(session.server_info["name"], "demo");
        assert_eq!(session.instructions.as_deref(), Some("demo instructions"));
    }
}

#[tokio::test]
async fn tools_call_returns_the_result() {
    let backend = demo::spawn(demo::stateful()).await;
    let client = client();
    let session = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("init");
    let result = client
        .request(
            &backend.url,
            &session,
            "tools/call",
            Some(json!({"name": "add", "arguments": {"a": 2, "b": 40}})),
        )
        .await
        .expect("tools/call");
    assert_eq!(text(&result), "42");
    client.ping(&backend.url, &session).await.expect("ping");
    client
        .notify(
            &backend.url,
            &session,
            "notifications/roots/list_changed",
            None,
        )
        .await
        .expect("notify");
}

#[tokio::test]
async fn list_all_follows_every_page() {
    let backend = demo::spawn(demo::stateful()).await;
    let client = client();
    let session = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("init");
    let first = client
        .request(&backend.url, &session, "tools/list", None)
        .await
        .expect("first page");
    assert_eq!(
        first["tools"].as_array().map(Vec::len),
        Some(demo::PAGE_SIZE)
    );
    assert!(first["nextCursor"].is_string());

    let tools = client
        .list_all(&backend.url, &session, "tools/list", "tools")
        .await
        .expect("list_all");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, TOOL_NAMES);
}

#[tokio::test]
async fn each_session_sends_its_own_headers() {
    let backend = demo::spawn(demo::stateful()).await;
    let client = client();
    let a = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("a");
    let b = client
        .initialize(&backend.url, &options("2025-03-26"))
        .await
        .expect("b");
    assert_ne!(a.session_id, b.session_id);
    for session in [&a, &b] {
        let result = client
            .request(
                &backend.url,
                session,
                "tools/call",
                Some(json!({"name": "headers", "arguments": {}})),
            )
            .await
            .expect("headers tool");
        let seen: Value = serde_json::from_str(text(&result)).expect("json");
        assert_eq!(seen["session"].as_str(), session.session_id.as_deref());
        assert_eq!(seen["version"], session.protocol_version.as_str());
    }
}

#[tokio::test]
async fn terminated_session_is_gone() {
    let backend = demo::spawn(demo::stateful()).await;
    let client = client();
    let a = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("a");
    let b = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("b");
    client.terminate(&backend.url, &a).await.expect("terminate");
    let error = client
        .request(&backend.url, &a, "ping", None)
        .await
        .expect_err("session was terminated");
    assert!(error.is_session_gone(), "{error:?}");
    assert!(!error.is_unreachable());
    client
        .ping(&backend.url, &b)
        .await
        .expect("other session lives");
    client
        .terminate(&backend.url, &a)
        .await
        .expect("terminating twice is fine");
}

#[tokio::test]
async fn rpc_errors_come_back_as_rpc_errors() {
    let backend = demo::spawn(demo::stateful()).await;
    let client = client();
    let session = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("init");
    let error = client
        .request(&backend.url, &session, "no/such/method", None)
        .await
        .expect_err("unknown method");
    assert!(
        matches!(error, UpstreamError::Rpc { code: -32601, .. }),
        "{error:?}"
    );
    let error = client
        .request(
            &backend.url,
            &session,
            "tools/call",
            Some(json!({"name": "missing", "arguments": {}})),
        )
        .await
        .expect_err("unknown tool");
    assert!(matches!(error, UpstreamError::Rpc { .. }), "{error:?}");
}

#[tokio::test]
async fn slow_tool_times_out() {
    let backend = demo::spawn(demo::stateful()).await;
    let client = UpstreamClient::new(Duration::from_millis(300)).expect("client");
    let session = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("init");
    let start = Instant::now();
    let error = client
        .request(
            &backend.url,
            &session,
            "tools/call",
            Some(json!({"name": "sleep", "arguments": {"ms": 10_000}})),
        )
        .await
        .expect_err("too slow");
    assert!(matches!(error, UpstreamError::Timeout), "{error:?}");
    assert!(error.is_unreachable());
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn stateless_json_server_works_without_session() {
    let backend = demo::spawn(demo::stateless_json()).await;
    let client = client();
    let session = client
        .initialize(&backend.url, &options("2025-06-18"))
        .await
        .expect("init");
    assert_eq!(session.session_id, None);
    assert_eq!(session.protocol_version, "2025-06-18");
    let result = client
        .request(
            &backend.url,
            &session,
            "tools/call",
            Some(json!({"name": "add", "arguments": {"a": 1, "b": 1}})),
        )
        .await
        .expect("tools/call");
    assert_eq!(text(&result), "2");
    let tools = client
        .list_all(&backend.url, &session, "tools/list", "tools")
        .await
        .expect("list_all");
    assert_eq!(tools.len(), TOOL_NAMES.len());
    client
        .terminate(&backend.url, &session)
        .await
        .expect("no-op");
}

#[tokio::test]
async fn refused_connection_is_unreachable_quickly_and_leaks_no_credentials() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = Url::parse(&format!(
        "http://user:hunter2@127.0.0.1:{port}/mcp?token=hunter2"
    ))
    .expect("url");
    let start = Instant::now();
    let error = client()
        .initialize(&url, &options("2025-06-18"))
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, UpstreamError::Connect(_)), "{error:?}");
    assert!(error.is_unreachable());
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        !format!("{error} {error:?}").contains("hunter2"),
        "{error:?}"
    );
}
