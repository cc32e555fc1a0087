//! Credentials to backends (docs/security.md, "Credentials to backends"), through real
//! Envoy and the real gateway binary, watched by a real MCP server (rmcp) that records the
//! credential headers of every request it receives.
//!
//! Covered here: a static credential read from a file reaches the backend on the gateway's
//! own requests (discovery), goes in the configured header and no other, follows the file
//! when it changes (no restart), and never appears in the gateway's log. Token exchange and
//! client credentials against a real OpenID provider, and routed calls, are not covered yet.

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    ExternalServer, Gateway, GatewayOptions, LiveServer, eventually, tool_names,
};

/// Distinctive secrets, so a leak anywhere in the log is found by substring.
const FIRST_KEY: &str = "first-static-key-9c1e5f";
const SECOND_KEY: &str = "second-static-key-4ab07d";

fn entry(url: &str, key_file: &str) -> String {
    format!(
        "servers:
  - name: live
    url: {url}
    hostname: live.mcp.local
    toolPrefix: live_
    credentials:
      static:
        header: X-Api-Key
        value: {{file: {key_file}}}
"
    )
}

#[tokio::test]
async fn a_static_credential_from_a_file_is_sent_and_follows_the_file() -> Result<()> {
    let live = LiveServer::start().await?;
    let url = live.url();
    let gateway = Gateway::start(GatewayOptions {
        external: &[ExternalServer {
            name: "live",
            url: &url,
        }],
        ..GatewayOptions::default()
    })
    .await?;
    // Before credentials are configured the backend sees none (and never a client's).
    ensure!(
        live.credentials_seen()
            .iter()
            .all(|seen| seen.api_key.is_none() && seen.authorization.is_none()),
        "credentials sent before any was configured: {:?}",
        live.credentials_seen()
    );

    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("live-key");
    std::fs::write(&key_file, format!("{FIRST_KEY}\n"))?;
    gateway.write_config(&entry(&url, &key_file.display().to_string()))?;
    // Discovery (a fresh manager for the changed server, then the periodic refresh) carries
    // the key in X-Api-Key, without the file's newline, and no Authorization.
    let from = live.credentials_seen().len();
    eventually("discovery to send the first key", || {
        let seen = live.credentials_seen();
        async move {
            let sent = seen[from..]
                .iter()
                .any(|s| s.api_key.as_deref() == Some(FIRST_KEY));
            ensure!(sent, "not yet: {:?}", &seen[from..]);
            Ok(())
        }
    })
    .await?;

    // The file changes (a rotated Kubernetes Secret): the next requests carry the new key.
    std::fs::write(&key_file, SECOND_KEY)?;
    eventually("discovery to send the second key", || {
        let seen = live.credentials_seen();
        async move {
            ensure!(
                seen.last().and_then(|s| s.api_key.as_deref()) == Some(SECOND_KEY),
                "not yet: {:?}",
                seen.last()
            );
            Ok(())
        }
    })
    .await?;
    // Once the new config is in force (the first keyed request; one request of the old
    // manager may still be on its way), every request carries exactly the configured key.
    let seen = live.credentials_seen();
    let keyed = seen
        .iter()
        .position(|s| s.api_key.is_some())
        .unwrap_or(seen.len());
    let after_config = &seen[keyed..];
    ensure!(
        after_config.iter().all(|s| s.authorization.is_none()
            && matches!(s.api_key.as_deref(), Some(FIRST_KEY | SECOND_KEY))),
        "a request without exactly the configured key: {after_config:?}"
    );
    // The tools stay listed through the rotation.
    let client = gateway.client().await?;
    let names = tool_names(&client).await?;
    ensure!(
        names.iter().any(|name| name.starts_with("live_")),
        "live's tools are listed: {names:?}"
    );

    let log = gateway.gateway_log();
    for secret in [FIRST_KEY, SECOND_KEY] {
        ensure!(!log.contains(secret), "the gateway logged a secret:\n{log}");
    }
    Ok(())
}

/// The four modes side by side, against a real OpenID provider (`e2e/node/idp.mjs`): one
/// recording backend per mode, auth on, callers with client-credentials tokens for the
/// gateway.
mod oauth {
    use std::collections::BTreeSet;

