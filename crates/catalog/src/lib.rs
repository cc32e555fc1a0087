//! The discovered catalog: which backend owns each exposed tool name.
//!
//! The broker's upstream managers publish what each backend offers ([`ServerTools`]); the store
//! rebuilds one immutable [`Catalog`] and swaps it in atomically. The router reads it without
//! locks on every `tools/call`, and the broker serves its pre-serialised tool list.

mod catalog;
mod store;

pub use catalog::{Catalog, ServerStatus, ToolRoute};
pub use store::{CatalogStore, ServerTools};
