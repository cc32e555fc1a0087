//! Credentials the gateway presents to backends: a server's `credentials:` block and the
//! gateway's own OAuth client (`tokenClient:`), which token exchange and client credentials
//! use.
//!
//! ```yaml
//! tokenClient:                          # needed by tokenExchange and clientCredentials
//!   tokenEndpoint: http://127.0.0.1:8890/token
//!   clientId: mcp-gateway
//!   clientSecret: {file: /run/secrets/gateway-client-secret}   # or {env: NAME}
//! servers:
//!   - name: weather
//!     url: http://weather:8080/mcp
//!     credentials:
//!       static:                         # a fixed header, from a file (re-read when it changes)
//!         header: X-Api-Key             # default Authorization
//!         prefix: ""                    # default "" (write "Bearer " for a bearer token)
//!         value: {file: /run/secrets/weather-key}   # or {env: NAME}; {inline: "..."} if you must
//!   - name: calendar
//!     url: http://calendar:8080/mcp
//!     credentials:
//!       tokenExchange:                  # RFC 8693, on behalf of the caller
//!         resource: http://calendar:8080/mcp   # default: the server's url
//!         audience: calendar            # optional
//!         scope: "calendar.read"        # optional
//!         discovery: clientCredentials  # default; or none
//!   - name: search
//!     credentials:
//!       clientCredentials: {resource: http://search/mcp, scope: search}
//!   - name: legacy
//!     credentials:
//!       passthrough: {discovery: none}  # the caller's own token; discovery: none (default)
//! ```
//!
//! Without `credentials:` a backend gets no credential at all, and never the client's
//! `Authorization`.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::Server;
use crate::error::FieldError;

/// The header a static credential goes in when `header` is not set.
pub const DEFAULT_CREDENTIAL_HEADER: &str = mcp_gateway_protocol::transport::AUTHORIZATION;

/// Where a secret comes from, as written: exactly one of `file`, `env`, `inline`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawSecret {
    /// A file holding the secret (surrounding whitespace is ignored); re-read when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// An environment variable of the gateway holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The secret itself, in the config file. Discouraged: prefer `file` or `env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

impl fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSecret")
            .field("file", &self.file)
            .field("env", &self.env)
            .field("inline", &self.inline.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `tokenClient:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawTokenClient {
    /// The issuer's token endpoint. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The gateway's client id. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The gateway's client secret. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<RawSecret>,
}

/// A server's `credentials:` as written: exactly one mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawCredentials {
    /// A fixed header.
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub static_header: Option<RawStatic>,
    /// RFC 8693 token exchange of the caller's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange: Option<RawTokenRequest>,
    /// The gateway's own token (client credentials grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_credentials: Option<RawTokenRequest>,
    /// The caller's own token, unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough: Option<RawPassthrough>,
}

/// `credentials.static` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawStatic {
    /// Header name; default `Authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Written before the secret (`"Bearer "`); default empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The secret. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<RawSecret>,
}

/// `credentials.tokenExchange` or `credentials.clientCredentials` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawTokenRequest {
    /// RFC 8707 `resource`; default the server's URL when `audience` is not set either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// RFC 8693 `audience`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Space-separated scopes to ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Token exchange only: what discovery (no caller) uses, `clientCredentials` (default)
    /// or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<String>,
}

/// `credentials.passthrough` as written (`passthrough: {}` for the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawPassthrough {
    /// What discovery (no caller) uses: `none` (default) or `clientCredentials` (with the
    /// server's URL as `resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<String>,
}

/// A validated secret source. `Debug` never shows an inline secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// Read from this file, and again whenever it changes.
    File(PathBuf),
    /// Read from this environment variable.
    Env(String),
    /// Written in the config file.
    Inline(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Env(name) => f.debug_tuple("Env").field(name).finish(),
            Self::Inline(_) => f.write_str("Inline(<redacted>)"),
        }
    }
}

/// The gateway's own OAuth client at the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClient {
    /// Where tokens are requested.
    pub token_endpoint: Url,
    /// The gateway's client id (sent with HTTP Basic authentication).
    pub client_id: String,
    /// The gateway's client secret.
    pub client_secret: Secret,
}

/// What a token request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// RFC 8707 `resource`, when sent.
    pub resource: Option<String>,
    /// RFC 8693 `audience`, when sent.
    pub audience: Option<String>,
    /// `scope`, when sent.
    pub scope: Option<String>,
}

