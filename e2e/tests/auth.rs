//! Caller authentication through Envoy with a real OpenID provider (`e2e/node/idp.mjs`,
//! the `oidc-provider` package): tokens come from its token endpoint with the client-
//! credentials grant and the gateway's resource URL as RFC 8707 `resource`, Envoy's
//! `jwt_authn` verifies them against its JWKS, and the router and broker answer what a
//! caller may not do. Needs `npm ci --prefix e2e/node` (`make test` runs it).

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, IdentityProvider, Mode, RawClient, Reply, ServerKind, eventually,
    eventually_within, http_client,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `alice` and `bob` get tokens for an hour, `brief` for two seconds.
const CLIENTS: &str = "alice:alice-secret,bob:bob-secret,brief:brief-secret:2";

/// JSON-RPC "invalid request".
const INVALID_REQUEST: i64 = -32600;

struct Setup {
    idp: IdentityProvider,
    gateway: Gateway,
    raw: RawClient,
    /// The gateway's resource URL: its MCP endpoint through Envoy.
    resource: String,
}

impl Setup {
    /// A gateway in front of the calc server, then `auth:` turned on by a config reload
    /// (scope `mcp` required; keys cached for 2 s, 1 s of clock skew).
    async fn start() -> Result<Self> {
        Self::start_in(Mode::ExtProc).await
    }

    /// [`Setup::start`] with the routing core in `mode`.
    async fn start_in(mode: Mode) -> Result<Self> {
        let idp = IdentityProvider::start(CLIENTS).await?;
        let gateway = Gateway::start(GatewayOptions {
            servers: &[ServerKind::Calc],
            mode,
            ..GatewayOptions::default()
        })
        .await?;
        let resource = gateway.mcp_url();
        let yaml = format!(
            "{}{}",
            gateway.config_yaml(&[ServerKind::Calc])?,
            idp.auth_section(&resource)
        );
        gateway.write_config(&yaml)?;
        let setup = Self {
            raw: RawClient::new(&resource)?,
            idp,
            gateway,
            resource,
        };
        let token = setup.token("alice").await?;
        eventually("auth on, and a valid token accepted", || {
            let setup = &setup;
            let token = &token;
            async move {
                let anonymous = setup.raw.list_tools(None).await?;
                ensure!(anonymous.status == StatusCode::UNAUTHORIZED, "{anonymous}");
                setup.initialize(token).await.map(drop)
            }
        })
        .await?;
        Ok(setup)
    }

    /// A token of `client` (whose secret is `<client>-secret`) for the gateway, scope `mcp`.
    async fn token(&self, client: &str) -> Result<String> {
        self.idp
            .client_token(
                client,
                &format!("{client}-secret"),
                &self.resource,
                Some("mcp"),
            )
            .await
    }

    /// POSTs `body` with `token` (when given) and `session` (when given).
    async fn post(&self, token: Option<&str>, session: Option<&str>, body: Value) -> Result<Reply> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        if let Some(session) = session {
            headers.push(("mcp-session-id", session));
        }
        self.raw.post_with(&headers, body.to_string()).await
    }

    /// `initialize` with `token`; the new session id.
    async fn initialize(&self, token: &str) -> Result<String> {
        let reply = self.post(Some(token), None, initialize(0)).await?;
        ensure!(reply.status == StatusCode::OK, "initialize: {reply}");
        let session = reply.session_id().map(str::to_owned);
        session.ok_or_else(|| anyhow::anyhow!("no session id: {reply}"))
    }

    /// `calc_add` 2 + 3 in `session` with `token`.
    async fn add(&self, token: Option<&str>, session: &str) -> Result<Reply> {
        let call = json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
            "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}}});
        self.post(token, Some(session), call).await
    }

    /// `resource_metadata="..."` as every challenge names it.
    fn metadata_param(&self) -> String {
        format!(
            "resource_metadata=\"{}\"",
            self.gateway
                .envoy_url("/.well-known/oauth-protected-resource/mcp")
        )
    }
}

