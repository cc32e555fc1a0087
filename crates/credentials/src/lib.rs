//! Credentials the gateway presents to backends, per server (`credentials:` in the config):
//!
//! - **static**: a header whose value comes from a file (read again when it changes, see
//!   [`RELOAD_INTERVAL`]), an environment variable, or the config itself;
//! - **token exchange** (RFC 8693): the caller's verified token exchanged at the issuer for
//!   one meant for the backend, cached per (server, subject) until shortly before it expires;
//! - **client credentials**: the gateway's own token for the backend, cached and refreshed;
//! - **passthrough**: the caller's own token, only when configured.
//!
//! Tokens are fetched once per key however many requests need them at the same moment, in a
//! task of their own; cache hits take no lock. A server without `credentials:` gets no
//! credential, and never the client's `Authorization` (the router removes it).
//!
//! Requests made for a caller use [`BackendCredentials::for_caller`]; requests the gateway
//! makes for itself (discovery, ending sessions) use [`BackendCredentials::for_gateway`]:
//! static and client-credentials servers get their usual credential; token-exchange servers
//! a client-credentials token for the same audience (unless `discovery: none`); passthrough
//! servers none (unless `discovery: clientCredentials`).
//!
//! Nothing here logs, or puts in an error, a secret or a token: [`Credential`] and the
//! cached tokens print redacted, and errors name files, variables and servers only.

mod credential;
mod endpoint;
mod error;
mod secret;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_config::{Credentials, Server, TokenClient, TokenRequest};
use mcp_gateway_identity::Caller;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

pub use credential::Credential;
pub use endpoint::{ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT};
pub use error::CredentialError;
pub use secret::RELOAD_INTERVAL;
pub use tokens::MAX_CACHED_TOKENS;

use secret::Secrets;
use tokens::{Fetch, TokenKey, Tokens};

/// The credentials of every backend. Cheap to clone; clones share caches.
#[derive(Clone)]
pub struct BackendCredentials {
    secrets: Arc<Secrets>,
    tokens: Arc<Tokens>,
}

impl std::fmt::Debug for BackendCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendCredentials").finish_non_exhaustive()
    }
}

impl BackendCredentials {
    /// Credentials whose token requests are each bounded by `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, CredentialError> {
        // The token endpoint may be https: rustls needs its crypto provider.
        mcp_gateway_upstream::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| CredentialError::Token {
                server: String::new(),
                reason: "the HTTP client for token requests could not be built".into(),
            })?;
        Ok(Self {
            secrets: Arc::new(Secrets::default()),
            tokens: Arc::new(Tokens::new(http, timeout)),
        })
    }

    /// The credential for a request made on behalf of `caller` (`None`: anonymous), with the
    /// config's `tokenClient` as `client`. `Ok(None)`: the server gets no credential.
    pub async fn for_caller(
        &self,
        server: &Server,
        client: Option<&TokenClient>,
        caller: Option<&Caller>,
    ) -> Result<Option<Credential>, CredentialError> {
        let Some(credentials) = &server.credentials else {
            return Ok(None);
        };
        let token = || {
            caller
                .and_then(Caller::token)
                .ok_or_else(|| CredentialError::NoCallerToken {
                    server: server.name.clone(),
                })
        };
        match credentials {
            Credentials::Static { .. } | Credentials::ClientCredentials(_) => {
                self.for_gateway(server, client).await
            }
            Credentials::Passthrough { .. } => {
                let value = HeaderValue::from_str(&format!("Bearer {}", token()?.expose()))
                    .map_err(|_| CredentialError::NoCallerToken {
                        server: server.name.clone(),
                    })?;
                Ok(Some(Credential::new(AUTHORIZATION, value)))
            }
            Credentials::TokenExchange { request, .. } => {
                let subject_token = token()?.expose().to_owned();
                let subject = caller.map(Caller::session_subject);
                let fetch = Fetch {
                    key: TokenKey {
                        server: server.name.clone(),
                        subject,
                    },
                    request: request.clone(),
                    client: self.client(server, client)?.clone(),
                    subject_token: Some(subject_token),
                };
                self.bearer(fetch).await.map(Some)
            }
        }
    }

    /// The credential for a request the gateway makes for itself (discovery, ending a
    /// session): see the crate documentation. `Ok(None)`: no credential.
    pub async fn for_gateway(
        &self,
        server: &Server,
        client: Option<&TokenClient>,
    ) -> Result<Option<Credential>, CredentialError> {
        let request = match &server.credentials {
            None => return Ok(None),
            Some(Credentials::Static {
                header,
                prefix,
                value,
            }) => {
                let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    CredentialError::Secret {
                        server: server.name.clone(),
                        reason: format!("{header:?} is not a header name"),
                    }
                })?;
                let value = self
                    .secrets
                    .value(&server.name, value, prefix)
                    .await
                    .map_err(|reason| CredentialError::Secret {
                        server: server.name.clone(),
                        reason,
                    })?;
                return Ok(Some(Credential::new(name, value)));
            }
            Some(Credentials::ClientCredentials(request))
            | Some(Credentials::TokenExchange {
                request,
                discovery: true,
            }) => request.clone(),
            Some(Credentials::Passthrough { discovery: true }) => TokenRequest {
                resource: Some(server.url.to_string()),
                audience: None,
                scope: None,
            },
            Some(Credentials::TokenExchange {
                discovery: false, ..
            })
            | Some(Credentials::Passthrough { discovery: false }) => return Ok(None),
        };
        let fetch = Fetch {
            key: TokenKey {
                server: server.name.clone(),
                subject: None,
            },
            request,
            client: self.client(server, client)?.clone(),
            subject_token: None,
        };
        self.bearer(fetch).await.map(Some)
    }

    /// Requests sent to token endpoints so far (every grant, failed ones included).
    pub fn token_requests(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Drops what is kept for servers `keep` rejects (call after a config change).
    pub fn retain_servers(&self, keep: impl Fn(&str) -> bool + Copy) {
        self.secrets.retain(keep);
        self.tokens.retain(keep);
    }

    async fn bearer(&self, fetch: Fetch) -> Result<Credential, CredentialError> {
        let value = tokens::token(&self.tokens, &self.secrets, fetch).await?;
        Ok(Credential::new(AUTHORIZATION, value))
    }

    fn client<'a>(
        &self,
        server: &Server,
        client: Option<&'a TokenClient>,
    ) -> Result<&'a TokenClient, CredentialError> {
        // Validation refuses a config that needs a token client without one.
        client.ok_or_else(|| CredentialError::Token {
            server: server.name.clone(),
            reason: "no tokenClient is configured".into(),
        })
    }
}

#[cfg(test)]
mod tests;
