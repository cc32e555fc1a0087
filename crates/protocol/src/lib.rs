//! JSON-RPC / MCP message views over a request body, byte-splicing rewrites,
//! JSON-RPC error bodies and the gateway's naming rules.
//!
//! Everything here is pure and runs on the router's hot path: a body is parsed
//! once into borrowed views ([`Message`]), a rewrite replaces only the bytes of
//! one JSON token ([`splice_str`]) and every other byte of the body is left
//! exactly as the client sent it. No function in this crate panics on any input.
//! See `README.md` for why the gateway splices instead of re-serialising.

pub mod asks;
pub mod codes;
mod envelope;
mod error;
mod error_body;
pub mod events;
pub mod handoff;
mod json_str;
mod message;
pub mod methods;
pub mod modern;
pub mod naming;
pub mod origin;
mod params;
mod scan;
pub mod server_request;
mod splice;
pub mod tasks;
pub mod to_client;
pub mod transport;
pub mod upgrade;
pub mod uri;
pub mod uri_template;
pub mod versions;

pub use error::{ProtocolError, TransportError};
pub use error_body::error_body;
pub use message::{Kind, Message, StrField};
pub use scan::{DEFAULT_MAX_DEPTH, Limits};
pub use splice::{splice_raw, splice_str};
pub use to_client::ToClient;