/// How one backend is given credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A fixed header value.
    Static {
        /// Lower-case header name.
        header: String,
        /// Written before the secret.
        prefix: String,
        /// The secret.
        value: Secret,
    },
    /// The caller's token exchanged (RFC 8693) for one meant for this backend.
    TokenExchange {
        /// What to ask for.
        request: TokenRequest,
        /// Discovery (no caller) uses a client-credentials token for the same request.
        discovery: bool,
    },
    /// The gateway's own token (client credentials grant).
    ClientCredentials(TokenRequest),
    /// The caller's token, unchanged.
    Passthrough {
        /// Discovery uses a client-credentials token with the server's URL as `resource`.
        discovery: bool,
    },
}

impl Credentials {
    /// The mode's name as written in the config (`static`, `tokenExchange`, ...).
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Static { .. } => "static",
            Self::TokenExchange { .. } => "tokenExchange",
            Self::ClientCredentials(_) => "clientCredentials",
            Self::Passthrough { .. } => "passthrough",
        }
    }

    /// Whether the mode sends something of the caller's (its token, or one exchanged for it),
    /// and so needs `auth:` to have a verified caller at all.
    pub fn needs_caller(&self) -> bool {
        matches!(self, Self::TokenExchange { .. } | Self::Passthrough { .. })
    }

    /// Whether the mode needs `tokenClient:`.
    pub fn needs_token_client(&self) -> bool {
        match self {
            Self::Static { .. } => false,
            Self::TokenExchange { .. } | Self::ClientCredentials(_) => true,
            Self::Passthrough { discovery } => *discovery,
        }
    }
}

impl From<&Secret> for RawSecret {
    fn from(secret: &Secret) -> Self {
        match secret {
            Secret::File(path) => Self {
                file: Some(path.display().to_string()),
                ..Self::default()
            },
            Secret::Env(name) => Self {
                env: Some(name.clone()),
                ..Self::default()
            },
            Secret::Inline(value) => Self {
                inline: Some(value.clone()),
                ..Self::default()
            },
        }
    }
}

impl From<&TokenClient> for RawTokenClient {
    fn from(client: &TokenClient) -> Self {
        Self {
            token_endpoint: Some(client.token_endpoint.to_string()),
            client_id: Some(client.client_id.clone()),
            client_secret: Some(RawSecret::from(&client.client_secret)),
        }
    }
}

impl From<&Credentials> for RawCredentials {
    fn from(credentials: &Credentials) -> Self {
        let request = |r: &TokenRequest, discovery: Option<bool>| RawTokenRequest {
            resource: r.resource.clone(),
            audience: r.audience.clone(),
            scope: r.scope.clone(),
            discovery: discovery.map(discovery_name),
        };
        match credentials {
            Credentials::Static {
                header,
                prefix,
                value,
            } => Self {
                static_header: Some(RawStatic {
                    header: Some(header.clone()),
                    prefix: Some(prefix.clone()),
                    value: Some(RawSecret::from(value)),
                }),
                ..Self::default()
            },
            Credentials::TokenExchange {
                request: r,
                discovery,
            } => Self {
                token_exchange: Some(request(r, Some(*discovery))),
                ..Self::default()
            },
            Credentials::ClientCredentials(r) => Self {
                client_credentials: Some(request(r, None)),
                ..Self::default()
            },
            Credentials::Passthrough { discovery } => Self {
                passthrough: Some(RawPassthrough {
                    discovery: Some(discovery_name(*discovery)),
                }),
                ..Self::default()
            },
        }
    }
}

fn discovery_name(client_credentials: bool) -> String {
    if client_credentials {
        CLIENT_CREDENTIALS.to_owned()
    } else {
        NONE.to_owned()
    }
}

const CLIENT_CREDENTIALS: &str = "clientCredentials";
const NONE: &str = "none";

/// Validates `credentials:` of `servers[index]` (`url` when it parsed), pushing every
/// broken rule to `errors`.
pub(crate) fn validate_server(
    index: usize,
    raw: RawCredentials,
    url: Option<&Url>,
    errors: &mut Vec<FieldError>,
) -> Option<Credentials> {
    let mut problems = Vec::new();
    let credentials = check::credentials(raw, url, &mut problems);
    for (field, value, message) in problems {
        let dot = if field.is_empty() { "" } else { "." };
        let path = format!("servers[{index}].credentials{dot}{field}");
        errors.push(FieldError::at(path, value.as_deref(), message));
    }
    credentials
}

