//! The bridge against a real child process: a small `sh` script speaking the MCP stdio
//! transport (one JSON-RPC message per line).

use std::collections::BTreeMap;
use std::time::Duration;

use mcp_gateway_config::StdioCommand;
use mcp_gateway_stdio::Bridge;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Answers `initialize`; for `slow` logs a notification first; `die` exits; `huge` writes a
/// line over the bridge's limit (16 MiB); writes noise
/// to stderr, which must never reach a client.
const SCRIPT: &str = r#"
echo "starting" >&2
while IFS= read -r line; do
  case "$line" in
    *'"initialize"'*) printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"sh","version":"0"}}}' ;;
    *'"slow"'*) printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}' '{"jsonrpc":"2.0","id":2,"result":{"pid":'$$'}}' ;;
    *'"pid"'*) echo '{"not json' >&2; printf '%s\n' '{"jsonrpc":"2.0","id":3,"result":{"pid":'$$'}}' ;;
    *'"die"'*) exit 3 ;;
    *'"huge"'*) head -c 17000000 /dev/zero | tr '\0' 'a'; printf '\n' ;;
  esac
done
"#;

async fn bridge() -> (String, CancellationToken) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let command = StdioCommand {
        program: "sh".to_owned(),
        args: vec!["-c".to_owned(), SCRIPT.to_owned()],
        env: BTreeMap::new(),
        working_dir: None,
        port: 0,
    };
    let bridge = Bridge::bind("sh", command, Duration::from_secs(60))
        .await
        .expect("binds");
    let url = format!("http://{}/mcp", bridge.local_addr().expect("address"));
    let cancel = CancellationToken::new();
    tokio::spawn(bridge.serve(cancel.clone()));
    (url, cancel)
}

async fn post(url: &str, session: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.expect("the bridge answers")
}

async fn initialize(url: &str) -> String {
    let response = post(
        url,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("a session id")
        .to_owned();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["result"]["serverInfo"]["name"], "sh");
    session
}

async fn pid(url: &str, session: &str) -> u64 {
    let response = post(
        url,
        Some(session),
        json!({"jsonrpc": "2.0", "id": 3, "method": "pid"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("application/json"))
    );
    let body: Value = response.json().await.expect("JSON");
    body["result"]["pid"].as_u64().expect("a pid")
}

#[tokio::test]
async fn each_session_has_its_own_child_and_notifications_stream_before_the_response() {
    let (url, cancel) = bridge().await;
    let first = initialize(&url).await;
    let second = initialize(&url).await;
    assert_ne!(first, second);
    assert_ne!(pid(&url, &first).await, pid(&url, &second).await);

    let response = post(
        &url,
        Some(&first),
        json!({"jsonrpc": "2.0", "id": 2, "method": "slow"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/event-stream"))
    );
    let text = response.text().await.expect("the stream ends");
    let messages: Vec<Value> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).expect("JSON events"))
        .collect();
    assert_eq!(messages.len(), 2, "{text}");
    assert_eq!(messages[0]["method"], "notifications/message");
    assert_eq!(messages[1]["id"], 2);

    // A notification is accepted.
    let response = post(
        &url,
        Some(&first),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(response.status(), 202);
    cancel.cancel();
}

#[tokio::test]
async fn a_dead_child_fails_its_request_and_its_session_is_gone() {
    let (url, cancel) = bridge().await;
    let session = initialize(&url).await;
    let response = post(
        &url,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 4, "method": "die"}),
    )
    .await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["id"], 4);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("exited"))
    );

    let response = post(
        &url,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 5, "method": "pid"}),
    )
    .await;
    assert_eq!(response.status(), 404);
    // A new session gets a new child.
    let fresh = initialize(&url).await;
    assert!(pid(&url, &fresh).await > 0);

    let response = post(
        &url,
        None,
        json!({"jsonrpc": "2.0", "id": 6, "method": "pid"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &fresh)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let response = post(
        &url,
        Some(&fresh),
        json!({"jsonrpc": "2.0", "id": 7, "method": "pid"}),
    )
    .await;
    assert_eq!(response.status(), 404);
    cancel.cancel();
}

#[tokio::test]
async fn a_line_over_the_limit_ends_the_child_not_the_bridge() {
    let (url, cancel) = bridge().await;
    let session = initialize(&url).await;
    // At once: without the limit the bridge buffers the line, drops it as not JSON and the
    // request waits out the bridge's own timeout (75 s when measured).
    let response = tokio::time::timeout(
        Duration::from_secs(20),
        post(
            &url,
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 7, "method": "huge"}),
        ),
    )
    .await
    .expect("answered at once");
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["id"], 7);
    let response = post(
        &url,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 8, "method": "pid"}),
    )
    .await;
    assert_eq!(response.status(), 404, "the child was stopped");
    // The bridge still serves new sessions.
    let fresh = initialize(&url).await;
    assert!(pid(&url, &fresh).await > 0);
    cancel.cancel();
}

#[tokio::test]
async fn sessions_are_capped_and_a_refused_initialize_starts_no_process() {
    let (url, cancel) = bridge().await;
    let mut sessions = Vec::new();
    for _ in 0..mcp_gateway_stdio::MAX_SESSIONS {
        sessions.push(initialize(&url).await);
    }
    let response = post(
        &url,
        None,
        json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {}}),
    )
    .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["id"], 9);
    // Ending one makes room for one.
    let response = reqwest::Client::new()
        .delete(&url)
        .header("mcp-session-id", &sessions[0])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let fresh = initialize(&url).await;
    assert!(pid(&url, &fresh).await > 0);
    cancel.cancel();
}
