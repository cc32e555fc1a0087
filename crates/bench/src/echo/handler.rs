//! HTTP side of the echo backend: routes, the MCP endpoint, stats and the admin bump.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as Body;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use super::backend::{Backend, BackendStats};
use super::rpc::{self, Incoming, codes};
use super::tools::ECHO_TOOL;

/// Largest request body read.
const MAX_BODY_BYTES: usize = 8 << 20;
const SESSION_HEADER: &str = "mcp-session-id";
/// Test hook: a request of a live session with this header (an HTTP status code) gets that
/// status and a plain-text body without a content type, as from a misbehaving server.
pub const REPLY_STATUS_HEADER: &str = "echo-reply-status";
/// Test hook: with [`REPLY_STATUS_HEADER`], answer a JSON-RPC error body instead.
pub const REPLY_JSON_HEADER: &str = "echo-reply-json";
/// Test hook: a request of a live session with this header (milliseconds) is answered that
/// much later, as by a slow tool; the answer is JSON, so it has not started before then.
pub const REPLY_DELAY_HEADER: &str = "echo-reply-delay-ms";
/// Test hook: with [`REPLY_STATUS_HEADER`] (plain text), each `name: value` of this header
/// is a header of the answer, as a backend chose it.
pub const REPLY_HEADER_HEADER: &str = "echo-reply-header";

/// Every backend served on one port.
#[derive(Debug)]
pub(crate) struct EchoState {
    pub backends: Vec<Backend>,
    /// Backends live under `/b/<i>/` (multi-backend mode) instead of at the root.
    pub multi: bool,
}

/// What a request path names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// The MCP endpoint of backend `i`.
    Mcp(usize),
    /// Change the tool list of backend `i`, or of all of them.
    Bump(Option<usize>),
    /// `GET /stats`.
    Stats,
    NotFound,
}

/// Maps a path to a route: `/mcp` and `/admin/bump` in single mode, `/b/<i>/mcp` and
/// `/b/<i>/admin/bump` in multi mode, `/stats` and `/admin/bump` (all backends) in both.
pub(crate) fn route(path: &str, multi: bool, backends: usize) -> Route {
    match path {
        "/stats" => return Route::Stats,
        "/admin/bump" => return Route::Bump(None),
        "/mcp" if !multi => return Route::Mcp(0),
        _ => {}
    }
    let Some(rest) = path.strip_prefix("/b/").filter(|_| multi) else {
        return Route::NotFound;
    };
    let Some((index, tail)) = rest.split_once('/') else {
        return Route::NotFound;
    };
    let Some(index) = index.parse::<usize>().ok().filter(|i| *i < backends) else {
        return Route::NotFound;
    };
    match tail {
        "mcp" => Route::Mcp(index),
        "admin/bump" => Route::Bump(Some(index)),
        _ => Route::NotFound,
    }
}

/// `GET /stats`: every backend's counters and their sum.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct EchoStats {
    /// The sum over backends.
    pub total: BackendStats,
    /// One entry per backend, in index order.
    pub backends: Vec<BackendStats>,
}

/// Answers one HTTP request.
pub(crate) async fn handle(
    state: Arc<EchoState>,
    request: Request<Body>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let route = route(request.uri().path(), state.multi, state.backends.len());
    let method = request.method().clone();
    let response = match (route, method) {
        (Route::Mcp(i), Method::POST) => match state.backends.get(i) {
            Some(backend) => post(backend, request).await,
            None => empty(StatusCode::NOT_FOUND),
        },
        (Route::Mcp(i), Method::DELETE) => match state.backends.get(i) {
            Some(backend) => delete(backend, &request),
            None => empty(StatusCode::NOT_FOUND),
        },
        (Route::Mcp(_), _) => {
            let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST, DELETE"));
            response
        }
        (Route::Stats, Method::GET) => stats(&state),
        (Route::Bump(which), Method::POST) => bump(&state, which),
        (Route::Stats | Route::Bump(_), _) => empty(StatusCode::METHOD_NOT_ALLOWED),
        (Route::NotFound, _) => empty(StatusCode::NOT_FOUND),
    };
    Ok(response)
}

async fn post(backend: &Backend, request: Request<Body>) -> Response<Full<Bytes>> {
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let scripted = scripted_reply(request.headers());
    let extra: Vec<(hyper::header::HeaderName, HeaderValue)> = request
        .headers()
        .get_all(REPLY_HEADER_HEADER)
        .iter()
        .filter_map(|v| {
            let (name, value) = v.to_str().ok()?.split_once(':')?;
            Some((name.trim().parse().ok()?, value.trim().parse().ok()?))
        })
        .collect();
    let delay = request
        .headers()
        .get(REPLY_DELAY_HEADER)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .map(std::time::Duration::from_millis);
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return empty(StatusCode::PAYLOAD_TOO_LARGE),
    };
    let Ok(msg) = serde_json::from_slice::<Incoming<'_>>(&body) else {
        let text = rpc::error("null", codes::PARSE_ERROR, "body is not a JSON-RPC message");
        return json(StatusCode::BAD_REQUEST, text, None);
    };
    let id = rpc::id_text(&msg);
    let method = msg.method.as_deref();
    if method == Some("initialize") && msg.id.is_some() {
        let session = backend.open_session();
        let text = rpc::result(id, &rpc::initialize_result(msg.params));
        return json(StatusCode::OK, text, Some(&session));
    }
    let Some(session) = session else {
        backend.counters.rejected.fetch_add(1, Ordering::Relaxed);
        let text = rpc::error(id, codes::INVALID_REQUEST, "missing Mcp-Session-Id");
        return json(StatusCode::BAD_REQUEST, text, None);
    };
    if !backend.has_session(&session) {
        backend.counters.rejected.fetch_add(1, Ordering::Relaxed);
        let text = rpc::error(id, codes::INVALID_REQUEST, "unknown session");
        return json(StatusCode::NOT_FOUND, text, None);
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, as_json)) = scripted {
        if as_json {
            let text = rpc::error(id, codes::INVALID_REQUEST, "scripted failure");
            return json(status, text, None);
        }
        let mut response = Response::new(Full::new(Bytes::from_static(b"scripted failure")));
        *response.status_mut() = status;
        response.headers_mut().extend(extra);
        return response;
    }
    let (Some(method), Some(_)) = (method, msg.id) else {
        // A notification, or a response to a server request.
        backend
            .counters
            .notifications
            .fetch_add(1, Ordering::Relaxed);
        return empty(StatusCode::ACCEPTED);
    };
    let text = match method {
        "tools/call" => call(backend, id, msg.params),
        "tools/list" => list(backend, id, msg.params),
        "ping" => {
            backend.counters.ping.fetch_add(1, Ordering::Relaxed);
            rpc::result(id, "{}")
        }
        other => rpc::error(
            id,
            codes::METHOD_NOT_FOUND,
            &format!("method not found: {other}"),
        ),
    };
    json(StatusCode::OK, text, None)
}