/// Validates `tokenClient:`, and that it is there when a server's credentials need it.
pub(crate) fn validate_token_client(
    raw: Option<RawTokenClient>,
    servers: &[Server],
    errors: &mut Vec<FieldError>,
) -> Option<TokenClient> {
    let given = raw.is_some();
    let mut problems = Vec::new();
    let client = raw.and_then(|raw| check::token_client(raw, &mut problems));
    for (field, value, message) in problems {
        errors.push(FieldError::at(
            format!("tokenClient.{field}"),
            value.as_deref(),
            message,
        ));
    }
    if !given {
        for (i, server) in servers.iter().enumerate() {
            if let Some(credentials) = &server.credentials
                && credentials.needs_token_client()
            {
                errors.push(FieldError::at(
                    format!("servers[{i}].credentials.{}", credentials.mode()),
                    None,
                    "needs tokenClient: (the gateway's own client at the token endpoint)"
                        .to_owned(),
                ));
            }
        }
    }
    client
}

/// Checks that servers whose credentials come from the caller (`tokenExchange`,
/// `passthrough`) have a verified caller to take them from: `auth:` must be configured.
pub(crate) fn require_auth(auth_given: bool, servers: &[Server], errors: &mut Vec<FieldError>) {
    if auth_given {
        return;
    }
    for (i, server) in servers.iter().enumerate() {
        if let Some(credentials) = &server.credentials
            && credentials.needs_caller()
        {
            errors.push(FieldError::at(
                format!("servers[{i}].credentials.{}", credentials.mode()),
                None,
                "needs auth: (it sends the caller's verified token, or one exchanged for it)"
                    .to_owned(),
            ));
        }
    }
}

/// Validation of the raw forms; errors are (field path below the block, value, message).
pub(crate) mod check {
    use super::*;

    /// One broken rule: the field below the block, the offending value, what is wrong.
    pub(crate) type Problem = (String, Option<String>, String);

    /// Validates a secret source at `at`.
    pub(crate) fn secret(raw: &RawSecret, at: &str, problems: &mut Vec<Problem>) -> Option<Secret> {
        let given = [&raw.file, &raw.env, &raw.inline]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given != 1 {
            problems.push((
                at.to_owned(),
                None,
                "must name exactly one of file, env, inline".to_owned(),
            ));
            return None;
        }
        if let Some(file) = &raw.file {
            if file.is_empty() {
                problems.push((format!("{at}.file"), None, "is empty".to_owned()));
                return None;
            }
            return Some(Secret::File(PathBuf::from(file)));
        }
        if let Some(env) = &raw.env {
            if env.is_empty() || env.contains('=') || env.contains('\0') {
                problems.push((
                    format!("{at}.env"),
                    Some(env.clone()),
                    "is not a variable name".to_owned(),
                ));
                return None;
            }
            return Some(Secret::Env(env.clone()));
        }
        let inline = raw.inline.clone().unwrap_or_default();
        if inline.trim().is_empty() || !is_header_text(inline.trim()) {
            // The value itself is never echoed back.
            problems.push((
                format!("{at}.inline"),
                None,
                "must be non-empty visible ASCII".to_owned(),
            ));
            return None;
        }
        Some(Secret::Inline(inline))
    }

