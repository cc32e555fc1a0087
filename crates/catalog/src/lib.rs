//! The discovered catalog: which backend owns each exposed tool, prompt and resource.
//!
//! The broker's upstream managers publish what each backend offers ([`ServerOffer`]); the
//! store rebuilds one immutable [`Catalog`] and swaps it in atomically. The router reads it
//! without locks on every routed request, and the broker serves its pre-serialised lists.
//!
//! Exposed names: tools and prompts are `toolPrefix + name`; resource URIs and URI templates
//! carry the prefix after their scheme (see `mcp_gateway_protocol::uri`).

mod catalog;
mod era;
mod kind;
mod links;
mod listing;
mod store;
mod view;

pub use catalog::{Capabilities, Catalog, Route, ServerStatus};
pub use era::BackendProtocol;
pub use kind::ListKind;
pub use links::LinkOwner;
pub use listing::{Listing, Page};
pub use store::{CatalogStore, ServerOffer};
pub use view::{View, ViewKey};
