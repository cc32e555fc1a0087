//! `/mcp`: the streamable-HTTP endpoint for everything the router does not send to a backend.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_gateway_protocol::{Kind, Message, codes};
use mcp_gateway_session::SessionRecord;
use serde_json::{Value, json};
use tracing::debug;

use crate::{BrokerError, BrokerState, versions};

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

pub(crate) async fn post(
    State(state): State<Arc<BrokerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle_post(&state, &headers, &body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle_post(
    state: &BrokerState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, BrokerError> {
    let msg = Message::parse(body)
        .map_err(|e| BrokerError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    let id = msg.id_raw();
    if let Some(version) = header_str(headers, VERSION_HEADER)
        && !versions::is_supported(version)
    {
        return Err(BrokerError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            format!(
                "unsupported MCP-Protocol-Version {version:?}; supported: {}",
                versions::SUPPORTED.join(", ")
            ),
        )
        .with_id(id));
    }
    if msg.kind() == Kind::Request && msg.method() == Some("initialize") {
        return initialize(state, &msg).await;
    }
    let session = require_session(state, headers)
        .await
        .map_err(|e| e.with_id(id))?;
    match msg.kind() {
        // Notifications and responses to server requests: nothing to answer.
        Kind::Notification | Kind::Response => Ok(StatusCode::ACCEPTED.into_response()),
        Kind::Request => {
            let method = msg.method().unwrap_or_default();
            debug!(%method, session = %session, "broker request");
            let result = match method {
                "ping" => "{}".to_owned(),
                "tools/list" => {
                    format!(r#"{{"tools":{}}}"#, state.catalog.load().tools_json())
                }
                "tools/call" => {
                    let name = msg.param_str(&["name"]).map(|f| f.value.into_owned());
                    return Err(BrokerError::new(
                        StatusCode::OK,
                        codes::INVALID_PARAMS,
                        format!("unknown tool {:?}", name.unwrap_or_default()),
                    )
                    .with_id(id));
                }
                other => {
                    return Err(BrokerError::new(
                        StatusCode::OK,
                        codes::METHOD_NOT_FOUND,
                        format!("method not found: {other}"),
                    )
                    .with_id(id));
                }
            };
            Ok(json_response(
                StatusCode::OK,
                result_body(id, &result),
                None,
            ))
        }
    }
}

async fn initialize(state: &BrokerState, msg: &Message<'_>) -> Result<Response, BrokerError> {
    let id = msg.id_raw();
    let params: Value = msg
        .params_raw()
        .map(serde_json::from_str)
        .transpose()
        .ok()
        .flatten()
        .unwrap_or(Value::Null);
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let Some(requested) = requested else {
        return Err(BrokerError::new(
            StatusCode::OK,
            codes::INVALID_PARAMS,
            "initialize: params.protocolVersion (string) is required",
        )
        .with_id(id));
    };
    let version = versions::negotiate(Some(requested));
    let session_id = state.ids.mint(None);
    let record = SessionRecord {
        protocol_version: version.to_owned(),
        client_capabilities: params
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| json!({})),
        client_info: params
            .get("clientInfo")
            .cloned()
            .unwrap_or_else(|| json!({})),
        subject: None,
        expires: SystemTime::now() + state.session_lifetime,
    };
    state
        .sessions
        .insert(&session_id, record)
        .await
        .map_err(|e| BrokerError::internal(e.to_string()).with_id(id))?;
    let result = json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "MCP gateway: the tools of several MCP servers, each prefixed with its server's toolPrefix.",
    });
    Ok(json_response(
        StatusCode::OK,
        result_body(id, &result.to_string()),
        Some(&session_id),
    ))
}

pub(crate) async fn get(State(state): State<Arc<BrokerState>>, headers: HeaderMap) -> Response {
    if let Err(e) = require_session(&state, &headers).await {
        return e.into_response();
    }
    // No server-to-client stream yet: the spec lets a server decline the GET stream with 405.
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
    response
}

pub(crate) async fn delete(State(state): State<Arc<BrokerState>>, headers: HeaderMap) -> Response {
    let Some(id) = header_str(&headers, SESSION_HEADER) else {
        return BrokerError::missing_session().into_response();
    };
    if state.ids.verify(id, None).is_err() {
        return BrokerError::unknown_session().into_response();
    }
    let removed = match state.sessions.remove(id).await {
        Ok(Some(removed)) => removed,
        Ok(None) => return BrokerError::unknown_session().into_response(),
        Err(e) => return BrokerError::internal(e.to_string()).into_response(),
    };
    let config = state.config.load();
    let upstream = state.upstream.clone();
    // Ending backend sessions is best effort and must not hold up the client.
    tokio::spawn(async move {
        for (server, backend) in removed.backends {
            if let Some(server) = config.server(&server)
                && let Err(e) = upstream.terminate(&server.url, &backend).await
            {
                debug!(server = %server.name, error = %e, "ending backend session failed");
            }
        }
    });
    StatusCode::OK.into_response()
}

/// The session id of a request that must belong to a live session.
async fn require_session<'h>(
    state: &BrokerState,
    headers: &'h HeaderMap,
) -> Result<&'h str, BrokerError> {
    let id = header_str(headers, SESSION_HEADER).ok_or_else(BrokerError::missing_session)?;
    state
        .ids
        .verify(id, None)
        .map_err(|_| BrokerError::unknown_session())?;
    match state.sessions.get(id).await {
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err(BrokerError::unknown_session()),
        Err(e) => Err(BrokerError::internal(e.to_string())),
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn result_body(id: Option<&str>, result: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#,
        id.unwrap_or("null")
    )
}

fn json_response(status: StatusCode, body: String, session: Option<&str>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(session) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        headers.insert(SESSION_HEADER, session);
    }
    response
}