    use anyhow::{Context, Result, bail, ensure};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use mcp_gateway_e2e::{
        ExternalServer, FIRST_TOOL, Gateway, GatewayOptions, IdentityProvider, LiveServer,
        RawClient, Reply, SeenCredentials, eventually,
    };
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    /// The gateway's own client at the provider; its secret is in a file only.
    pub(super) const GATEWAY_SECRET: &str = "gateway-client-secret-71d2c0";
    /// The callers (`carol` exchanges nothing until the provider is down); the gateway's
    /// client is added with [`GATEWAY_SECRET`].
    const CALLERS: &str = "alice:alice-secret,bob:bob-secret,carol:carol-secret";
    /// Server names and their `credentials:` (none for `plain`).
    const MODES: [(&str, Option<&str>); 4] = [
        ("exchange", Some("{tokenExchange: {}}")),
        ("service", Some("{clientCredentials: {}}")),
        ("passthrough", Some("{passthrough: {}}")),
        ("plain", None),
    ];

    pub(super) struct Setup {
        pub idp: IdentityProvider,
        pub gateway: Gateway,
        raw: RawClient,
        resource: String,
        /// One recording backend per entry of `MODES`, in that order.
        pub servers: Vec<LiveServer>,
        _secrets: tempfile::TempDir,
    }

    impl Setup {
        pub async fn start() -> Result<Self> {
            let clients = format!("{CALLERS},gateway:{GATEWAY_SECRET}");
            let idp = IdentityProvider::start(&clients).await?;
            let mut servers = Vec::new();
            for _ in MODES {
                servers.push(LiveServer::start().await?);
            }
            let urls: Vec<String> = servers.iter().map(LiveServer::url).collect();
            let external: Vec<ExternalServer<'_>> = MODES
                .iter()
                .zip(&urls)
                .map(|((name, _), url)| ExternalServer { name, url })
                .collect();
            let gateway = Gateway::start(GatewayOptions {
                external: &external,
                ..GatewayOptions::default()
            })
            .await?;
            let secrets = tempfile::tempdir()?;
            let secret_file = secrets.path().join("gateway-secret");
            std::fs::write(&secret_file, format!("{GATEWAY_SECRET}\n"))?;
            let resource = gateway.mcp_url();
            let mut yaml = format!(
                "tokenClient:
  tokenEndpoint: {issuer}/token
  clientId: gateway
  clientSecret: {{file: {secret}}}
auth:
  resource: {resource}
  requiredScopes: [mcp]
  issuers:
  - issuer: {issuer}
    jwksUri: {jwks}
    jwksCacheDuration: 600s
servers:
",
                issuer = idp.issuer(),
                jwks = idp.jwks_uri(),
                secret = secret_file.display(),
            );
            for ((name, credentials), url) in MODES.iter().zip(&urls) {
                yaml.push_str(&format!(
                    "  - name: {name}\n    url: {url}\n    hostname: {name}.mcp.local\n    toolPrefix: {name}_\n"
                ));
                if let Some(credentials) = credentials {
                    yaml.push_str(&format!("    credentials: {credentials}\n"));
                }
            }
            gateway.write_config(&yaml)?;
            let setup = Self {
                raw: RawClient::new(&resource)?,
                idp,
                gateway,
                resource,
                servers,
                _secrets: secrets,
            };
            let token = setup.token("alice").await?;
            let expected: BTreeSet<String> = MODES
                .iter()
                .map(|(name, _)| format!("{name}_{FIRST_TOOL}"))
                .collect();
            eventually("auth on and every server's tools listed", || {
                let (setup, token, expected) = (&setup, &token, &expected);
                async move {
                    // The config with auth (and credentials) is in force.
                    let anonymous = setup.raw.list_tools(None).await?;
                    ensure!(anonymous.status == StatusCode::UNAUTHORIZED, "{anonymous}");
                    let session = setup.initialize(token).await?;
                    let reply = setup
                        .post(
                            token,
                            Some(&session),
                            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
                        )
                        .await?;
                    let names: BTreeSet<String> = reply.result()?["tools"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t["name"].as_str().map(str::to_owned))
                        .collect();
                    ensure!(expected.is_subset(&names), "not yet: {names:?}");
                    Ok(())
                }
            })
            .await?;
            Ok(setup)
        }

        /// A token of `client` for the gateway (scope `mcp`), as an MCP client gets one.
        pub async fn token(&self, client: &str) -> Result<String> {
            let secret = format!("{client}-secret");
            self.idp
                .client_token(client, &secret, &self.resource, Some("mcp"))
                .await
        }

        async fn post(&self, token: &str, session: Option<&str>, body: Value) -> Result<Reply> {
            let bearer = format!("Bearer {token}");
            let mut headers = vec![("authorization", bearer.as_str())];
            if let Some(session) = session {
                headers.push(("mcp-session-id", session));
            }
            self.raw.post_with(&headers, body.to_string()).await
        }

