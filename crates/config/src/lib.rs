//! Gateway configuration: the YAML file format, its validation, the atomically
//! swapped store every component reads, and the file watcher that hot-reloads it.
//!
//! ```yaml
//! servers:
//!   - name: weather-service
//!     url: http://weather.example.com:8080/mcp
//!     hostname: weather.example.com   # default: the URL's host
//!     enabled: true                   # default: true
//!     toolPrefix: "weather_"          # default: ""; `prefix` is an alias
//!     traffic: {timeout: 30s}         # optional; see the `traffic` module
//! auth:                               # optional; see the `auth` module
//!   resource: http://127.0.0.1:8888/mcp
//!   issuers: [{issuer: http://127.0.0.1:8890, jwksUri: http://127.0.0.1:8890/jwks}]
//! policy:                             # optional; see the `policy` module
//!   rules: [{name: everyone, allow: {tools: ["calc_*"]}}]
//! virtualServers:                     # optional; see the `virtual_server` module
//!   - {name: weather, servers: [weather-service]}   # served on /v/weather/mcp
//! ```
//!
//! Flow: [`RawConfig`] (serde, as written) -> [`Config`] (validated, via `TryFrom`)
//! -> [`ConfigStore`] (swapped atomically) <- [`watch_file`] (polls the file).

mod auth;
mod config;
mod credentials;
mod error;
mod policy;
mod raw;
mod stdio;
mod store;
mod traffic;
mod validation;
mod virtual_server;
mod watcher;

pub use auth::{
    Auth, DEFAULT_CLOCK_SKEW, DEFAULT_JWKS_CACHE_DURATION, DEFAULT_RESOURCE_NAME, Issuer,
    MAX_CLOCK_SKEW, RawAuth, RawIssuer,
};
pub use config::{Config, ProtocolChoice, Server};
pub use credentials::{
    Credentials, DEFAULT_CREDENTIAL_HEADER, RawCredentials, RawPassthrough, RawSecret, RawStatic,
    RawTokenClient, RawTokenRequest, Secret, TokenClient, TokenRequest,
};
pub use error::{ConfigError, FieldError};
pub use policy::{
    MAX_RULES, Offering, Pattern, Policy, RawPolicy, RawRule, RawTargets, RawWhen, Rule, Targets,
    When,
};
pub use raw::{RawConfig, RawServer};
pub use stdio::StdioCommand;
pub use store::ConfigStore;
pub use traffic::{
    DEFAULT_BASE_EJECTION_TIME, DEFAULT_CIRCUIT_LIMIT, DEFAULT_CONNECT_RETRIES,
    DEFAULT_CONSECUTIVE_GATEWAY_ERRORS, DEFAULT_MAX_EJECTION_TIME, DEFAULT_TIMEOUT, Limit,
    MAX_CONNECT_RETRIES, MAX_RATE_WINDOW, OutlierDetection, RateLimit, RawLimit,
    RawOutlierDetection, RawRateLimit, RawTraffic, Traffic,
};
pub use validation::{MAX_HOSTNAME_LEN, MAX_LABEL_LEN, MAX_NAME_LEN, MAX_PREFIX_LEN};
pub use virtual_server::{
    RawVirtualServer, VirtualServer, binding_virtual_server, session_binding,
};
pub use watcher::watch_file;
