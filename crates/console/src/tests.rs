use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use mcp_gateway_catalog::{CatalogStore, ServerOffer};
use mcp_gateway_config::{Config, ConfigStore};
use mcp_gateway_identity::{CALLER_HEADER, Caller};
use mcp_gateway_session::MemoryStore;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const SERVERS: &str = "
servers:
- name: calc
  url: http://127.0.0.1:9/mcp
  hostname: calc.mcp.local
  toolPrefix: calc_
- name: text
  url: http://127.0.0.1:10/mcp
  hostname: text.mcp.local
  toolPrefix: text_
";

const AUTH: &str = "
auth:
  resource: http://127.0.0.1:8888/mcp
  issuers:
  - issuer: http://127.0.0.1:8890
    jwksUri: http://127.0.0.1:8890/jwks
";

fn console(yaml: &str) -> Arc<Console> {
    let catalog = Arc::new(CatalogStore::new());
    catalog.update(
        "calc",
        ServerOffer::tools(
            "calc_",
            vec![json!({
                "name": "add", "description": "Adds <b>two</b> numbers",
                "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}}}
            })],
        ),
    );
    catalog.update(
        "text",
        ServerOffer::unhealthy("text_", "connection refused".into()),
    );
    Arc::new(Console {
        config: ConfigStore::new(Config::from_yaml(yaml).unwrap()),
        catalog,
        sessions: Arc::new(MemoryStore::default()),
        metrics_address: Some("127.0.0.1:9464".parse().unwrap()),
    })
}

async fn get(console: Arc<Console>, path: &str, caller: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(caller) = caller {
        request = request.header(CALLER_HEADER, caller);
    }
    let response = router(console)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    (
        status,
        to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
}

#[tokio::test]
async fn the_page_and_its_script_are_served_with_a_strict_policy() {
    for (path, kind) in [
        ("/console", "text/html"),
        ("/console/", "text/html"),
        ("/console/console.js", "text/javascript"),
    ] {
        let response = router(console(SERVERS))
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
    }
    // The script never parses server text as markup.
    assert!(!SCRIPT.contains("innerHTML"));
}

#[tokio::test]
async fn the_status_shows_servers_tools_and_config() {
    let (status, body) = get(console(SERVERS), "/console/api/status", None).await;
    assert_eq!(status, StatusCode::OK);
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["sessions"], 0);
    assert_eq!(status["metrics_address"], "127.0.0.1:9464");
    assert_eq!(status["config"]["in_sync"], true);
    assert_eq!(status["config"]["auth"], false);
    let servers = status["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["name"], "calc");
    assert_eq!(servers[0]["url"], "http://127.0.0.1:9/mcp");
    assert_eq!(servers[0]["prefix"], "calc_");
    assert_eq!(servers[0]["healthy"], true);
    assert_eq!(servers[0]["tools"][0]["name"], "calc_add");
    assert_eq!(
        servers[0]["tools"][0]["inputSchema"]["properties"]["a"]["type"],
        "number"
    );
    assert_eq!(servers[1]["healthy"], false);
    assert_eq!(servers[1]["attempted"], true);
    assert_eq!(servers[1]["last_error"], "connection refused");
    assert_eq!(servers[1]["tools"], json!([]));
}

#[tokio::test]
async fn a_rejected_edit_and_why() {
    let console = console(SERVERS);
    console
        .config
        .reject("servers[0].url: must be an http or https URL".into());
    let (_, body) = get(console, "/console/api/status", None).await;
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["config"]["in_sync"], false);
    assert_eq!(status["config"]["rejections"], 1);
    assert_eq!(
        status["config"]["last_rejection"],
        "servers[0].url: must be an http or https URL"
    );
}

#[tokio::test]
async fn with_auth_the_api_needs_the_routers_word() {
    let yaml = format!("{SERVERS}{AUTH}");
    for caller in [None, Some("not base64!"), Some("")] {
        let (status, body) = get(console(&yaml), "/console/api/status", caller).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{caller:?}");
        assert!(!String::from_utf8_lossy(&body).contains("calc"));
    }
    let alice = Caller::from_claims(json!({
        "iss": "http://127.0.0.1:8890", "sub": "alice", "scope": "mcp mcp-gateway:console"
    }))
    .unwrap()
    .to_forwarded();
    let (status, body) = get(console(&yaml), "/console/api/status", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["config"]["auth"], true);
    // The page itself holds no data and stays public.
    let (status, _) = get(console(&yaml), "/console", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn with_auth_the_api_needs_the_console_scope() {
    let yaml = format!("{SERVERS}{AUTH}");
    let bob =
        Caller::from_claims(json!({"iss": "http://127.0.0.1:8890", "sub": "bob", "scope": "mcp"}))
            .unwrap()
            .to_forwarded();
    let (status, body) = get(console(&yaml), "/console/api/status", Some(&bob)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body = String::from_utf8_lossy(&body);
    assert!(!body.contains("calc"), "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("mcp-gateway:console"),
        "{error}"
    );
    // The scope is the operator's to name.
    let yaml = format!("{yaml}  consoleScope: ops\n");
    let ops =
        Caller::from_claims(json!({"iss": "http://127.0.0.1:8890", "sub": "bob", "scope": "ops"}))
            .unwrap()
            .to_forwarded();
    let (status, _) = get(console(&yaml), "/console/api/status", Some(&ops)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(console(&yaml), "/console/api/status", Some(&bob)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn backend_urls_are_shown_without_their_secrets() {
    let yaml = SERVERS.replace(
        "http://127.0.0.1:9/mcp",
        "http://user:hunter2@127.0.0.1:9/mcp?apiKey=s3cret",
    );
    let (status, body) = get(console(&yaml), "/console/api/status", None).await;
    assert_eq!(status, StatusCode::OK);
    let body = String::from_utf8_lossy(&body);
    for secret in ["hunter2", "user", "s3cret", "apiKey"] {
        assert!(!body.contains(secret), "{secret} in {body}");
    }
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["servers"][0]["url"], "http://127.0.0.1:9/mcp");
}
