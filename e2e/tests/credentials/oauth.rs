//! The four modes side by side, against a real OpenID provider (`e2e/node/idp.mjs`): one
//! recording backend per mode, auth on, callers with client-credentials tokens for the
//! gateway.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_gateway_e2e::{
    EventStream, ExternalServer, FIRST_TOOL, Gateway, GatewayOptions, IdentityProvider, LiveServer,
    Mode, RawClient, Reply, SeenCredentials, eventually,
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
    pub async fn start(mode: Mode) -> Result<Self> {
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
            mode,
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

    pub async fn post(&self, token: &str, session: Option<&str>, body: Value) -> Result<Reply> {
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

    /// Opens the session's GET stream as the holder of `token`.
    pub async fn open_stream(&self, token: &str, session: &str) -> Result<EventStream> {
        let bearer = format!("Bearer {token}");
        self.raw
            .open_stream_with(session, None, &[("authorization", bearer.as_str())])
            .await
    }

    /// Ends the session as the holder of `token`.
    pub async fn delete(&self, token: &str, session: &str) -> Result<StatusCode> {
        let bearer = format!("Bearer {token}");
        self.raw
            .delete_with(session, &[("authorization", bearer.as_str())])
            .await
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
/// every request carries one, but for one kind: the replaced discovery manager (configured
/// before the credentials were) ending the sessions it opened without one, a `DELETE` of a
/// session seen before that first keyed request; it may come after the new manager's first
/// requests (the same exception as the static key's rotation in `credentials.rs`).
pub(super) fn keyed_from_first(seen: &[SeenCredentials]) -> bool {
    let Some(first) = seen.iter().position(|s| s.authorization.is_some()) else {
        return false;
    };
    let opened_unkeyed: BTreeSet<&str> = seen[..first]
        .iter()
        .filter_map(|s| s.session_id.as_deref())
        .collect();
    let replaced_manager_ending = |s: &SeenCredentials| {
        s.http_method == "DELETE"
            && s.session_id
                .as_deref()
                .is_some_and(|id| opened_unkeyed.contains(id))
    };
    seen[first..]
        .iter()
        .all(|s| s.authorization.is_some() || replaced_manager_ending(s))
}

pub(super) fn ok(reply: &Reply) -> Result<()> {
    if reply.status != StatusCode::OK || reply.result().is_err() {
        bail!("the call failed: {reply}");
    }
    Ok(())
}
