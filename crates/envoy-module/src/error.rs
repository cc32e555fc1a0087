use mcp_gateway_protocol::codes;
use mcp_gateway_routing::Reject;

/// What goes wrong in the module itself (the routing core's refusals are `RouteError`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModuleError {
    /// The broker-router sidecar did not answer a question the request cannot go on
    /// without (it is down, or its cluster has no healthy host).
    SidecarUnavailable,
    /// The filter config names no sidecar, so no session can be used.
    NoSidecar,
    /// A hook panicked; the request is answered rather than let through unchecked.
    Panicked,
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SidecarUnavailable => "the gateway's broker-router sidecar is not answering",
            Self::NoSidecar => "the module has no broker-router sidecar configured",
            Self::Panicked => "internal gateway error",
        })
    }
}

impl ModuleError {
    /// The answer to the client: a JSON-RPC error with id `null` (the request's id is not
    /// read yet, or not trusted after a panic), like ext_proc's failure in the other mode.
    pub(crate) fn reject(&self) -> Reject {
        let status = match self {
            Self::SidecarUnavailable => 503,
            Self::NoSidecar | Self::Panicked => 500,
        };
        Reject {
            status,
            code: codes::INTERNAL_ERROR,
            message: self.to_string(),
            id: None,
            data: None,
            headers: vec![("content-type", "application/json".to_owned())],
        }
    }
}
