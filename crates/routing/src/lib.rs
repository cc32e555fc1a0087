//! The routing core, shared by the ext_proc router and the Envoy module. It depends on
//! neither gRPC nor Envoy's protobufs nor an HTTP client: each phase of a request goes
//! through [`Policy`] with the request's [`RequestContext`] and comes back as a plain-data
//! [`Plan`] that each data plane translates into its own wire form.
//!
//! - [`decide`] is the pure routing decision over one parsed body;
//! - [`Policy`] runs the phases: transport checks, the decision, the backend session (through
//!   [`Backends`]), the body splice, headers and [`RouteMetadata`];
//! - `answer` (with `sse`) rewrites the answers the core watches.
//!
//! Requests owned by one backend (`tools/call`) get the tool prefix spliced out of the body,
//! the gateway session id swapped for the backend's, `:authority` set to the backend's
//! hostname and the route picked again; everything else goes to the broker untouched.

mod answer;
mod authn;
mod authz;
mod backends;
mod classes;
mod context;
mod credential;
pub mod decision;
mod error;
pub mod held;
mod legacy_client;
mod lost;
mod metadata;
mod method;
mod mrtr;
mod plan;
mod policy;
mod replay;
pub mod sidecar;
mod sse;
mod subset;

pub use authn::{Authn, Denial};
pub use backends::{Backends, Opened, SessionClient};
pub use context::RequestContext;
pub use credential::CredentialHeader;
pub use decision::{Addressed, Decision, Target, decide};
pub use error::RouteError;
pub use held::Held;
pub use metadata::{FieldValue, METADATA_NAMESPACE, Rewrite, RouteMetadata};
pub use method::{Method, RESPONSE_LABEL, RESUME_LABEL};
pub use plan::{Plan, Reject, Respond, Route};
pub use policy::Policy;
