//! A real OpenID provider: `e2e/node/idp.mjs` (the certified `oidc-provider` package) on a
//! free loopback port, with client-credentials clients, RFC 8707 resource indicators (JWT
//! access tokens for the requested `resource`), RFC 8693 token exchange, and signing keys
//! that can be rotated. Tests get tokens from it the way clients do, over HTTP; nothing here
//! signs a token.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tempfile::TempDir;

use crate::node::{node, node_dir};
use crate::process::ChildProcess;
use crate::raw::http_client;

/// The RFC 8693 grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The RFC 8693 token type of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A running provider; killed on drop.
#[derive(Debug)]
pub struct IdentityProvider {
    port: u16,
    clients: String,
    process: Option<ChildProcess>,
    http: reqwest::Client,
    // Last: removed only after the process is gone.
    dir: TempDir,
}

impl IdentityProvider {
    /// Starts one whose clients are `clients` (`id:secret[:ttl]`, comma-separated) and
    /// whose resources offer the scopes `mcp` and `mcp-gateway:console` (the console API's
    /// default operator scope), granted only when asked for.
    pub async fn start(clients: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("mcp-gateway-idp-")
            .tempdir()
            .context("creating the provider's directory")?;
        let mut idp = Self {
            // Chosen by the provider itself (IDP_PORT=0) and read from its announcement: a
            // port picked here and released could be taken before it listens.
            port: 0,
            clients: clients.to_owned(),
            process: None,
            http: http_client()?,
            dir,
        };
        idp.run(false).await?;
        Ok(idp)
    }

    async fn run(&mut self, rotate: bool) -> Result<()> {
        let node_dir = node_dir()?;
        let mut command = node(&node_dir, "idp.mjs");
        command
            .env("IDP_PORT", self.port.to_string())
            .env("IDP_KEYS", self.keys_file())
            .env("IDP_CLIENTS", &self.clients)
            .env("IDP_SCOPES", "mcp mcp-gateway:console")
            .env("IDP_ROTATE", if rotate { "1" } else { "0" });
        let log = self.dir.path().join("idp.log");
        let (process, line) = ChildProcess::spawn_announced("idp", command, &log).await?;
        if self.port == 0 {
            self.port = line
                .strip_prefix("ready http://127.0.0.1:")
                .and_then(|port| port.parse().ok())
                .with_context(|| format!("unexpected announcement from the provider: {line:?}"))?;
        } else if line != format!("ready {}", self.issuer()) {
            bail!("unexpected announcement from the provider: {line:?}");
        }
        self.process = Some(process);
        Ok(())
    }

    fn keys_file(&self) -> PathBuf {
        self.dir.path().join("keys.json")
    }

    /// `http://127.0.0.1:<port>`: the `iss` of its tokens.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where it publishes its signing keys.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer())
    }

    /// The gateway config's `auth:` section trusting this provider for `resource`, with
    /// scope `mcp` required, keys cached for 2 s and 1 s of clock skew (so tests see key
    /// rotation and expiry quickly).
    pub fn auth_section(&self, resource: &str) -> String {
        format!(
            "auth:
  resource: {resource}
  requiredScopes: [mcp]
  issuers:
  - issuer: {}
    jwksUri: {}
    clockSkew: 1s
    jwksCacheDuration: 2s
",
            self.issuer(),
            self.jwks_uri()
        )
    }

    /// Kills it (the port stays reserved for [`IdentityProvider::resume`]).
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut process) = self.process.take() {
            process.kill().await?;
        }
        Ok(())
    }

    /// Starts it again with the same keys and clients.
    pub async fn resume(&mut self) -> Result<()> {
        self.stop().await?;
        self.run(false).await
    }

    /// Restarts it with a new signing key first (it signs every new token) and the previous
    /// one still published.
    pub async fn rotate(&mut self) -> Result<()> {
        self.stop().await?;
        self.run(true).await
    }

    /// A client-credentials token for `resource` (RFC 8707), with `scope` when given.
    pub async fn client_token(
        &self,
        client: &str,
        secret: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<String> {
        let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(client, secret, &form).await
    }

    /// RFC 8693: `subject_token` exchanged by `client` for a token for `resource`.
    pub async fn exchange(
        &self,
        client: &str,
        secret: &str,
        subject_token: &str,
        resource: &str,
    ) -> Result<String> {
        let form = [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject_token),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("resource", resource),
        ];
        self.token(client, secret, &form).await
    }

    async fn token(&self, client: &str, secret: &str, form: &[(&str, &str)]) -> Result<String> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}/token", self.issuer()))
            .basic_auth(client, Some(secret))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .context("POST /token")?;
        let status = response.status();
        let json: Value = response.json().await.context("token response")?;
        match json["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => bail!("token request refused ({status}): {json}"),
        }
    }

    /// The end of its log.
    pub fn log_tail(&self) -> String {
        self.process
            .as_ref()
            .map(ChildProcess::log_tail)
            .unwrap_or_default()
    }
}

/// Runs `e2e/node/oauth-client.mjs`: the TypeScript SDK's client with its client-credentials
/// provider, given only `url` and the credentials (and the issuer it expects), calls `tool`
/// with `arguments`. Returns what it observed.
pub async fn run_oauth_client(
    url: &str,
    client: &str,
    secret: &str,
    issuer: &str,
    tool: &str,
    arguments: &Value,
) -> Result<Value> {
    let dir = node_dir()?;
    let mut command = node(&dir, "oauth-client.mjs");
    command
        .args([url, client, secret, issuer, tool])
        .arg(arguments.to_string())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .context("oauth-client.mjs ran longer than 60 s")?
        .context("running node oauth-client.mjs")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "oauth-client.mjs failed ({}):\n{}{stdout}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_str(stdout.trim())
        .with_context(|| format!("oauth-client.mjs printed no JSON object: {stdout}"))
}
