//! The `auth:` section: who may call the gateway, as checked by Envoy's `jwt_authn` filter.
//!
//! ```yaml
//! auth:
//!   resource: http://127.0.0.1:8888/mcp   # the gateway's resource URL (RFC 8707 / RFC 9728)
//!   resourceName: MCP Gateway             # default "MCP Gateway"
//!   requiredScopes: [mcp]                 # default none
//!   consoleScope: ops                     # default mcp-gateway:console
//!   issuers:
//!     - issuer: http://127.0.0.1:8890
//!       jwksUri: http://127.0.0.1:8890/jwks
//!       audiences: [http://127.0.0.1:8888/mcp]  # default [resource]
//!       clockSkew: 60s                          # default 60s
//!       jwksCacheDuration: 5m                   # default 5m
//! ```
//!
//! No `auth:` (or `auth: null`) means every caller is anonymous, as before.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::FieldError;

/// Default `resourceName` in the protected-resource metadata.
pub const DEFAULT_RESOURCE_NAME: &str = "MCP Gateway";
/// Default `consoleScope`: the scope a token needs to read the console's API.
pub const DEFAULT_CONSOLE_SCOPE: &str = "mcp-gateway:console";
/// Default allowed clock difference between the gateway and an issuer.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// Default time Envoy keeps an issuer's keys before fetching them again.
pub const DEFAULT_JWKS_CACHE_DURATION: Duration = Duration::from_secs(300);
/// Largest `clockSkew` accepted: a larger one would keep expired tokens alive.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(600);

/// `auth:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAuth {
    /// The gateway's resource URL. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Human-readable name in the protected-resource metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Scopes every token must carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<String>,
    /// The scope a token needs to read the console's API; default `mcp-gateway:console`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_scope: Option<String>,
    /// Trusted token issuers. At least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuers: Vec<RawIssuer>,
}

/// One entry of `auth.issuers` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawIssuer {
    /// The `iss` claim tokens carry. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Where the issuer publishes its signing keys. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Accepted `aud` values; default: the gateway's `resource`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// Allowed clock difference (`30s`, `2m` or seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<String>,
    /// How long Envoy keeps the keys before fetching them again (`5m`, `30s` or seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_cache_duration: Option<String>,
}

/// Validated `auth:`: callers must present a bearer token from one of `issuers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// The gateway's resource URL: the default audience, and `resource` in the
    /// protected-resource metadata.
    pub resource: Url,
    /// `resource_name` in the protected-resource metadata.
    pub resource_name: String,
    /// Scopes every token must carry (403 `insufficient_scope` otherwise).
    pub required_scopes: Vec<String>,
    /// The scope a caller needs to read the console's API (its status shows every server,
    /// tool and recent call): an operator's, not every MCP client's.
    pub console_scope: String,
    /// Trusted issuers, in file order.
    pub issuers: Vec<Issuer>,
}

/// One trusted token issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The exact `iss` claim.
    pub issuer: String,
    /// The issuer's JSON Web Key Set (http or https).
    pub jwks_uri: Url,
    /// Accepted `aud` values (a token needs one of them).
    pub audiences: Vec<String>,
    /// Allowed clock difference for `exp` and `nbf`.
    pub clock_skew: Duration,
    /// How long Envoy caches the key set; a rotated-in key is seen at most this late.
    pub jwks_cache_duration: Duration,
}

impl Auth {
    /// Where the protected-resource metadata (RFC 9728) of `resource` is served: the
    /// well-known path inserted between the resource URL's authority and its path
    /// (`http://gw/mcp` -> `http://gw/.well-known/oauth-protected-resource/mcp`).
    pub fn resource_metadata_url(&self) -> String {
        let url = &self.resource;
        let path = url.path().trim_end_matches('/');
        format!(
            "{}{WELL_KNOWN_METADATA}{path}",
            url.origin().ascii_serialization()
        )
    }

    /// The scopes every token needs, space-separated (as `scope` in `WWW-Authenticate`).
    pub fn scope_list(&self) -> String {
        self.required_scopes.join(" ")
    }

    /// The `WWW-Authenticate` value (RFC 6750, RFC 9728) of a refused request: `error` is
    /// `invalid_token` (a token was given), `insufficient_scope`, or `None` (no token);
    /// `description` says why, for `error_description`. Router and broker both answer with it.
    pub fn challenge(&self, error: Option<&str>, description: Option<&str>) -> String {
        let mut params = Vec::with_capacity(4);
        if let Some(error) = error {
            params.push(format!("error=\"{}\"", quoted(error)));
            if let Some(description) = description {
                params.push(format!("error_description=\"{}\"", quoted(description)));
            }
        }
        if !self.required_scopes.is_empty() {
            params.push(format!("scope=\"{}\"", quoted(&self.scope_list())));
        }
        params.push(format!(
            "resource_metadata=\"{}\"",
            quoted(&self.resource_metadata_url())
        ));
        format!("Bearer {}", params.join(", "))
    }
}

/// Text safe inside a quoted-string: no quotes, backslashes or control characters.
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

/// The well-known path of protected-resource metadata (RFC 9728).
const WELL_KNOWN_METADATA: &str = mcp_gateway_protocol::transport::OAUTH_METADATA_PATH;

