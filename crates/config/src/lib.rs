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
//! ```
//!
//! Flow: [`RawConfig`] (serde, as written) -> [`Config`] (validated, via `TryFrom`)
//! -> [`ConfigStore`] (swapped atomically) <- [`watch_file`] (polls the file).

mod config;
mod error;
mod raw;
mod store;
mod validation;
mod watcher;

pub use config::{Config, Server};
pub use error::{ConfigError, FieldError};
pub use raw::{RawConfig, RawServer};
pub use store::ConfigStore;
pub use validation::{MAX_HOSTNAME_LEN, MAX_LABEL_LEN, MAX_NAME_LEN, MAX_PREFIX_LEN};
pub use watcher::watch_file;
