//! The validated configuration and its lookups.

use std::collections::HashMap;
use std::path::Path;

use mcp_gateway_protocol::TransportError;
use url::Url;

use crate::auth::{self, Auth};
use crate::credentials::{self, Credentials, TokenClient};
use crate::error::ConfigError;
use crate::policy::{self, Policy};
use crate::raw::RawConfig;
use crate::stdio::StdioCommand;
use crate::traffic::Traffic;
use crate::validation;
use crate::virtual_server::{self, VirtualServer};

/// A validated, immutable gateway configuration. Share it as `Arc<Config>`.
///
/// Holding one guarantees: names are unique; URLs are http(s) with a host; hostnames
/// are DNS names or IPv4 addresses, unique among enabled servers; prefixes are legal
/// tool-name characters and no enabled server's prefix starts another's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    servers: Vec<Server>,
    auth: Option<Auth>,
    policy: Option<Policy>,
    token_client: Option<TokenClient>,
    virtual_servers: HashMap<String, VirtualServer>,
    /// Whether some virtual server has a hostname (else the host is never looked at).
    virtual_hosts: bool,
}

/// One backend MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Unique name, `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 63 characters.
    pub name: String,
    /// The backend's MCP endpoint (http or https).
    pub url: Url,
    /// What Envoy routes this server by (`:authority`); the URL's host unless set.
    pub hostname: String,
    /// Disabled servers are kept in the config but never routed to.
    pub enabled: bool,
    /// Prepended to the server's tool and prompt names; may be empty.
    pub tool_prefix: String,
    /// What the gateway presents to this backend; `None`: no credential at all.
    pub credentials: Option<Credentials>,
    /// Timeouts, retries, circuit breaking, outlier detection and rate limits.
    pub traffic: Traffic,
    /// A stdio server's command; then `url` is its bridge's loopback endpoint.
    pub command: Option<StdioCommand>,
    /// Which protocol era the gateway assumes the backend speaks (`protocol:`).
    pub protocol: ProtocolChoice,
}

/// A server's `protocol:`: whether discovery finds out which MCP protocol eras the backend
/// speaks, or the config says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProtocolChoice {
    /// `auto` (the default): discovery asks `server/discover`; a backend that answers speaks
    /// 2026-07-28, one that also accepts `initialize` speaks both eras.
    #[default]
    Auto,
    /// `legacy`: treat the backend as 2025-era even if it speaks 2026-07-28: no
    /// `server/discover` probe, and 2026-07-28 clients reach it through held sessions. For a
    /// backend whose 2026 side is immature, or that handles an unknown method badly.
    Legacy,
    /// `modern`: treat the backend as 2026-07-28 only: discovery never opens a session on
    /// it, and a failed `server/discover` marks it unhealthy with that error rather than
    /// falling back to `initialize`.
    Modern,
}

impl ProtocolChoice {
    /// The value as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Legacy => "legacy",
            Self::Modern => "modern",
        }
    }

    /// Parses a config value; `None` for anything but `auto`, `legacy` and `modern`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Auto, Self::Legacy, Self::Modern]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

impl Server {
    /// The backend's own name for an exposed tool name: `exposed` minus this server's
    /// prefix, or `None` if `exposed` does not carry the prefix or nothing follows it.
    pub fn tool_name<'a>(&self, exposed: &'a str) -> Option<&'a str> {
        exposed
            .strip_prefix(self.tool_prefix.as_str())
            .filter(|rest| !rest.is_empty())
    }
}

