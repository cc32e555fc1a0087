//! The bridge's streamable HTTP side: POST, DELETE and GET on `/mcp`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::warn;

use crate::BridgeState;
use crate::child::Child;

const SESSION_HEADER: &str = "mcp-session-id";

pub(crate) fn app(state: Arc<BridgeState>) -> Router {
    Router::new()
        .route(
            "/mcp",
            post(post_message).delete(delete_session).get(no_stream),
        )
        .with_state(state)
}

/// A JSON-RPC error answering `id` (or nothing) with an HTTP status.
fn error(status: StatusCode, id: Option<&Value>, code: i64, message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id.cloned().unwrap_or(Value::Null),
        "error": {"code": code, "message": message},
    });
    (status, axum::Json(body)).into_response()
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok())
}

async fn post_message(
    State(state): State<Arc<BridgeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            -32700,
            "parse error: not JSON",
        );
    };
    if !message.is_object() {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            -32600,
            "expected one JSON-RPC message (batches are not supported)",
        );
    }
    let id = message.get("id").filter(|id| !id.is_null()).cloned();
    let method = message.get("method").and_then(Value::as_str);
    let child = match session_id(&headers) {
        Some(session) => match state.session(session) {
            Some(child) if !child.has_exited() => child,
            _ => {
                return error(
                    StatusCode::NOT_FOUND,
                    id.as_ref(),
                    -32001,
                    "session not found (its stdio server has exited or was stopped)",
                );
            }
        },
        None if method == Some("initialize") && id.is_some() => {
            return initialize(&state, message).await;
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                id.as_ref(),
                -32600,
                "missing Mcp-Session-Id (only initialize opens a session)",
            );
        }
    };
    match (method, id) {
        (Some(_), Some(id)) => request(&state, &child, message, id, None).await,
        _ => match child.send(&message).await {
            // A notification or a response to the child's own request.
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(_) => gone(&state, &child, None),
        },
    }
}

/// Spawns a child for a new session and sends it the `initialize` request.
async fn initialize(state: &Arc<BridgeState>, message: Value) -> Response {
    let session = format!("{:032x}", rand::random::<u128>());
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let child = match Child::spawn(state, &session) {
        Ok(child) => child,
        Err(spawn) => {
            warn!(server = %state.server, program = %state.command.program, error = %spawn, "cannot start the stdio server");
            // The reason (it may name paths) is in the log, not in the answer.
            return error(
                StatusCode::BAD_GATEWAY,
                Some(&id),
                -32603,
                "cannot start the stdio server (see the gateway's log)",
            );
        }
    };
    if !state.insert(&session, &child) {
        child.kill();
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&id),
            -32603,
            "too many sessions on this stdio server; end one or try again later",
        );
    }
    request(state, &child, message, id, Some(&session)).await
}

/// The child has exited or its stdin is closed: the session is over.
fn gone(state: &BridgeState, child: &Child, id: Option<&Value>) -> Response {
    // Its stdin is closed or it has exited; make sure it is gone.
    child.kill();
    error(
        StatusCode::BAD_GATEWAY,
        id,
        -32603,
        &format!("the stdio server {} exited", state.server),
    )
}

/// Sends a request to the child and answers with its response: as JSON when the response
/// comes first, else as an event stream of everything the child sent meanwhile.
async fn request(
    state: &Arc<BridgeState>,
    child: &Arc<Child>,
    message: Value,
    id: Value,
    session: Option<&str>,
) -> Response {
    let mut answers = child.expect(&id);
    if child.send(&message).await.is_err() {
        if let Some(session) = session {
            state.remove(session);
        }
        child.forget(&id);
        return gone(state, child, Some(&id));
    }
    let mut response = match answers.recv().await {
        None if !child.has_exited() => {
            return error(
                StatusCode::CONFLICT,
                Some(&id),
                -32600,
                "another request with the same id replaced this one",
            );
        }
        None => {
            if let Some(session) = session {
                state.remove(session);
            }
            return gone(state, child, Some(&id));
        }
        Some(first) if is_response(&first) => axum::Json(first).into_response(),
        Some(first) => stream(first, answers, id, state.server.clone()).into_response(),
    };
    if let Some(session) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        response.headers_mut().insert(SESSION_HEADER, session);
    }
    response
}

fn is_response(message: &Value) -> bool {
    message.get("method").is_none()
}

/// An SSE stream: `first`, then what arrives, ending with the response (or an error for
/// `id` if the child exits first).
fn stream(
    first: Value,
    answers: mpsc::UnboundedReceiver<Value>,
    id: Value,
    server: String,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let events = futures::stream::unfold((Some(first), Some(answers)), move |(next, answers)| {
        let id = id.clone();
        let server = server.clone();
        async move {
            let mut answers = answers?;
            let message = match next {
                Some(message) => message,
                None => match answers.recv().await {
                    Some(message) => message,
                    None => json!({
                        "jsonrpc": "2.0",
                        "id": id,
                        "error": {"code": -32603, "message": format!("the stdio server {server} exited")},
                    }),
                },
            };
            let done = is_response(&message);
            let event = Event::default().data(message.to_string());
            Some((Ok(event), (None, (!done).then_some(answers))))
        }
    });
    Sse::new(events)
}

async fn delete_session(State(state): State<Arc<BridgeState>>, headers: HeaderMap) -> Response {
    match session_id(&headers).and_then(|session| state.remove(session)) {
        Some(child) => {
            child.kill();
            StatusCode::OK.into_response()
        }
        None => error(StatusCode::NOT_FOUND, None, -32001, "session not found"),
    }
}

/// Server messages outside a request are not relayed yet: no GET stream.
async fn no_stream() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST, DELETE")],
    )
        .into_response()
}
