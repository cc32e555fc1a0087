//! `initialize`: negotiates the version, opens a gateway session and says what the gateway
//! offers. What the session keeps of the client is bounded ([`ClientLimits`]), and the store
//! may refuse a session when it is full (503): nothing a client sends here can make the
//! gateway hold more than `max_sessions` times the per-session bound.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use mcp_gateway_catalog::{Capabilities, ListKind};
use mcp_gateway_policy::{Access, Scope};
use mcp_gateway_protocol::{Message, versions};
use mcp_gateway_session::{ClientDeclaration, ClientLimits, SessionRecord};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::time::SystemTime;

use crate::body::ResultJson;
use crate::mcp::{invalid_params, json_response};
use crate::{BrokerError, BrokerState};

/// `initialize`'s params, read once; only what the gateway keeps is copied.
#[derive(Deserialize)]
struct Params<'a> {
    #[serde(rename = "protocolVersion")]
    protocol_version: Option<Value>,
    #[serde(borrow)]
    capabilities: Option<&'a RawValue>,
    #[serde(rename = "clientInfo", borrow)]
    client_info: Option<&'a RawValue>,
}

/// Answers `initialize` and records the new session, bound to `binding` (the caller and the
/// endpoint, see `mcp_gateway_config::session_binding`). On a virtual server (`endpoint`),
/// the capabilities are its subset's.
pub(crate) async fn initialize(
    state: &BrokerState,
    msg: &Message<'_>,
    binding: Option<&str>,
    endpoint: Option<&str>,
) -> Result<Response, BrokerError> {
    let id = msg.id_raw();
    let (requested, client) =
        read_params(msg.params_raw(), &state.client_limits).map_err(|e| e.with_id(id))?;
    let version = versions::negotiate(Some(&requested));
    // Bound to the caller (auth on) and the endpoint: presented by anyone else, or on
    // another endpoint, the id is unknown.
    let session_id = state.ids.mint(binding);
    // The trace of a session's `initialize` names the session (hashed) like its later calls.
    crate::trace::session(&session_id);
    let record = SessionRecord {
        protocol_version: version.to_owned(),
        client,
        // What the id is bound to (the caller and the endpoint): Envoy's hand-off of a lost
        // backend session checks the id against it.
        subject: binding.map(str::to_owned),
        expires: SystemTime::now() + state.session_lifetime,
    };
    state
        .sessions()
        .insert(&session_id, record)
        .await
        .map_err(|e| BrokerError::from(e).with_id(id))?;
    let catalog = state.catalog.load();
    let mut offered = catalog.capabilities();
    let config = state.config.load();
    if let Some(subset) = endpoint.and_then(|name| config.virtual_server(name)) {
        // What the subset holds: prompts and resources only if it lists some.
        let view = Scope::new(Access::Unrestricted, Some(subset)).view(&catalog);
        let has = |kind: ListKind| view.as_ref().is_some_and(|v| !v.list(kind).is_empty());
        offered.prompts &= has(ListKind::Prompts);
        offered.resources &= has(ListKind::Resources) || has(ListKind::ResourceTemplates);
        offered.subscribe &= offered.resources;
        offered.completions &= offered.prompts || offered.resources;
    }
    let result = json!({
        "protocolVersion": version,
        "capabilities": capabilities(offered),
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS,
    });
    Ok(json_response(
        StatusCode::OK,
        Body::new(ResultJson::from(result.to_string()).into_response_body(id)),
        Some(&session_id),
    ))
}

/// What the gateway tells clients about itself (`initialize`, `server/discover`).
pub(crate) const INSTRUCTIONS: &str = "MCP gateway: the tools, prompts and resources of several MCP servers, each named with its server's prefix.";

/// The gateway's name and version.
pub(crate) fn server_info() -> Value {
    json!({ "name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION") })
}

/// The requested protocol version and what the session keeps of the client.
fn read_params(
    params: Option<&str>,
    limits: &ClientLimits,
) -> Result<(String, ClientDeclaration), BrokerError> {
    const REQUIRED: &str = "initialize: params.protocolVersion (string) is required";
    let params: Params<'_> = match params {
        None => return Err(invalid_params(REQUIRED)),
        Some(raw) => serde_json::from_str(raw).map_err(|e| {
            BrokerError::new(
                StatusCode::BAD_REQUEST,
                mcp_gateway_protocol::codes::INVALID_PARAMS,
                format!("initialize: params are not valid: {e}"),
            )
        })?,
    };
    let Some(Value::String(requested)) = params.protocol_version else {
        return Err(invalid_params(REQUIRED));
    };
    let client = ClientDeclaration::new(params.capabilities, params.client_info, limits)?;
    Ok((requested, client))
}

