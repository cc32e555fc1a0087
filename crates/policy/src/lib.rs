//! Authorization: which verified callers may list and use which tools, prompts and resources.
//!
//! The rules come from the config's `policy:` section ([`mcp_gateway_config::Policy`]), whose
//! patterns are compiled once when the config is validated. Deciding is two steps:
//!
//! 1. [`Access::of`] finds the rules whose `when:` the caller meets, once per request, as a
//!    128-bit [`Class`]. Callers with equal classes are allowed exactly the same things, so
//!    the catalog keeps one filtered view of its lists per ([`Policy::fingerprint`], class)
//!    ([`Access::view_key`]) and a 10,000-tool list is filtered once, not per request.
//! 2. [`Access::check`] decides one item: a matching rule's `deny:` that covers it refuses it
//!    (that rule is named); else the first matching rule (file order) whose `allow:` covers it
//!    allows it; else it is refused by default (no rule).
//!
//! Without a policy every caller may use everything ([`Access::Unrestricted`]), as before
//! policies existed.
//!
//! [`Policy::fingerprint`]: mcp_gateway_config::Policy::fingerprint

mod access;
mod class;
mod scope;

pub use access::{Access, Verdict, offering};
pub use class::Class;
pub use scope::Scope;