impl From<&Auth> for RawAuth {
    fn from(auth: &Auth) -> Self {
        Self {
            resource: Some(auth.resource.to_string()),
            resource_name: Some(auth.resource_name.clone()),
            required_scopes: auth.required_scopes.clone(),
            console_scope: Some(auth.console_scope.clone()),
            issuers: auth
                .issuers
                .iter()
                .map(|issuer| RawIssuer {
                    issuer: Some(issuer.issuer.clone()),
                    jwks_uri: Some(issuer.jwks_uri.to_string()),
                    audiences: issuer.audiences.clone(),
                    clock_skew: Some(format!("{}s", issuer.clock_skew.as_secs())),
                    jwks_cache_duration: Some(format!("{}s", issuer.jwks_cache_duration.as_secs())),
                })
                .collect(),
        }
    }
}

/// Validates `auth:`, pushing every broken rule to `errors`.
pub(crate) fn validate(raw: RawAuth, errors: &mut Vec<FieldError>) -> Option<Auth> {
    let before = errors.len();
    let mut report = |path: String, value: Option<&str>, message: &str| {
        errors.push(FieldError::at(path, value, message.to_owned()));
    };
    let resource = match raw.resource.as_deref() {
        None => {
            report("auth.resource".into(), None, "is required");
            None
        }
        Some(text) => match http_url(text) {
            Ok(url) => Some(url),
            Err(problem) => {
                report("auth.resource".into(), Some(text), problem);
                None
            }
        },
    };
    if let Some(scope) = &raw.console_scope
        && !valid_scope(scope)
    {
        report(
            "auth.consoleScope".into(),
            Some(scope),
            "must be a non-empty scope without spaces or quotes",
        );
    }
    for (i, scope) in raw.required_scopes.iter().enumerate() {
        if !valid_scope(scope) {
            report(
                format!("auth.requiredScopes[{i}]"),
                Some(scope),
                "must be a non-empty scope without spaces or quotes",
            );
        }
    }
    if raw.issuers.is_empty() {
        report("auth.issuers".into(), None, "must list at least one issuer");
    }
    let mut issuers = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, issuer) in raw.issuers.into_iter().enumerate() {
        let at = |field: &str| format!("auth.issuers[{i}].{field}");
        let name = match issuer.issuer {
            Some(name) if !name.is_empty() => {
                if seen.contains(&name) {
                    report(at("issuer"), Some(&name), "is listed twice");
                }
                seen.push(name.clone());
                Some(name)
            }
            other => {
                report(at("issuer"), other.as_deref(), "is required");
                None
            }
        };
        let jwks_uri = match issuer.jwks_uri.as_deref() {
            None => {
                report(at("jwksUri"), None, "is required");
                None
            }
            Some(text) => http_url(text)
                .map_err(|problem| report(at("jwksUri"), Some(text), problem))
                .ok(),
        };
        for (j, audience) in issuer.audiences.iter().enumerate() {
            if audience.is_empty() {
                report(at(&format!("audiences[{j}]")), Some(audience), "is empty");
            }
        }
        let mut duration = |field: &str, text: Option<String>, default: Duration| match text {
            None => Some(default),
            Some(text) => parse_duration(&text)
                .map_err(|problem| report(at(field), Some(&text), problem))
                .ok(),
        };
        let clock_skew = duration("clockSkew", issuer.clock_skew, DEFAULT_CLOCK_SKEW);
        let cache = duration(
            "jwksCacheDuration",
            issuer.jwks_cache_duration,
            DEFAULT_JWKS_CACHE_DURATION,
        );
        if clock_skew.is_some_and(|skew| skew > MAX_CLOCK_SKEW) {
            report(at("clockSkew"), None, "must be at most 10m");
        }
        if clock_skew.is_some_and(|skew| skew.is_zero()) {
            // Envoy reads 0 as "unset", which is its default of 60 s.
            report(at("clockSkew"), None, "must be at least 1s");
        }
        if cache.is_some_and(|d| d.is_zero()) {
            report(at("jwksCacheDuration"), None, "must be at least 1s");
        }
        if let (Some(issuer_name), Some(jwks_uri), Some(resource), Some(clock_skew), Some(cache)) =
            (name, jwks_uri, &resource, clock_skew, cache)
        {
            let audiences = if issuer.audiences.is_empty() {
                vec![resource.to_string()]
            } else {
                issuer.audiences
            };
            issuers.push(Issuer {
                issuer: issuer_name,
                jwks_uri,
                audiences,
                clock_skew,
                jwks_cache_duration: cache,
            });
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(Auth {
        resource: resource?,
        resource_name: raw
            .resource_name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_RESOURCE_NAME.to_owned()),
        required_scopes: raw.required_scopes,
        console_scope: raw
            .console_scope
            .unwrap_or_else(|| DEFAULT_CONSOLE_SCOPE.to_owned()),
        issuers,
    })
}

fn valid_scope(scope: &str) -> bool {
    !scope.is_empty() && !scope.chars().any(|c| c.is_whitespace() || c == '"')
}

fn http_url(text: &str) -> Result<Url, &'static str> {
    let url = Url::parse(text).map_err(|_| "is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http or https URL with a host");
    }
    Ok(url)
}

/// `90`, `90s`, `5m` or `1h`.
fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    const PROBLEM: &str = "must be a whole number of seconds, or end in s, m or h";
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = digits.parse().map_err(|_| PROBLEM)?;
    let seconds = match unit {
        's' => n,
        'm' => n.saturating_mul(60),
        'h' => n.saturating_mul(3600),
        _ => return Err(PROBLEM),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests;
