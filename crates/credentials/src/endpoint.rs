//! The issuer's token endpoint: RFC 8693 token exchange and the client credentials grant
//! (RFC 6749 §4.4), the gateway authenticating as its own client with HTTP Basic
//! (`client_secret_basic`).

use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mcp_gateway_config::TokenRequest;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use url::Url;
use url::form_urlencoded;

/// RFC 8693 grant type.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 token type of an OAuth access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Lifetime assumed when the endpoint does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// Most of an error description kept in an error message.
const MAX_DESCRIPTION_CHARS: usize = 200;
/// Largest token response read.
const MAX_RESPONSE_BYTES: usize = 64 << 10;

/// An access token from the endpoint. `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Token {
    /// `Bearer <token>`, ready to send.
    pub(crate) header: HeaderValue,
    /// When it stops being used: shortly before it expires.
    pub(crate) refresh_at: Instant,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

/// What to ask the endpoint for.
pub(crate) enum Grant<'a> {
    /// The gateway's own token.
    ClientCredentials,
    /// The caller's token, exchanged.
    Exchange { subject_token: &'a str },
}

/// The gateway as a client of one token endpoint.
pub(crate) struct Endpoint<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) url: &'a Url,
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a str,
}

#[derive(Deserialize)]
struct Success {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct Failure {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Endpoint<'_> {
    /// Asks for a token; errors say what failed and never carry a token or secret.
    pub(crate) async fn request(
        &self,
        grant: Grant<'_>,
        request: &TokenRequest,
        timeout: Duration,
    ) -> Result<Token, String> {
        let body = form(grant, request);
        let started = Instant::now();
        let send = self
            .http
            .post(self.url.clone())
            .header(AUTHORIZATION, self.basic()?)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send();
        let response = tokio::time::timeout(timeout, send)
            .await
            .map_err(|_| "the token endpoint did not answer in time".to_owned())?
            .map_err(|e| {
                let e = e.without_url();
                if e.is_connect() {
                    "the token endpoint is unreachable".to_owned()
                } else {
                    format!("the token endpoint failed: {}", kind(&e))
                }
            })?;
        let status = response.status();
        let bytes = tokio::time::timeout(timeout, response.bytes())
            .await
            .map_err(|_| "the token endpoint did not answer in time".to_owned())?
            .map_err(|_| "the token endpoint's answer broke off".to_owned())?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err("the token endpoint's answer is too large".to_owned());
        }
        if !status.is_success() {
            return Err(match serde_json::from_slice::<Failure>(&bytes) {
                Ok(failure) => {
                    let description = failure
                        .error_description
                        .map(|d| {
                            let d: String = d.chars().take(MAX_DESCRIPTION_CHARS).collect();
                            format!(" ({d})")
                        })
                        .unwrap_or_default();
                    format!(
                        "the token endpoint refused: HTTP {}, {}{description}",
                        status.as_u16(),
                        failure.error.chars().take(64).collect::<String>()
                    )
                }
                Err(_) => format!("the token endpoint answered HTTP {}", status.as_u16()),
            });
        }
        let success: Success = serde_json::from_slice(&bytes)
            .map_err(|_| "the token endpoint's answer has no access_token".to_owned())?;
        if let Some(kind) = &success.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(format!(
                "the token endpoint issued a {:?} token, not a bearer token",
                kind.chars().take(32).collect::<String>()
            ));
        }
        let header = HeaderValue::from_str(&format!("Bearer {}", success.access_token))
            .map_err(|_| "the token endpoint issued a token that is not header text".to_owned())?;
        let lifetime = success
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Ok(Token {
            header,
            refresh_at: started + lifetime.saturating_sub(refresh_margin(lifetime)),
        })
    }

    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
    fn basic(&self) -> Result<HeaderValue, String> {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", encode(self.client_id), encode(self.client_secret));
        let mut value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))
            .map_err(|_| "the client credentials are not header text".to_owned())?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// The form body of a token request.
fn form(grant: Grant<'_>, request: &TokenRequest) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    match grant {
        Grant::ClientCredentials => {
            form.append_pair("grant_type", "client_credentials");
        }
        Grant::Exchange { subject_token } => {
            form.append_pair("grant_type", TOKEN_EXCHANGE_GRANT);
            form.append_pair("subject_token", subject_token);
            form.append_pair("subject_token_type", ACCESS_TOKEN_TYPE);
            form.append_pair("requested_token_type", ACCESS_TOKEN_TYPE);
        }
    }
    for (key, value) in [
        ("resource", &request.resource),
        ("audience", &request.audience),
        ("scope", &request.scope),
    ] {
        if let Some(value) = value {
            form.append_pair(key, value);
        }
    }
    form.finish()
}

/// How long before expiry a token stops being used: a fifth of its life, at most 30 s.
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(Duration::from_secs(30))
}

fn kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_body() || error.is_decode() {
        "bad answer"
    } else {
        "request error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_a_fifth_up_to_thirty_seconds() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(60)),
            Duration::from_secs(12)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn debug_hides_the_token() {
        let token = Token {
            header: HeaderValue::from_static("Bearer s3cret"),
            refresh_at: Instant::now(),
        };
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
