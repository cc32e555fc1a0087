//! MCP 2026-07-28 requests the broker answers itself, without a session: `server/discover`,
//! the aggregated lists and `subscriptions/listen` (`crate::listen`; `ping` is not part of
//! 2026-07-28: `modern::check` refuses it).
//! Each is answered from the request alone (its caller and the
//! capability class it declares in `_meta`), so any replica answers alike.
//!
//! Results carry `resultType`; cacheable ones (`server/discover`, lists) carry `ttlMs` and
//! `cacheScope` too: `0` and `"private"`, since what a caller sees depends on who it is
//! (policy views, capability classes) and the gateway cannot yet announce a change to a
//! 2026-07-28 client (`subscriptions/listen` is not served).

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mcp_gateway_catalog::ListKind;
use mcp_gateway_identity::Caller;
use mcp_gateway_protocol::asks::AskClass;
use mcp_gateway_protocol::modern::{self, DEFAULT_CACHE_SCOPE, DEFAULT_TTL_MS, Envelope};
use mcp_gateway_protocol::{Kind, Message, codes, versions};
use serde_json::{Value, json};

use crate::body::ResultJson;
use crate::mcp::{Asker, invalid_params, json_response, list, visible};
use crate::{BrokerError, BrokerState, initialize};

/// The members every cacheable result the broker makes ends with.
const CACHEABLE: &str = r#","ttlMs":0,"cacheScope":"private","resultType":"complete""#;

/// Answers one 2026-07-28 message that reached the broker.
pub(crate) async fn post(
    state: &BrokerState,
    caller: Option<&Caller>,
    endpoint: Option<&str>,
    msg: &Message<'_>,
    envelope: &Envelope<'_>,
) -> Result<Response, BrokerError> {
    let id = msg.id_raw();
    if msg.kind() != Kind::Request {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let class = AskClass::of_json(envelope.capabilities);
    let method = msg.method().unwrap_or_default();
    if method == "subscriptions/listen"
        && let Some(id) = id
    {
        return Ok(crate::listen::listen(state, msg, id));
    }
    let result = if let Some(kind) = ListKind::from_method(method) {
        list(
            state,
            Asker::Class(class),
            caller,
            endpoint,
            msg,
            kind,
            CACHEABLE,
        )
        .await
    } else {
        match method {
            "server/discover" => discover(state, caller, endpoint, class)
                .await
                .map(ResultJson::from),
            // Owned by one backend: the router sends these past the broker. Reaching here
            // means no backend owns the name.
            "tools/call" => Err(invalid_params(format!(
                "unknown tool {:?}",
                msg.param_str(&["name"])
                    .map(|f| f.value.into_owned())
                    .unwrap_or_default()
            ))),
            // The spec's answer to a method the server does not implement.
            other => Err(BrokerError::new(
                StatusCode::NOT_FOUND,
                codes::METHOD_NOT_FOUND,
                format!("method not found: {other}"),
            )),
        }
    }
    .map_err(|e| e.with_id(id))?;
    Ok(json_response(
        StatusCode::OK,
        Body::new(result.into_response_body(id)),
        None,
    ))
}

/// `server/discover`: the versions the gateway speaks and what it offers this caller. The
/// capabilities are the backends' union, as `initialize` says, less what the caller's view
/// on this endpoint (policy, virtual server) holds nothing of (read where the lists are read,
/// so a filter applies to both); without
/// `listChanged` or `subscribe`, which 2026-07-28 clients get on `subscriptions/listen`.
async fn discover(
    state: &BrokerState,
    caller: Option<&Caller>,
    endpoint: Option<&str>,
    class: AskClass,
) -> Result<String, BrokerError> {
    let asker = Asker::Class(class);
    let mut capabilities = initialize::capabilities(state.catalog.load().capabilities());
    if let Some(caps) = capabilities.as_object_mut() {
        caps.remove("tasks");
        for kinds in [
            &[ListKind::Prompts][..],
            &[ListKind::Resources, ListKind::ResourceTemplates][..],
        ] {
            let mut empty = true;
            for kind in kinds {
                empty &= visible(state, asker, caller, endpoint, *kind, |l| l.is_empty()).await?;
            }
            if empty {
                caps.remove(kinds[0].capability());
            }
        }
        if !caps.contains_key("prompts") && !caps.contains_key("resources") {
            caps.remove("completions");
        }
        // List changes reach a 2026-07-28 client on `subscriptions/listen`; resource
        // subscriptions (`resourceSubscriptions`) are not served yet.
        for cap in caps.values_mut().filter_map(Value::as_object_mut) {
            cap.remove("subscribe");
        }
    }
    let result = json!({
        "resultType": "complete",
        "supportedVersions": versions::ALL,
        "capabilities": capabilities,
        "instructions": initialize::INSTRUCTIONS,
        "ttlMs": DEFAULT_TTL_MS,
        "cacheScope": DEFAULT_CACHE_SCOPE,
        "_meta": {
            modern::SERVER_INFO_META: initialize::server_info(),
        },
    });
    Ok(result.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cacheable_members_are_the_protocol_defaults() {
        let members: Value = serde_json::from_str(&format!("{{{}}}", &CACHEABLE[1..])).unwrap();
        assert_eq!(members["ttlMs"], DEFAULT_TTL_MS);
        assert_eq!(members["cacheScope"], DEFAULT_CACHE_SCOPE);
        assert_eq!(members["resultType"], "complete");
    }
}