/// The status (and whether as JSON) a request asks for with [`REPLY_STATUS_HEADER`].
fn scripted_reply(headers: &hyper::HeaderMap) -> Option<(StatusCode, bool)> {
    let status = headers
        .get(REPLY_STATUS_HEADER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    let status = StatusCode::from_u16(status).ok()?;
    Some((status, headers.contains_key(REPLY_JSON_HEADER)))
}

fn call(backend: &Backend, id: &str, params: Option<&serde_json::value::RawValue>) -> String {
    backend.counters.tools_call.fetch_add(1, Ordering::Relaxed);
    let Some(params) =
        params.and_then(|raw| serde_json::from_str::<rpc::CallParams<'_>>(raw.get()).ok())
    else {
        return rpc::error(id, codes::INVALID_PARAMS, "tools/call needs params.name");
    };
    if params.name != ECHO_TOOL && !backend.tools().contains(&params.name) {
        let message = format!("unknown tool {:?}", params.name);
        return rpc::error(id, codes::INVALID_PARAMS, &message);
    }
    rpc::result(id, &rpc::echo_result(params.arguments))
}

fn list(backend: &Backend, id: &str, params: Option<&serde_json::value::RawValue>) -> String {
    backend.counters.tools_list.fetch_add(1, Ordering::Relaxed);
    let page = rpc::list_cursor(params)
        .ok()
        .and_then(|cursor| backend.tools().page_result(cursor.as_deref()));
    match page {
        Some(page) => rpc::result(id, &page),
        None => rpc::error(id, codes::INVALID_PARAMS, "invalid cursor"),
    }
}

fn delete(backend: &Backend, request: &Request<Body>) -> Response<Full<Bytes>> {
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok());
    match session {
        Some(id) if backend.end_session(id) => {
            backend.counters.deletes.fetch_add(1, Ordering::Relaxed);
            empty(StatusCode::OK)
        }
        Some(_) => empty(StatusCode::NOT_FOUND),
        None => empty(StatusCode::BAD_REQUEST),
    }
}

fn stats(state: &EchoState) -> Response<Full<Bytes>> {
    let backends: Vec<BackendStats> = state.backends.iter().map(Backend::stats).collect();
    let total = backends
        .iter()
        .fold(BackendStats::default(), |sum, b| BackendStats {
            initialize: sum.initialize + b.initialize,
            tools_list: sum.tools_list + b.tools_list,
            tools_call: sum.tools_call + b.tools_call,
            ping: sum.ping + b.ping,
            notifications: sum.notifications + b.notifications,
            deletes: sum.deletes + b.deletes,
            rejected: sum.rejected + b.rejected,
            sessions: sum.sessions + b.sessions,
            generation: sum.generation.max(b.generation),
            tools: sum.tools + b.tools,
        });
    let text = serde_json::to_string(&EchoStats { total, backends })
        .unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#));
    json(StatusCode::OK, text, None)
}

fn bump(state: &EchoState, which: Option<usize>) -> Response<Full<Bytes>> {
    let generations: Vec<u64> = match which {
        Some(i) => state
            .backends
            .get(i)
            .map(Backend::bump)
            .into_iter()
            .collect(),
        None => state.backends.iter().map(Backend::bump).collect(),
    };
    json(
        StatusCode::OK,
        format!(r#"{{"generations":{generations:?}}}"#),
        None,
    )
}

fn json(status: StatusCode, body: String, session: Option<&str>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(value) = session.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(SESSION_HEADER, value);
    }
    response
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_single_and_multi() {
        assert_eq!(route("/mcp", false, 1), Route::Mcp(0));
        assert_eq!(route("/stats", false, 1), Route::Stats);
        assert_eq!(route("/admin/bump", false, 1), Route::Bump(None));
        assert_eq!(route("/b/0/mcp", false, 1), Route::NotFound);
        assert_eq!(route("/mcp", true, 3), Route::NotFound);
        assert_eq!(route("/b/2/mcp", true, 3), Route::Mcp(2));
        assert_eq!(route("/b/3/mcp", true, 3), Route::NotFound);
        assert_eq!(route("/b/1/admin/bump", true, 3), Route::Bump(Some(1)));
        assert_eq!(route("/b/x/mcp", true, 3), Route::NotFound);
        assert_eq!(route("/b/1", true, 3), Route::NotFound);
    }
}
