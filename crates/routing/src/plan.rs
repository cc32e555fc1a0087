//! What the routing core tells a data plane to do with one phase of a request, as plain
//! data. The ext_proc router turns a plan into a gRPC message, the Envoy module into ABI
//! calls; neither decides anything itself.

use mcp_gateway_protocol::{error_body, transport};

use crate::RouteError;
use crate::credential::CredentialHeader;
use crate::metadata::RouteMetadata;

/// What to do with one phase.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Let it go on unchanged.
    Continue,
    /// Answer the client directly with a JSON-RPC error.
    Reject(Reject),
    /// Change the request and have Envoy pick its route again.
    Route(Route),
    /// Change the response's headers, and maybe watch its body.
    Respond(Respond),
}

/// A request's changes. The route is picked again whenever `clear_route` is set.
#[derive(Debug, Default, PartialEq)]
pub struct Route {
    /// Headers to set, overwriting.
    pub set: Vec<(&'static str, Vec<u8>)>,
    /// Headers to remove.
    pub remove: Vec<String>,
    /// The backend's credential, to set (overwriting) after `set`; never in `remove`.
    pub credential: Option<CredentialHeader>,
    /// The new body, when it changes (the splice already applied).
    pub body: Option<Vec<u8>>,
    /// The `mcp` metadata to set.
    pub metadata: Option<RouteMetadata>,
    /// Have Envoy pick the route again.
    pub clear_route: bool,
}

/// A response's changes.
#[derive(Debug, Default, PartialEq)]
pub struct Respond {
    /// Headers to set, overwriting.
    pub set: Vec<(&'static str, Vec<u8>)>,
    /// Headers to remove.
    pub remove: Vec<String>,
    /// Send the body through the core chunk by chunk (it rewrites it).
    pub watch_body: bool,
}

/// An error answer: the one shape every error takes on its way to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// HTTP status.
    pub status: u16,
    /// JSON-RPC error code.
    pub code: i64,
    /// JSON-RPC error message.
    pub message: String,
    /// The request's id as raw JSON text (`null` in the body when `None`).
    pub id: Option<String>,
    /// The error's `data` (e.g. the supported versions of an unsupported-version answer).
    pub data: Option<serde_json::Value>,
    /// Response headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Reject {
    /// The answer to `error` for the request with id `id` (raw JSON text).
    pub fn new(error: &RouteError, id: Option<&str>) -> Self {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let RouteError::Transport(transport) = error
            && let Some(allow) = transport.allow()
        {
            headers.push((transport::ALLOW, allow.to_owned()));
        }
        if let RouteError::Denied { challenge, .. } = error {
            headers.push((transport::WWW_AUTHENTICATE, challenge.clone()));
        }
        Self {
            status: error.http_status(),
            code: error.code(),
            message: error.to_string(),
            id: id.map(str::to_owned),
            data: match error {
                RouteError::Transport(transport) => transport.data(),
                _ => None,
            },
            headers,
        }
    }

    /// The JSON-RPC error body.
    pub fn body(&self) -> Vec<u8> {
        error_body(
            self.id.as_deref(),
            self.code,
            &self.message,
            self.data.as_ref(),
        )
    }
}

impl Plan {
    /// The plan that answers `error`.
    pub fn reject(error: &RouteError, id: Option<&str>) -> Self {
        Self::Reject(Reject::new(error, id))
    }
}