/// What the gateway offers: tools always; the rest when some healthy backend offers it.
/// `listChanged` is true: changes of the aggregated lists are announced on GET streams.
pub(crate) fn capabilities(caps: Capabilities) -> Value {
    let mut out = json!({ "tools": { "listChanged": true } });
    if caps.prompts {
        out["prompts"] = json!({ "listChanged": true });
    }
    if caps.resources {
        out["resources"] = json!({ "subscribe": caps.subscribe, "listChanged": true });
    }
    if caps.logging {
        out["logging"] = json!({});
    }
    if caps.completions {
        out["completions"] = json!({});
    }
    if caps.tasks {
        // `tasks/list` is the gateway's own (every backend's tasks); cancelling and
        // task-augmented calls are routed to backends, so offered when one offers them.
        let mut tasks = json!({ "list": {} });
        if caps.task_cancel {
            tasks["cancel"] = json!({});
        }
        if caps.task_tool_calls {
            tasks["requests"] = json!({ "tools": { "call": {} } });
        }
        out["tasks"] = tasks;
    }
    out
}

#[cfg(test)]
mod tests {
    use mcp_gateway_protocol::codes;

    use super::*;

    #[test]
    fn tasks_capability_offers_only_what_some_backend_does() {
        let none = capabilities(Capabilities::default());
        assert!(none.get("tasks").is_none(), "{none}");
        let listing = Capabilities {
            tasks: true,
            ..Capabilities::default()
        };
        assert_eq!(capabilities(listing)["tasks"], json!({"list": {}}));
        let all = Capabilities {
            tasks: true,
            task_cancel: true,
            task_tool_calls: true,
            ..Capabilities::default()
        };
        assert_eq!(
            capabilities(all)["tasks"],
            json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
        );
    }

    #[test]
    fn keeps_a_bounded_declaration() {
        let params = r#"{"protocolVersion":"2025-06-18","capabilities":{"roots":{}},
            "clientInfo":{"name":"c","version":"1","icons":[{"src":"x"}]}}"#;
        let (version, client) = read_params(Some(params), &ClientLimits::default()).unwrap();
        assert_eq!(version, "2025-06-18");
        assert_eq!(client.capabilities().get(), r#"{"roots":{}}"#);
        assert_eq!(client.info().get(), r#"{"name":"c","version":"1"}"#);
        assert!(client.may_be_asked());
    }

    #[test]
    fn oversized_declarations_are_refused_with_400_invalid_params() {
        let limits = ClientLimits {
            capabilities_bytes: 64,
            client_info_bytes: 32,
        };
        let big_caps = format!(
            r#"{{"protocolVersion":"2025-06-18","capabilities":{{"experimental":{{"x":"{}"}}}}}}"#,
            "a".repeat(64)
        );
        let big_info = format!(
            r#"{{"protocolVersion":"2025-06-18","clientInfo":{{"name":"{}","version":"1"}}}}"#,
            "n".repeat(32)
        );
        for (params, field) in [(big_caps, "capabilities"), (big_info, "clientInfo")] {
            let error = read_params(Some(&params), &limits).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{field}");
            assert_eq!(error.code, codes::INVALID_PARAMS, "{field}");
            assert!(error.message.contains(field), "{}", error.message);
            assert!(error.message.contains("bytes"), "{}", error.message);
        }
    }

    #[test]
    fn malformed_params_are_invalid_params() {
        let limits = ClientLimits::default();
        for params in [
            None,
            Some(r#"{"capabilities":{}}"#),
            Some(r#"{"protocolVersion":7}"#),
            Some(r#"[1]"#),
            Some(r#"{"protocolVersion":"2025-06-18","capabilities":[]}"#),
            Some(r#"{"protocolVersion":"2025-06-18","capabilities":{},"capabilities":{}}"#),
        ] {
            let error = read_params(params, &limits).unwrap_err();
            assert_eq!(error.code, codes::INVALID_PARAMS, "{params:?}");
        }
    }
}