fn initialize(id: impl Into<Value>) -> Value {
    json!({"jsonrpc": "2.0", "id": id.into(), "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "auth-e2e", "version": "0"}}})
}

fn challenge(reply: &Reply) -> String {
    reply
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The reply is `status` with a JSON-RPC error for request `id` and a challenge starting
/// with `challenge_start`; returns the challenge.
fn refused(reply: &Reply, status: StatusCode, id: Value, challenge_start: &str) -> Result<String> {
    ensure!(reply.status == status, "expected {status}: {reply}");
    let message = reply.message.as_ref();
    ensure!(
        message.and_then(|m| m.get("id")) == Some(&id),
        "id {id} expected: {reply}"
    );
    ensure!(reply.error_code() == Some(INVALID_REQUEST), "{reply}");
    let value = challenge(reply);
    ensure!(
        value.starts_with(challenge_start),
        "challenge {value:?} should start with {challenge_start:?}"
    );
    Ok(value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_oauth_challenges_carrying_the_request_id() -> Result<()> {
    let setup = Setup::start().await?;
    let metadata = setup.metadata_param();
    let mut failures = Vec::new();
    let mut check = |case: &str, result: Result<String>| {
        if let Err(error) = result {
            failures.push(format!("{case}: {error:#}"));
        }
    };

    // No token: 401 naming the metadata and the scope, no error code.
    let reply = setup.post(None, None, initialize(7)).await?;
    let expected = format!("Bearer scope=\"mcp\", {metadata}");
    check(
        "no token",
        refused(&reply, StatusCode::UNAUTHORIZED, json!(7), &expected).and_then(|c| {
            ensure!(c == expected, "{c}");
            Ok(c)
        }),
    );
    let reply = setup.post(None, None, initialize("req-a")).await?;
    check(
        "no token, string id",
        refused(
            &reply,
            StatusCode::UNAUTHORIZED,
            json!("req-a"),
            "Bearer scope=",
        ),
    );
    // A GET (no body, so no id).
    let get = http_client()?
        .get(&setup.resource)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    check("GET without a token", {
        let status = get.status();
        let value = get
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if status == StatusCode::UNAUTHORIZED && value == expected {
            Ok(value)
        } else {
            Err(anyhow::anyhow!("{status} {value:?}"))
        }
    });

    // Tokens that fail verification: 401 invalid_token, with Envoy's reason.
    let invalid = "Bearer error=\"invalid_token\", error_description=";
    let reply = setup.post(Some("not-a-jwt"), None, initialize(8)).await?;
    check(
        "malformed",
        refused(&reply, StatusCode::UNAUTHORIZED, json!(8), invalid),
    );
    let other = setup
        .idp
        .client_token(
            "alice",
            "alice-secret",
            "http://127.0.0.1:1/other",
            Some("mcp"),
        )
        .await?;
    let reply = setup.post(Some(&other), None, initialize(9)).await?;
    check(
        "another audience",
        refused(&reply, StatusCode::UNAUTHORIZED, json!(9), invalid).and_then(|c| {
            ensure!(c.contains("Audiences"), "{c}");
            ensure!(c.ends_with(&metadata), "{c}");
            Ok(c)
        }),
    );
    let good = setup.token("alice").await?;
    let tampered = tamper(&good);
    let reply = setup.post(Some(&tampered), None, initialize(10)).await?;
    check(
        "tampered",
        refused(&reply, StatusCode::UNAUTHORIZED, json!(10), invalid),
    );
    let brief = setup.token("brief").await?;
    let session = setup.initialize(&brief).await;
    check("brief token while valid", session.map(|_| String::new()));
    // Past `exp` (2 s) plus the 1 s of skew, in whole seconds as Envoy counts them.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let reply = setup.post(Some(&brief), None, initialize(12)).await?;
    check(
        "expired",
        refused(&reply, StatusCode::UNAUTHORIZED, json!(12), invalid).and_then(|c| {
            ensure!(c.contains("expired"), "{c}");
            Ok(c)
        }),
    );

    // Verified, but without the required scope: 403.
    let unscoped = setup
        .idp
        .client_token("alice", "alice-secret", &setup.resource, None)
        .await?;
    let reply = setup.post(Some(&unscoped), None, initialize(13)).await?;
    check(
        "no scope",
        refused(
            &reply,
            StatusCode::FORBIDDEN,
            json!(13),
            &format!("Bearer error=\"insufficient_scope\", scope=\"mcp\", {metadata}"),
        ),
    );

    // The metadata stays open, in both forms, and names what jwt_authn enforces; the issuer
    // it names is discoverable.
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = http_client()?
            .get(setup.gateway.envoy_url(path))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        let expected = json!({
            "resource_name": "MCP Gateway",
            "resource": setup.resource,
            "authorization_servers": [setup.idp.issuer()],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["mcp"],
        });
        check(path, {
            if status == StatusCode::OK && body == expected {
                Ok(String::new())
            } else {
                Err(anyhow::anyhow!("{status} {body}"))
            }
        });
    }
    let discovery: Value = http_client()?
        .get(format!(
            "{}/.well-known/openid-configuration",
            setup.idp.issuer()
        ))
        .send()
        .await?
        .json()
        .await?;
    check("issuer discovery", {
        if discovery["issuer"] == json!(setup.idp.issuer()) {
            Ok(String::new())
        } else {
            Err(anyhow::anyhow!("{discovery}"))
        }
    });

    if !failures.is_empty() {
        bail!(
            "{} case(s) failed:\n{}\n{}",
            failures.len(),
            failures.join("\n"),
            setup.gateway.log_tails()
        );
    }
    Ok(())
}

/// The token with one character of its payload changed (the signature no longer matches).
fn tamper(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = &mut parts[1];
    let middle = payload.len() / 2;
    let replacement = if &payload[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    payload.replace_range(middle..=middle, replacement);
    parts.join(".")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answers_only_its_own_caller() -> Result<()> {
    a_session_answers_only_its_own_caller_in(Mode::ExtProc).await
}

/// The Envoy module reads the caller from the payload `jwt_authn` forwards, and checks
/// sessions for it as the router does (the sidecar answers for that subject).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answers_only_its_own_caller_module() -> Result<()> {
    a_session_answers_only_its_own_caller_in(Mode::Module).await
}

async fn a_session_answers_only_its_own_caller_in(mode: Mode) -> Result<()> {
    let setup = Setup::start_in(mode).await?;
    let alice = setup.token("alice").await?;
    let bob = setup.token("bob").await?;
    let session = setup.initialize(&alice).await?;
    let reply = setup.add(Some(&alice), &session).await?;
    ensure!(reply.tool_text()? == "5", "{reply}");

    // Bob presenting Alice's session: exactly an unknown session, on every path.
    let unknown = setup.add(Some(&bob), "not-a-session-id").await?;
    ensure!(unknown.status == StatusCode::NOT_FOUND, "{unknown}");
    let stolen = setup.add(Some(&bob), &session).await?;
    ensure!(
        stolen.status == StatusCode::NOT_FOUND && stolen.body == unknown.body,
        "routed call with a stolen session: {stolen} (unknown: {unknown})"
    );
    let list = json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list"});
    let listed = setup.post(Some(&bob), Some(&session), list.clone()).await?;
    ensure!(
        listed.status == StatusCode::NOT_FOUND && listed.body == unknown.body,
        "broker request with a stolen session: {listed}"
    );
    let http = http_client()?;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = http
            .request(method.clone(), &setup.resource)
            .header("authorization", format!("Bearer {bob}"))
            .header("mcp-session-id", &session)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .send()
            .await?;
        ensure!(
            response.status() == StatusCode::NOT_FOUND,
            "{method} with a stolen session: {}",
            response.status()
        );
    }
    // Without a token the caller is refused before any session is looked at.
    let anonymous = setup.add(None, &session).await?;
    ensure!(anonymous.status == StatusCode::UNAUTHORIZED, "{anonymous}");

    // Alice's session is intact.
    let reply = setup.add(Some(&alice), &session).await?;
    ensure!(reply.tool_text()? == "5", "{reply}");
    let listed = setup.post(Some(&alice), Some(&session), list).await?;
    ensure!(listed.status == StatusCode::OK, "{listed}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_accepted_and_an_unreachable_issuer_is_a_503() -> Result<()> {
    let mut setup = Setup::start().await?;
    let before = setup.token("alice").await?;

    // A new signing key: Envoy fetches the new key set once its cache (2 s) expires.
    setup.idp.rotate().await?;
    let after = setup.token("alice").await?;
    ensure!(kid(&after)? != kid(&before)?, "the provider did not rotate");
    eventually_within(
        "the rotated key to be accepted",
        Duration::from_secs(15),
        || setup.initialize(&after),
    )
    .await?;
    setup.initialize(&before).await?;

    // The provider down: once the cached keys expire, a valid token gets a 503 (the caller
    // is not at fault), with the request's id; back up, tokens work again.
    setup.idp.stop().await?;
    let down = eventually_within("keys to be unavailable", Duration::from_secs(15), || {
        let setup = &setup;
        let after = &after;
        async move {
            let reply = setup.post(Some(after), None, initialize(21)).await?;
            ensure!(reply.status == StatusCode::SERVICE_UNAVAILABLE, "{reply}");
            Ok(reply)
        }
    })
    .await?;
    ensure!(
        down.message.as_ref().and_then(|m| m.get("id")) == Some(&json!(21)),
        "{down}"
    );
    setup.idp.resume().await?;
    eventually_within("tokens accepted again", Duration::from_secs(15), || {
        setup.initialize(&after)
    })
    .await?;
    Ok(())
}

/// The `kid` of a token's header.
fn kid(token: &str) -> Result<String> {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header)?)?;
    Ok(header["kid"].as_str().unwrap_or_default().to_owned())
}
