//! The configuration file as written: serde types with no rules applied.
//!
//! Every field is optional here so that validation can report all missing and bad
//! fields at once instead of stopping at the first one. Unknown keys are ignored, for
//! compatibility with the upstream MCP Gateway format.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::auth::RawAuth;
use crate::credentials::{RawCredentials, RawTokenClient};
use crate::policy::RawPolicy;
use crate::traffic::{RawTraffic, Traffic};
use crate::virtual_server::RawVirtualServer;
use crate::{Config, ProtocolChoice};

/// The whole file: `servers:`, `auth:`, `policy:`, `tokenClient:` and `virtualServers:`,
/// nothing else that the gateway reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawConfig {
    /// Backend MCP servers, in file order. Missing or `null` means none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub servers: Vec<RawServer>,
    /// Caller authentication (`auth:`); missing or `null` means off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<RawAuth>,
    /// Who may list and use what (`policy:`); missing or `null` means everything is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<RawPolicy>,
    /// The gateway's own OAuth client (`tokenClient:`), for backend credentials.
    #[serde(
        default,
        rename = "tokenClient",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_client: Option<RawTokenClient>,
    /// Named endpoints exposing a subset (`virtualServers:`); missing or `null` means none.
    #[serde(
        default,
        rename = "virtualServers",
        alias = "virtual_servers",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub virtual_servers: Vec<RawVirtualServer>,
}

/// One entry of `servers:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawServer {
    /// Unique server name. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Backend MCP endpoint, `http` or `https`. Required unless `command` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A stdio server's program, run by the gateway instead of reaching a `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A stdio server's arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Variables added to a stdio server's environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// A stdio server's working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// The loopback port of a stdio server's bridge. Required with `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Host Envoy routes this server by (`:authority`). Missing or empty: the URL's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Whether the server is routed to. Missing: `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Prepended to the server's tool and prompt names. Missing: empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_prefix: Option<String>,
    /// Alias of `toolPrefix`; setting both is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// What the gateway presents to this backend. Missing: nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<RawCredentials>,
    /// Timeouts, retries, circuit breaking, outlier detection, rate limits. Missing: defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<RawTraffic>,
    /// Which MCP protocol era the backend speaks: `auto` (missing), `legacy` or `modern`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// Writes a validated config back in the file format (what the controller publishes).
impl From<&Config> for RawConfig {
    fn from(config: &Config) -> Self {
        let servers = config
            .servers()
            .iter()
            .map(|server| {
                let (url, command) = match &server.command {
                    Some(command) => (None, RawServer::from(command)),
                    None => (Some(server.url.to_string()), RawServer::default()),
                };
                RawServer {
                    name: Some(server.name.clone()),
                    url,
                    hostname: Some(server.hostname.clone()),
                    enabled: Some(server.enabled),
                    tool_prefix: Some(server.tool_prefix.clone()),
                    prefix: None,
                    credentials: server.credentials.as_ref().map(RawCredentials::from),
                    traffic: (server.traffic != Traffic::default())
                        .then(|| (&server.traffic).into()),
                    protocol: (server.protocol != ProtocolChoice::Auto)
                        .then(|| server.protocol.as_str().to_owned()),
                    ..command
                }
            })
            .collect();
        Self {
            servers,
            auth: config.auth().map(RawAuth::from),
            policy: config.policy().map(RawPolicy::from),
            token_client: config.token_client().map(RawTokenClient::from),
            virtual_servers: config
                .virtual_servers()
                .map(RawVirtualServer::from)
                .collect(),
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