        pub async fn initialize(&self, token: &str) -> Result<String> {
            let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": mcp_gateway_e2e::PROTOCOL_VERSION, "capabilities": {},
                "clientInfo": {"name": "credentials-e2e", "version": "0"}}});
            let reply = self.post(token, None, body).await?;
            ensure!(reply.status == StatusCode::OK, "initialize: {reply}");
            let session = reply.session_id().context("no session id")?.to_owned();
            Ok(session)
        }

        /// `tools/call` of `<server>_hello` with id 7 (the next, for concurrent calls of one
        /// session: ids must differ).
        pub async fn call(&self, token: &str, session: &str, server: &str) -> Result<Reply> {
            self.call_with_id(token, session, server, 7).await
        }

        pub async fn call_with_id(
            &self,
            token: &str,
            session: &str,
            server: &str,
            id: u64,
        ) -> Result<Reply> {
            let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": format!("{server}_{FIRST_TOOL}"), "arguments": {}}});
            self.post(token, Some(session), call).await
        }

        /// What the backend of `server` has received.
        pub fn seen(&self, server: &str) -> Vec<SeenCredentials> {
            let index = MODES.iter().position(|(name, _)| *name == server);
            index.map_or_else(Vec::new, |i| self.servers[i].credentials_seen())
        }

        pub fn url(&self, server: &str) -> String {
            let index = MODES.iter().position(|(name, _)| *name == server);
            index.map_or_else(String::new, |i| self.servers[i].url())
        }
    }

    /// The claims of a JWT (read, not verified: the test only looks at what it was given).
    pub(super) fn claims(bearer: &str) -> Result<Value> {
        let token = bearer
            .strip_prefix("Bearer ")
            .context("not a bearer token")?;
        let payload = token.split('.').nth(1).context("not a JWT")?;
        Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
    }

    /// The `Authorization` values of the requests the router routed (`x-mcp-method` set).
    pub(super) fn routed(seen: &[SeenCredentials]) -> Vec<Option<String>> {
        seen.iter()
            .filter(|s| s.routed_method.is_some())
            .map(|s| s.authorization.clone())
            .collect()
    }

    /// Once the credentials config is in force (the first request with `Authorization`),
    /// every request carries one.
    pub(super) fn keyed_from_first(seen: &[SeenCredentials]) -> bool {
        let first = seen.iter().position(|s| s.authorization.is_some());
        first.is_some_and(|i| seen[i..].iter().all(|s| s.authorization.is_some()))
    }

    pub(super) fn ok(reply: &Reply) -> Result<()> {
        if reply.status != StatusCode::OK || reply.result().is_err() {
            bail!("the call failed: {reply}");
        }
        Ok(())
    }
}

/// Each mode as its backend sees it, on routed calls and on the backend session the gateway
/// opens for the caller; and no token or secret in the gateway's log.
#[tokio::test]
async fn each_mode_reaches_its_backend_as_configured() -> Result<()> {
    use oauth::{Setup, claims, keyed_from_first, ok, routed};
    let setup = Setup::start().await?;
    let alice = setup.token("alice").await?;
    let alice_sub = claims(&format!("Bearer {alice}"))?["sub"].clone();
    let session = setup.initialize(&alice).await?;
    for server in ["exchange", "service", "passthrough", "plain"] {
        ok(&setup.call(&alice, &session, server).await?)?;
    }

    // Token exchange: alice's subject, for the backend's audience, the gateway as actor;
    // also on the initialize of alice's backend session (not routed, same token).
    let seen = setup.seen("exchange");
    let calls = routed(&seen);
    ensure!(calls.len() == 1, "one routed call: {seen:?}");
    let exchanged = calls[0].clone().unwrap_or_default();
    let c = claims(&exchanged).with_context(|| format!("{seen:?}"))?;
    ensure!(c["sub"] == alice_sub, "the caller's subject: {c}");
    ensure!(
        c["aud"] == setup.url("exchange").as_str(),
        "the backend's audience: {c}"
    );
    ensure!(c["act"]["sub"] == "gateway", "the gateway acted: {c}");
    ensure!(
        exchanged != format!("Bearer {alice}"),
        "not alice's own token"
    );
    ensure!(
        seen.iter()
            .filter(|s| s.routed_method.is_none())
            .any(|s| s.authorization.as_deref() == Some(exchanged.as_str())),
        "the backend session was opened with the exchanged token: {seen:?}"
    );
    ensure!(keyed_from_first(&seen), "{seen:?}");

    // Client credentials: the gateway's own token for the backend, whoever calls.
    let seen = setup.seen("service");
    let calls = routed(&seen);
    ensure!(calls.len() == 1, "one routed call: {seen:?}");
    let c = claims(calls[0].as_deref().unwrap_or_default())?;
    ensure!(c["sub"] != alice_sub, "not alice's: {c}");
    ensure!(
        c["aud"] == setup.url("service").as_str(),
        "the backend's audience: {c}"
    );
    ensure!(keyed_from_first(&seen), "{seen:?}");

    // Passthrough: alice's token unchanged, on the call and her backend session's initialize.
    let seen = setup.seen("passthrough");
    let own = format!("Bearer {alice}");
    ensure!(routed(&seen) == [Some(own.clone())], "{seen:?}");
    ensure!(
        seen.iter()
            .filter(|s| s.routed_method.is_none())
            .any(|s| s.authorization.as_deref() == Some(own.as_str())),
        "the backend session was opened with alice's token: {seen:?}"
    );

    // No credentials configured: none, and never a caller's.
    let seen = setup.seen("plain");
    ensure!(
        seen.iter()
            .all(|s| s.authorization.is_none() && s.api_key.is_none()),
        "{seen:?}"
    );
    ensure!(routed(&seen).len() == 1, "{seen:?}");

    // Nothing secret in the gateway's log (its level is debug in these tests).
    let log = setup.gateway.gateway_log();
    let mut secrets = vec![alice.clone(), oauth::GATEWAY_SECRET.to_owned()];
    for server in ["exchange", "service"] {
        for seen in setup.seen(server) {
            if let Some(bearer) = seen.authorization {
                secrets.push(bearer.trim_start_matches("Bearer ").to_owned());
            }
        }
    }
    for secret in &secrets {
        ensure!(
            !log.contains(secret.as_str()),
            "the gateway logged a secret or token"
        );
    }
    Ok(())
}

