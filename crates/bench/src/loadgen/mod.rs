//! `mcp-loadgen`: an MCP client for load. It opens sessions first (`initialize` +
//! `notifications/initialized`), then sends requests round-robin over them, each checked to be
//! the JSON-RPC result for its id.
//!
//! - [`run_closed`]: fixed concurrency, as fast as answers come (throughput).
//! - [`run_open`]: fixed rate, latency from the scheduled send time (latency without
//!   coordinated omission).
//! - [`run_batch`] and [`open_sessions`]: fixed amounts of work for the scale scenarios.
//!
//! HTTP/1.1 keep-alive over hyper, one request in flight per connection.

mod batch;
mod closed;
mod connection;
mod job;
mod mcp;
mod open;
mod recorder;
mod target;

pub use batch::{Batch, Opened, open_sessions, run_batch};
pub use closed::{ClosedLoop, run_closed};
pub use connection::{Conn, Reply};
pub use job::Run;
pub use mcp::{Call, PROTOCOL_VERSION, Session, check, exchange, get, initialize, post};
pub use open::{OpenLoop, run_open};
pub use recorder::{Percentiles, Recorder, Summary};
pub use target::Target;
