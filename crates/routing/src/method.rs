//! The JSON-RPC methods the routing core acts on, parsed once per request and used for the
//! decision, the `x-mcp-method` header and the metadata alike.

/// A request's method, as far as routing cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `tools/call`: routed by `params.name`.
    ToolsCall,
    /// `prompts/get`: routed by `params.name`.
    PromptsGet,
    /// `resources/read`: routed by `params.uri`; its answer names URIs.
    ResourcesRead,
    /// `resources/subscribe`: routed by `params.uri`.
    ResourcesSubscribe,
    /// `resources/unsubscribe`: routed by `params.uri`.
    ResourcesUnsubscribe,
    /// `completion/complete`: routed by `params.ref`.
    CompletionComplete,
    /// `tasks/get`: routed by the gateway task id.
    TasksGet,
    /// `tasks/result`: routed by the gateway task id.
    TasksResult,
    /// `tasks/cancel`: routed by the gateway task id.
    TasksCancel,
    /// Any other method: the broker's.
    Other,
}

impl Method {
    /// The method named `name` (a JSON-RPC `method` value).
    pub fn parse(name: &str) -> Self {
        match name {
            "tools/call" => Self::ToolsCall,
            "prompts/get" => Self::PromptsGet,
            "resources/read" => Self::ResourcesRead,
            "resources/subscribe" => Self::ResourcesSubscribe,
            "resources/unsubscribe" => Self::ResourcesUnsubscribe,
            "completion/complete" => Self::CompletionComplete,
            "tasks/get" => Self::TasksGet,
            "tasks/result" => Self::TasksResult,
            "tasks/cancel" => Self::TasksCancel,
            _ => Self::Other,
        }
    }

    /// The JSON-RPC name; `None` for [`Method::Other`].
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Self::ToolsCall => "tools/call",
            Self::PromptsGet => "prompts/get",
            Self::ResourcesRead => "resources/read",
            Self::ResourcesSubscribe => "resources/subscribe",
            Self::ResourcesUnsubscribe => "resources/unsubscribe",
            Self::CompletionComplete => "completion/complete",
            Self::TasksGet => "tasks/get",
            Self::TasksResult => "tasks/result",
            Self::TasksCancel => "tasks/cancel",
            Self::Other => return None,
        })
    }
}

/// The metric label of an unknown method.
pub const OTHER_LABEL: &str = "other";

/// The metric label of a message with method `name` (`None`: a response).
pub fn label(name: Option<&str>) -> &'static str {
    match name {
        None => RESPONSE_LABEL,
        Some(name) => mcp_gateway_protocol::methods::known(name).unwrap_or(OTHER_LABEL),
    }
}

/// What `x-mcp-method` and the `method` metadata say for a client's response to a server
/// request (it has no method of its own).
pub const RESPONSE_LABEL: &str = "response";

/// What they say for a GET that resumes a backend's stream.
pub const RESUME_LABEL: &str = "GET";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for method in [
            Method::ToolsCall,
            Method::PromptsGet,
            Method::ResourcesRead,
            Method::ResourcesSubscribe,
            Method::ResourcesUnsubscribe,
            Method::CompletionComplete,
            Method::TasksGet,
            Method::TasksResult,
            Method::TasksCancel,
        ] {
            let name = method.as_str().expect("a routed method has a name");
            assert_eq!(Method::parse(name), method);
        }
        assert_eq!(Method::parse("tools/list"), Method::Other);
        assert_eq!(Method::Other.as_str(), None);
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(label(Some("tools/call")), "tools/call");
        assert_eq!(label(Some("tools/call/../../x")), OTHER_LABEL);
        assert_eq!(label(None), RESPONSE_LABEL);
    }
}