impl Config {
    /// A configuration with no servers.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses and validates YAML text. It must hold a `servers:` list: empty text is an
    /// error ([`ConfigError::NoServers`]), `servers: []` a valid config with no servers.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        Self::from_yaml_slice(text.as_bytes())
    }

    /// Parses and validates YAML bytes (which must be UTF-8); see [`Self::from_yaml`].
    pub fn from_yaml_slice(bytes: &[u8]) -> Result<Self, ConfigError> {
        let yaml = |source| ConfigError::Yaml { path: None, source };
        // A file being written, or emptied by mistake, must not read as "no servers" and
        // take every tool away: only an explicit list counts.
        let listed: Option<ServersKey> = serde_yaml::from_slice(bytes).map_err(yaml)?;
        if listed.and_then(|key| key.servers).is_none() {
            return Err(ConfigError::NoServers { path: None });
        }
        let raw: RawConfig = serde_yaml::from_slice(bytes).map_err(yaml)?;
        Self::try_from(raw)
    }

    /// Reads, parses and validates a file, following symlinks. Errors name the file.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_slice(&bytes).map_err(|e| e.in_file(path))
    }

    /// Caller authentication, when `auth:` is set; `None`: callers are anonymous.
    pub fn auth(&self) -> Option<&Auth> {
        self.auth.as_ref()
    }

    /// Who may list and use what, when `policy:` is set; `None`: everything is allowed.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    /// The gateway's own OAuth client, when `tokenClient:` is set.
    pub fn token_client(&self) -> Option<&TokenClient> {
        self.token_client.as_ref()
    }

    /// The virtual server served on `/v/<name>/mcp`, if one has this name.
    pub fn virtual_server(&self, name: &str) -> Option<&VirtualServer> {
        self.virtual_servers.get(name)
    }

    /// The virtual server a request addresses: the one its path names (`/v/<name>/mcp`:
    /// `path_name`), else on `/mcp` the one whose hostname is the request's `authority`
    /// (a port is ignored); `None` for plain `/mcp`. A path naming no configured virtual server
    /// is [`TransportError::UnknownVirtualServer`]. Router and broker both decide this here.
    pub fn virtual_server_for(
        &self,
        path_name: Option<&str>,
        authority: Option<&str>,
    ) -> Result<Option<&VirtualServer>, TransportError> {
        if let Some(name) = path_name {
            return self
                .virtual_server(name)
                .map(Some)
                .ok_or_else(|| TransportError::UnknownVirtualServer(name.to_owned()));
        }
        let Some(authority) = authority.filter(|_| self.virtual_hosts) else {
            return Ok(None);
        };
        let host = authority
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(authority, |(host, _)| host);
        Ok(self
            .virtual_servers
            .values()
            .find(|v| v.hostnames.iter().any(|h| h.eq_ignore_ascii_case(host))))
    }

    /// Every virtual server, sorted by name.
    pub fn virtual_servers(&self) -> impl Iterator<Item = &VirtualServer> {
        let mut all: Vec<&VirtualServer> = self.virtual_servers.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all.into_iter()
    }

    /// Every server, enabled or not, in file order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The servers that are routed to, in file order.
    pub fn enabled_servers(&self) -> impl Iterator<Item = &Server> {
        self.servers.iter().filter(|s| s.enabled)
    }

    /// The server with this exact name, enabled or not.
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The enabled server routed by `hostname`, compared case-insensitively.
    pub fn server_by_hostname(&self, hostname: &str) -> Option<&Server> {
        self.enabled_servers()
            .find(|s| s.hostname.eq_ignore_ascii_case(hostname))
    }

    /// The enabled server an exposed tool name belongs to by prefix alone: the one
    /// whose non-empty prefix starts the name, else the single enabled server with an
    /// empty prefix. This is the fallback when discovery has not built a routing table.
    /// The name must be longer than the prefix.
    pub fn server_for_tool(&self, exposed_tool: &str) -> Option<&Server> {
        // Validation guarantees at most one enabled prefix matches, and an empty
        // prefix only on a server that is the only one enabled.
        self.enabled_servers()
            .find(|s| s.tool_name(exposed_tool).is_some())
    }
}

/// Whether a document has a non-null `servers` key, whatever its content.
#[derive(serde::Deserialize)]
struct ServersKey {
    #[serde(default)]
    servers: Option<serde::de::IgnoredAny>,
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(mut raw: RawConfig) -> Result<Self, ConfigError> {
        let raw_auth = raw.auth.take();
        let raw_policy = raw.policy.take();
        let raw_token_client = raw.token_client.take();
        let raw_virtual = std::mem::take(&mut raw.virtual_servers);
        let auth_given = raw_auth.is_some();
        let (servers, mut errors) = match validation::validate(raw) {
            Ok(servers) => (servers, Vec::new()),
            Err(errors) => (Vec::new(), errors),
        };
        let servers_valid = errors.is_empty();
        let auth = raw_auth.and_then(|raw| auth::validate(raw, &mut errors));
        let policy = raw_policy.and_then(|raw| policy::validate(raw, &mut errors));
        let token_client =
            credentials::validate_token_client(raw_token_client, &servers, &mut errors);
        credentials::require_auth(auth_given, &servers, &mut errors);
        // Checked against the servers only when those are valid (else every name is unknown).
        let virtual_servers = if servers_valid {
            virtual_server::validate(raw_virtual, &servers, &mut errors)
        } else {
            HashMap::new()
        };
        let virtual_hosts = virtual_servers.values().any(|v| !v.hostnames.is_empty());
        if errors.is_empty() {
            Ok(Self {
                servers,
                auth,
                policy,
                token_client,
                virtual_servers,
                virtual_hosts,
            })
        } else {
            Err(ConfigError::Invalid { path: None, errors })
        }
    }
}

#[cfg(test)]
mod tests;