/// Token exchange is done once per subject for many calls, once for concurrent first calls;
/// the provider down is a 503 naming the server for a subject not yet exchanged (cached
/// subjects go on), and calls work again once it is back.
#[tokio::test]
async fn exchanged_tokens_are_cached_single_flight_and_survive_the_provider() -> Result<()> {
    use oauth::{Setup, ok, routed};
    let mut setup = Setup::start().await?;
    let bob = setup.token("bob").await?;
    let carol = setup.token("carol").await?;
    let session = setup.initialize(&bob).await?;
    let before = setup.seen("exchange").len();

    // Eight concurrent first calls, then five more: one exchange, so one token.
    let calls = (0..8).map(|id| setup.call_with_id(&bob, &session, "exchange", 100 + id));
    for reply in futures::future::join_all(calls).await {
        ok(&reply?)?;
    }
    for _ in 0..5 {
        ok(&setup.call(&bob, &session, "exchange").await?)?;
    }
    let seen = setup.seen("exchange");
    let tokens: std::collections::BTreeSet<_> = routed(&seen[before..]).into_iter().collect();
    ensure!(
        routed(&seen[before..]).len() == 13 && tokens.len() == 1,
        "13 calls with one exchanged token, got {} distinct",
        tokens.len()
    );

    // The provider goes down: bob's token is cached; carol's exchange cannot happen.
    let carol_session = setup.initialize(&carol).await?;
    setup.idp.stop().await?;
    ok(&setup.call(&bob, &session, "exchange").await?)?;
    let reply = setup.call(&carol, &carol_session, "exchange").await?;
    ensure!(
        reply.status == reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "{reply}"
    );
    ensure!(reply.error_code() == Some(-32603), "{reply}");
    let message = reply.error_message().unwrap_or_default();
    ensure!(message.contains("MCP server 'exchange'"), "{reply}");
    ensure!(reply.result().is_err(), "{reply}");
    let body: serde_json::Value = serde_json::from_str(&reply.body)?;
    ensure!(body["id"] == 7, "the request's id: {reply}");
    // Other servers are not affected.
    ok(&setup.call(&carol, &carol_session, "plain").await?)?;

    // Back: carol's call works (failures are not cached).
    setup.idp.resume().await?;
    eventually("carol's exchange once the provider is back", || {
        let (setup, carol, session) = (&setup, &carol, &carol_session);
        async move { ok(&setup.call(carol, session, "exchange").await?) }
    })
    .await?;
    let log = setup.gateway.gateway_log();
    ensure!(
        !log.contains(&carol) && !log.contains(&bob),
        "a token in the log"
    );
    ensure!(
        !log.contains(oauth::GATEWAY_SECRET),
        "the client secret in the log"
    );
    Ok(())
}
