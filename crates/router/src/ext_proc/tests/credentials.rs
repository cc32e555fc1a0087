//! Backend credentials on routed calls: set in the configured header, the client's
//! `Authorization` removed unless the credential replaces it, and a credential that cannot be
//! had answered with a JSON-RPC error naming the server before any backend is touched.

use mcp_gateway_credentials::BackendCredentials;

use super::*;

/// `calc` with `credentials` (YAML flow mapping).
fn config(credentials: &str) -> String {
    format!("{CONFIG}    credentials: {credentials}\n")
}

fn with_credentials(yaml: &str) -> Harness {
    let mut h = Harness::with_config(1 << 20, yaml);
    let credentials = BackendCredentials::new(Duration::from_millis(500)).expect("credentials");
    h.router = h.router.with_credentials(credentials);
    h
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"calc_add"}}"#;

/// A call of `calc_add` by a client that sent its own `Authorization` and `X-Api-Key`.
async fn call(h: &Harness, gw: &str) -> ProcessingResponse {
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[
            (":method", "POST"),
            ("mcp-session-id", gw),
            ("authorization", "Bearer client-token"),
            ("x-api-key", "client-key"),
        ]),
    )
    .await;
    h.send(&mut req, body(CALL)).await
}

#[tokio::test]
async fn a_static_credential_goes_in_its_header_and_the_client_token_is_removed() {
    let h = with_credentials(&config(
        "{static: {header: X-Api-Key, value: {inline: backend-key-1}}}",
    ));
    let gw = h.session().await;
    let resp = call(&h, &gw).await;
    let c = common(&resp);
    let keys: Vec<_> = set_headers(c)
        .into_iter()
        .filter(|(k, _)| k == "x-api-key")
        .collect();
    assert_eq!(keys, [("x-api-key".to_owned(), "backend-key-1".to_owned())]);
    assert!(removed(c).contains(&"authorization".to_owned()));
}

#[tokio::test]
async fn a_credential_in_authorization_replaces_the_clients() {
    let h = with_credentials(&config(
        r#"{static: {prefix: "Bearer ", value: {inline: backend-token}}}"#,
    ));
    let gw = h.session().await;
    let resp = call(&h, &gw).await;
    let c = common(&resp);
    let auth: Vec<_> = set_headers(c)
        .into_iter()
        .filter(|(k, _)| k == "authorization")
        .collect();
    assert_eq!(
        auth,
        [(
            "authorization".to_owned(),
            "Bearer backend-token".to_owned()
        )]
    );
    // Removing it too would let a data plane that removes after setting drop the credential.
    assert!(!removed(c).contains(&"authorization".to_owned()));
}

#[tokio::test]
async fn servers_without_credentials_get_none_and_never_the_clients() {
    let h = with_credentials(CONFIG);
    let gw = h.session().await;
    let resp = call(&h, &gw).await;
    let c = common(&resp);
    assert!(removed(c).contains(&"authorization".to_owned()));
    assert!(
        !set_headers(c)
            .iter()
            .any(|(k, _)| k == "authorization" || k == "x-api-key")
    );
}

/// A credential that cannot be had (here the token endpoint is unreachable) is refused with
/// 503 and a message naming the server, never routed. (Token exchange without a caller token
/// cannot be configured: it needs `auth:`, see the config crate.)
#[tokio::test]
async fn a_credential_that_cannot_be_had_is_a_503_naming_the_server() {
    let yaml = format!(
        "tokenClient:\n  tokenEndpoint: http://127.0.0.1:1/token\n  clientId: gw\n  clientSecret: {{inline: gw-secret}}\n{}",
        config("{clientCredentials: {audience: calc}}")
    );
    let h = with_credentials(&yaml);
    let gw = h.session().await;
    let (status, err) = immediate(&call(&h, &gw).await);
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["id"], 4);
    assert_eq!(err["error"]["code"], -32603);
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("MCP server 'calc'"), "{message}");
    assert!(!message.contains("gw-secret"), "{message}");
}

/// A router given no credentials refuses servers that have some rather than reaching them
/// without.
#[tokio::test]
async fn without_credentials_a_server_that_needs_them_is_refused() {
    let h = Harness::with_config(
        1 << 20,
        &config("{static: {header: X-Api-Key, value: {inline: k}}}"),
    );
    let gw = h.session().await;
    let (status, err) = immediate(&call(&h, &gw).await);
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["id"], 4);
}
