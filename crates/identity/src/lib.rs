//! Who is calling: the [`Caller`] that router, broker, policy and credentials share.
//!
//! # Where a caller comes from
//!
//! Nothing in the gateway decodes a token. Envoy's own `jwt_authn` filter verifies it
//! (signature against the issuer's JWKS, issuer, audience, expiry with the configured clock
//! skew) and the gateway only reads what Envoy verified:
//!
//! 1. **Envoy → router.** `jwt_authn` runs after `header_mutation` (which strips client
//!    `x-mcp-*` headers) and before the router's `ext_proc` filter. Each provider writes the
//!    verified payload into dynamic metadata, namespace [`JWT_AUTHN_NAMESPACE`], key
//!    [`PAYLOAD_METADATA_KEY`], and the reason for a failed verification under
//!    [`FAILURE_METADATA_KEY`]. The filter lets missing and failed tokens through (the
//!    requirement is `allow_missing_or_failed`) so that the router, which has read the body,
//!    answers 401/403 as a JSON-RPC error carrying the request id. The `ext_proc` filter
//!    forwards that namespace (`metadata_options.forwarding_namespaces.untyped`); the router
//!    turns the payload (a protobuf `Struct`) into JSON and calls [`Caller::from_claims`], then
//!    [`Caller::with_token`] with the request's `Authorization` header (which `jwt_authn`
//!    verified). No payload while auth is on means no verified token: 401.
//! 2. **Router → broker.** For requests it sends to the broker, the router sets
//!    [`CALLER_HEADER`] to [`Caller::to_forwarded`] after removing every client copy of an
//!    `x-mcp-*` header; the broker reads it back with [`Caller::from_forwarded`]. The broker is
//!    reachable only through Envoy (loopback in standalone mode, a NetworkPolicy in
//!    Kubernetes), so no one else can set it.
//! 3. **Sessions.** A gateway session id is minted and verified with
//!    [`Caller::session_subject`] (issuer + subject) in its MAC, so a stolen id presented by
//!    another caller, or by none, fails exactly as an unknown id does.
//!
//! The bearer token travels inside a `Caller` only as a [`BearerToken`], whose `Debug` and
//! `Display` are redacted; credential code (token exchange, configured passthrough) reads it
//! with [`BearerToken::expose`].

mod caller;
mod error;
mod forwarded;
mod token;

pub use caller::Caller;
pub use error::IdentityError;
pub use forwarded::CALLER_HEADER;
pub use token::BearerToken;

/// The dynamic-metadata namespace Envoy's `jwt_authn` filter writes to.
pub const JWT_AUTHN_NAMESPACE: &str = "envoy.filters.http.jwt_authn";

/// The key under [`JWT_AUTHN_NAMESPACE`] holding a verified token's payload
/// (`payload_in_metadata` of every provider the gateway renders).
pub const PAYLOAD_METADATA_KEY: &str = "jwt_payload";

/// The request header in which `jwt_authn` forwards a verified token's payload
/// (`forward_payload_header`, base64url JSON), for a data plane that cannot read dynamic
/// metadata (the Envoy module). An internal header: clients' copies are removed before
/// `jwt_authn` runs, and the routing core removes it before any backend or the broker.
pub const PAYLOAD_HEADER: &str = "x-mcp-jwt-payload";

/// The key under [`JWT_AUTHN_NAMESPACE`] holding why a token failed verification
/// (`failed_status_in_metadata`: `{code, message}`).
pub const FAILURE_METADATA_KEY: &str = "jwt_failure";