    /// Validates `tokenClient:`.
    pub(crate) fn token_client(
        raw: RawTokenClient,
        problems: &mut Vec<Problem>,
    ) -> Option<TokenClient> {
        let before = problems.len();
        let endpoint = match raw.token_endpoint.as_deref() {
            None => {
                problems.push(("tokenEndpoint".into(), None, "is required".into()));
                None
            }
            Some(text) => match Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    problems.push((
                        "tokenEndpoint".into(),
                        Some(text.to_owned()),
                        "must be an http or https URL with a host".into(),
                    ));
                    None
                }
            },
        };
        let client_id = match raw.client_id {
            Some(id) if !id.is_empty() && !id.contains(':') => Some(id),
            other => {
                problems.push((
                    "clientId".into(),
                    other,
                    "is required and may not contain ':'".into(),
                ));
                None
            }
        };
        let secret = match &raw.client_secret {
            None => {
                problems.push(("clientSecret".into(), None, "is required".into()));
                None
            }
            Some(secret) => self::secret(secret, "clientSecret", problems),
        };
        if problems.len() > before {
            return None;
        }
        Some(TokenClient {
            token_endpoint: endpoint?,
            client_id: client_id?,
            client_secret: secret?,
        })
    }

    /// Validates a server's `credentials:`; `url` is the server's URL when it parsed.
    pub(crate) fn credentials(
        raw: RawCredentials,
        url: Option<&Url>,
        problems: &mut Vec<Problem>,
    ) -> Option<Credentials> {
        let modes = [
            raw.static_header.is_some(),
            raw.token_exchange.is_some(),
            raw.client_credentials.is_some(),
            raw.passthrough.is_some(),
        ];
        if modes.iter().filter(|m| **m).count() != 1 {
            problems.push((
                String::new(),
                None,
                "must name exactly one of static, tokenExchange, clientCredentials, passthrough"
                    .into(),
            ));
            return None;
        }
        if let Some(raw) = raw.static_header {
            return static_header(raw, problems);
        }
        if let Some(raw) = raw.token_exchange {
            let discovery = discovery(raw.discovery.as_deref(), true, "tokenExchange", problems)?;
            let request = token_request(raw, url, "tokenExchange", problems)?;
            return Some(Credentials::TokenExchange { request, discovery });
        }
        if let Some(raw) = raw.client_credentials {
            if raw.discovery.is_some() {
                problems.push((
                    "clientCredentials.discovery".into(),
                    raw.discovery.clone(),
                    "is not a field of clientCredentials (discovery uses the same token)".into(),
                ));
                return None;
            }
            let request = token_request(raw, url, "clientCredentials", problems)?;
            return Some(Credentials::ClientCredentials(request));
        }
        let raw = raw.passthrough.unwrap_or_default();
        let discovery = discovery(raw.discovery.as_deref(), false, "passthrough", problems)?;
        Some(Credentials::Passthrough { discovery })
    }

    fn static_header(raw: RawStatic, problems: &mut Vec<Problem>) -> Option<Credentials> {
        let before = problems.len();
        let header = raw
            .header
            .unwrap_or_else(|| DEFAULT_CREDENTIAL_HEADER.to_owned())
            .to_ascii_lowercase();
        if let Some(problem) = header_problem(&header) {
            problems.push(("static.header".into(), Some(header.clone()), problem.into()));
        }
        let prefix = raw.prefix.unwrap_or_default();
        if !prefix.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            problems.push((
                "static.prefix".into(),
                Some(prefix.clone()),
                "must be visible ASCII or spaces".into(),
            ));
        }
        let value = match &raw.value {
            None => {
                problems.push(("static.value".into(), None, "is required".into()));
                None
            }
            Some(secret) => self::secret(secret, "static.value", problems),
        };
        if problems.len() > before {
            return None;
        }
        Some(Credentials::Static {
            header,
            prefix,
            value: value?,
        })
    }

    fn token_request(
        raw: RawTokenRequest,
        url: Option<&Url>,
        mode: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<TokenRequest> {
        let before = problems.len();
        for (field, value) in [
            ("resource", &raw.resource),
            ("audience", &raw.audience),
            ("scope", &raw.scope),
        ] {
            if let Some(value) = value
                && (value.trim().is_empty() || value.chars().any(char::is_control))
            {
                problems.push((
                    format!("{mode}.{field}"),
                    Some(value.clone()),
                    "must be non-empty text without control characters".into(),
                ));
            }
        }
        if let Some(resource) = &raw.resource
            && Url::parse(resource).is_err()
        {
            problems.push((
                format!("{mode}.resource"),
                Some(resource.clone()),
                "must be an absolute URI (RFC 8707)".into(),
            ));
        }
        if problems.len() > before {
            return None;
        }
        let resource = match (raw.resource, &raw.audience) {
            (Some(resource), _) => Some(resource),
            (None, Some(_)) => None,
            (None, None) => url.map(Url::to_string),
        };
        Some(TokenRequest {
            resource,
            audience: raw.audience,
            scope: raw.scope,
        })
    }

    fn discovery(
        raw: Option<&str>,
        default: bool,
        mode: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<bool> {
        match raw {
            None => Some(default),
            Some(CLIENT_CREDENTIALS) => Some(true),
            Some(NONE) => Some(false),
            Some(other) => {
                problems.push((
                    format!("{mode}.discovery"),
                    Some(other.to_owned()),
                    "must be clientCredentials or none".into(),
                ));
                None
            }
        }
    }

    /// Why `name` cannot carry a credential, if it cannot.
    fn header_problem(name: &str) -> Option<&'static str> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Some("must be a header name of A-Z a-z 0-9 -");
        }
        let reserved = [
            "host",
            "content-length",
            "content-type",
            "accept",
            "te",
            "connection",
        ];
        if reserved.contains(&name)
            || name.starts_with("mcp-")
            || name.starts_with("x-mcp-")
            || name.starts_with("x-envoy-")
            || name == "last-event-id"
        {
            return Some("is a header the gateway or Envoy sets itself");
        }
        None
    }

    /// Visible ASCII and spaces: what a header value may hold.
    fn is_header_text(text: &str) -> bool {
        text.bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    }
}

#[cfg(test)]
mod tests;
