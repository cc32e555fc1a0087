//! The OpenID provider of path (7): `e2e/node/idp.mjs` (the `oidc-provider` package, as in
//! `make run-auth` and the e2e tests) on a free loopback port. The benchmark asks it for one
//! client-credentials token before measuring, over HTTP, as a client would.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::process::Command;

use super::http::post_form;
use super::process::Child;
use super::procfs::ProcSample;

/// How long the provider may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of the provider, with its secret.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// `client_id`.
    pub id: &'static str,
    /// `client_secret`.
    pub secret: &'static str,
}

/// A running provider.
#[derive(Debug)]
pub struct IdentityProvider {
    child: Child,
    issuer: String,
}

impl IdentityProvider {
    /// Starts `idp.mjs` of `script_dir` (whose packages must be installed) with `clients`,
    /// its keys and log in `dir`.
    pub async fn start(script_dir: &Path, dir: &Path, clients: &[Client]) -> Result<Self> {
        let script = script_dir.join("idp.mjs");
        if !script_dir.join("node_modules/oidc-provider").is_dir() {
            bail!(
                "the OpenID provider of path (7) is not installed in {}: run \
                 `scripts/ensure-node-packages.sh e2e/node oidc-provider` (make bench does)",
                script_dir.display()
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let issuer = format!("http://127.0.0.1:{port}");
        let list: Vec<String> = clients
            .iter()
            .map(|c| format!("{}:{}", c.id, c.secret))
            .collect();
        let mut command = Command::new("node");
        command
            .arg(&script)
            .env("IDP_PORT", port.to_string())
            .env("IDP_ISSUER", &issuer)
            .env("IDP_KEYS", dir.join("idp-keys.json"))
            .env("IDP_CLIENTS", list.join(","));
        let log = dir.join("idp.log");
        let (child, line) = Child::spawn_announced("idp", command, &log, START_TIMEOUT)
            .await
            .context("starting node e2e/node/idp.mjs (is Node.js 20+ installed?)")?;
        if line != format!("ready {issuer}") {
            bail!("the provider announced {line:?}");
        }
        Ok(Self { child, issuer })
    }

    /// The `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where it publishes its signing keys.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// A client-credentials token of `client` for `resource` (RFC 8707) with `scope`.
    pub async fn token(&self, client: Client, resource: &str, scope: &str) -> Result<String> {
        let form = form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ]);
        let basic = format!(
            "Basic {}",
            base64(&format!("{}:{}", client.id, client.secret))
        );
        let url = format!("{}/token", self.issuer);
        let (status, body) = post_form(&url, &basic, form).await?;
        let json: Value = serde_json::from_slice(&body).context("token response")?;
        match json["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => bail!("token request of {} refused ({status}): {json}", client.id),
        }
    }

    /// Its CPU time and memory now.
    pub fn sample(&self) -> Result<ProcSample> {
        self.child.sample()
    }

    /// Stops it.
    pub async fn stop(self) {
        self.child.stop().await;
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Standard base64 with padding (for HTTP Basic credentials).
fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_forms_and_basic_credentials() {
        assert_eq!(
            form(&[("resource", "http://h:1/mcp"), ("scope", "a b")]),
            "resource=http%3A%2F%2Fh%3A1%2Fmcp&scope=a+b"
        );
        assert_eq!(base64("alice:alice-secret"), "YWxpY2U6YWxpY2Utc2VjcmV0");
        assert_eq!(base64("ab"), "YWI=");
        assert_eq!(base64("a"), "YQ==");
        assert_eq!(base64(""), "");
    }
}
