//! Against a token endpoint served in the test (the e2e tests use a real OpenID provider).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use mcp_gateway_config::{Config, Server, TokenClient};
use mcp_gateway_identity::{BearerToken, Caller};
use serde_json::json;

use super::*;

#[derive(Default)]
struct Issuer {
    requests: AtomicUsize,
    down: AtomicBool,
    delay_ms: std::sync::atomic::AtomicU64,
}

/// Issues `<grant>:<subject or gateway>:<resource>` tokens, for `gw`/`gw-secret` only.
async fn token(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    issuer.requests.fetch_add(1, Ordering::SeqCst);
    let delay = issuer.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    if issuer.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down".into());
    }
    // base64("gw:gw-secret")
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic Z3c6Z3ctc2VjcmV0")
    {
        let body = json!({"error": "invalid_client"}).to_string();
        return (StatusCode::UNAUTHORIZED, body);
    }
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    let who = match grant.as_str() {
        "client_credentials" => "gateway".to_owned(),
        TOKEN_EXCHANGE_GRANT
            if form.get("subject_token_type").map(String::as_str) == Some(ACCESS_TOKEN_TYPE) =>
        {
            format!(
                "for-{}",
                form.get("subject_token").cloned().unwrap_or_default()
            )
        }
        _ => {
            let body = json!({"error": "unsupported_grant_type", "error_description": "no"});
            return (StatusCode::BAD_REQUEST, body.to_string());
        }
    };
    let resource = form.get("resource").cloned().unwrap_or_default();
    let body = json!({
        "access_token": format!("{who}@{resource}"),
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    (StatusCode::OK, body.to_string())
}

async fn issuer() -> (Arc<Issuer>, SocketAddr) {
    let issuer = Arc::new(Issuer::default());
    let app = axum::Router::new()
        .route("/token", post(token))
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (issuer, address)
}

fn config(address: SocketAddr, secret: &str, servers: &str) -> Config {
    Config::from_yaml(&format!(
        "tokenClient:
  tokenEndpoint: http://{address}/token
  clientId: gw
  clientSecret: {{inline: {secret}}}
auth: {{resource: 'http://gw/mcp', issuers: [{{issuer: 'http://issuer', jwksUri: 'https://i.example/k'}}]}}
servers:
{servers}"
    ))
    .unwrap()
}

fn caller(subject: &str, token: &str) -> Caller {
    Caller::from_claims(json!({"iss": "http://issuer", "sub": subject}))
        .unwrap()
        .with_token(BearerToken::new(token))
}

fn parts(config: &Config, name: &str) -> (Server, Option<TokenClient>) {
    (
        config.server(name).unwrap().clone(),
        config.token_client().cloned(),
    )
}

fn value(credential: Option<Credential>) -> String {
    let credential = credential.expect("a credential");
    format!(
        "{}: {}",
        credential.name(),
        credential.value().to_str().unwrap()
    )
}

#[tokio::test]
async fn each_mode_gives_its_header() {
    let (_, address) = issuer().await;
    let cfg = config(
        address,
        "gw-secret",
        "  - {name: s, toolPrefix: s_, url: http://s/mcp, credentials: {static: {header: X-Api-Key, value: {inline: k1}}}}
  - {name: x, toolPrefix: x_, url: http://x/mcp, credentials: {tokenExchange: {}}}
  - {name: c, toolPrefix: c_, url: http://c/mcp, credentials: {clientCredentials: {}}}
  - {name: p, toolPrefix: p_, url: http://p/mcp, credentials: {passthrough: {}}}
  - {name: n, toolPrefix: n_, url: http://n/mcp}
",
    );
    let creds = BackendCredentials::new(Duration::from_secs(5)).unwrap();
    let alice = caller("alice", "alice-token");
    let get = |name: &'static str| {
        let (server, client) = parts(&cfg, name);
        let (creds, alice) = (creds.clone(), alice.clone());
        async move {
            creds
                .for_caller(&server, client.as_ref(), Some(&alice))
                .await
        }
    };
    assert_eq!(value(get("s").await.unwrap()), "x-api-key: k1");
    assert_eq!(
        value(get("x").await.unwrap()),
        "authorization: Bearer for-alice-token@http://x/mcp"
    );
    assert_eq!(
        value(get("c").await.unwrap()),
        "authorization: Bearer gateway@http://c/mcp"
    );
    assert_eq!(
        value(get("p").await.unwrap()),
        "authorization: Bearer alice-token"
    );
    assert_eq!(get("n").await.unwrap(), None);

    // For the gateway itself: exchange servers get a client-credentials token, passthrough
    // servers nothing.
    let own = |name: &'static str| {
        let (server, client) = parts(&cfg, name);
        let creds = creds.clone();
        async move { creds.for_gateway(&server, client.as_ref()).await }
    };
    assert_eq!(
        value(own("x").await.unwrap()),
        "authorization: Bearer gateway@http://x/mcp"
    );
    assert_eq!(own("p").await.unwrap(), None);
    assert_eq!(value(own("s").await.unwrap()), "x-api-key: k1");
}

#[tokio::test]
async fn exchanges_are_cached_per_subject_and_single_flight() {
    let (issuer, address) = issuer().await;
    issuer.delay_ms.store(200, Ordering::SeqCst);
    let cfg = config(
        address,
        "gw-secret",
        "  - {name: x, toolPrefix: x_, url: http://x/mcp, credentials: {tokenExchange: {}}}\n",
    );
    let (server, client) = parts(&cfg, "x");
    let creds = BackendCredentials::new(Duration::from_secs(5)).unwrap();
    // 20 concurrent first calls of one subject: one exchange.
    let calls = (0..20).map(|_| {
        let (creds, server, client) = (creds.clone(), server.clone(), client.clone());
        tokio::spawn(async move {
            let alice = caller("alice", "alice-token");
            creds
                .for_caller(&server, client.as_ref(), Some(&alice))
                .await
        })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(
            value(call.unwrap().unwrap()),
            "authorization: Bearer for-alice-token@http://x/mcp"
        );
    }
    assert_eq!(issuer.requests.load(Ordering::SeqCst), 1);
    // Later calls of the same subject (even with a new token): cached.
    let again = caller("alice", "alice-token-2");
    for _ in 0..5 {
        creds
            .for_caller(&server, client.as_ref(), Some(&again))
            .await
            .unwrap();
    }
    assert_eq!(issuer.requests.load(Ordering::SeqCst), 1);
    // Another subject: its own exchange.
    let bob = caller("bob", "bob-token");
    assert_eq!(
        value(
            creds
                .for_caller(&server, client.as_ref(), Some(&bob))
                .await
                .unwrap()
        ),
        "authorization: Bearer for-bob-token@http://x/mcp"
    );
    assert_eq!(issuer.requests.load(Ordering::SeqCst), 2);
    assert_eq!(creds.token_requests(), 2);
}

#[tokio::test]
async fn failures_are_clear_not_cached_and_carry_no_secret() {
    let (issuer, address) = issuer().await;
    let cfg = config(
        address,
        "gw-secret",
        "  - {name: x, toolPrefix: x_, url: http://x/mcp, credentials: {tokenExchange: {}}}\n",
    );
    let (server, client) = parts(&cfg, "x");
    let creds = BackendCredentials::new(Duration::from_secs(5)).unwrap();
    let alice = caller("alice", "alice-token");
    issuer.down.store(true, Ordering::SeqCst);
    let error = creds
        .for_caller(&server, client.as_ref(), Some(&alice))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "token for MCP server 'x' could not be obtained: the token endpoint answered HTTP 503"
    );
    issuer.down.store(false, Ordering::SeqCst);
    assert!(
        creds
            .for_caller(&server, client.as_ref(), Some(&alice))
            .await
            .is_ok()
    );

    // A wrong client secret: the endpoint's error code, and neither secret nor token.
    let wrong = config(
        address,
        "not-the-secret",
        "  - {name: x, toolPrefix: x_, url: http://x/mcp, credentials: {tokenExchange: {}}}\n",
    );
    let (server, client) = parts(&wrong, "x");
    let fresh = BackendCredentials::new(Duration::from_secs(5)).unwrap();
    let error = fresh
        .for_caller(&server, client.as_ref(), Some(&alice))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "token for MCP server 'x' could not be obtained: the token endpoint refused: HTTP 401, invalid_client"
    );
    assert!(!error.contains("not-the-secret") && !error.contains("alice-token"));

    // Nothing listening: unreachable.
    let closed = config(
        "127.0.0.1:9".parse().unwrap(),
        "gw-secret",
        "  - {name: c, toolPrefix: c_, url: http://c/mcp, credentials: {clientCredentials: {}}}\n",
    );
    let (server, client) = parts(&closed, "c");
    let error = fresh
        .for_gateway(&server, client.as_ref())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "token for MCP server 'c' could not be obtained: the token endpoint is unreachable"
    );
}

#[tokio::test]
async fn caller_modes_need_the_callers_token() {
    let (_, address) = issuer().await;
    let cfg = config(
        address,
        "gw-secret",
        "  - {name: p, toolPrefix: p_, url: http://p/mcp, credentials: {passthrough: {}}}\n",
    );
    let (server, client) = parts(&cfg, "p");
    let creds = BackendCredentials::new(Duration::from_secs(5)).unwrap();
    let error = creds
        .for_caller(&server, client.as_ref(), None)
        .await
        .unwrap_err();
    assert_eq!(error, CredentialError::NoCallerToken { server: "p".into() });
}
