//! `/mcp`: the streamable-HTTP endpoint for everything the router does not send to a backend.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use mcp_gateway_catalog::ListKind;
use mcp_gateway_config::session_binding;
use mcp_gateway_identity::{BearerToken, CALLER_HEADER, Caller};
use mcp_gateway_policy::{Access, Scope};
use mcp_gateway_protocol::asks::AskClass;
use mcp_gateway_protocol::{Kind, Message, TransportError, codes, modern, transport, versions};
use mcp_gateway_session::MAX_EVENT_NUMBER;
use serde_json::Value;
use tracing::{Instrument, debug};

use crate::body::ResultJson;
use crate::{BrokerError, BrokerState, cursor, fanout, initialize, reaper, stream, tasks, trace};

/// SSE comment interval on GET streams, well under Envoy's idle timeouts.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) async fn post(
    State(state): State<Arc<BrokerState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = match endpoint(&state, &uri, &headers) {
        Ok(endpoint) => endpoint,
        Err(error) => return error.into_response(),
    };
    let span = trace::request(&headers);
    handle_post(&state, endpoint.as_deref(), &headers, &body)
        .instrument(span.clone())
        .await
        .unwrap_or_else(|error| {
            trace::error(&span, error.code);
            error.into_response()
        })
}

/// `endpoint`: the virtual server the request came in on (`None`: `/mcp`), known to the
/// config (the transport middleware checked it).
async fn handle_post(
    state: &Arc<BrokerState>,
    endpoint: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, BrokerError> {
    let msg = Message::parse_with(body, state.json_limits)
        .map_err(|e| BrokerError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    let id = msg.id_raw();
    if let Some(method) = msg.method() {
        trace::method(method);
    }
    let caller = caller(state, headers).map_err(|e| e.with_id(id))?;
    let subject = caller.as_ref().map(Caller::session_subject);
    // Sessions are bound to the caller and the endpoint: unknown anywhere else.
    let binding = session_binding(subject.as_deref(), endpoint);
    // A request without a session may be a 2026-07-28 one (the router checked it too).
    if header_str(headers, transport::SESSION_ID).is_none()
        || header_str(headers, transport::PROTOCOL_VERSION).is_some_and(versions::is_modern)
    {
        let mirrored = modern::Mirrored {
            version: header_str(headers, transport::PROTOCOL_VERSION),
            method: header_str(headers, modern::METHOD_HEADER),
            name: header_str(headers, modern::NAME_HEADER),
        };
        let envelope =
            modern::check(&msg, mirrored).map_err(|e| BrokerError::from(e).with_id(id))?;
        if let Some(envelope) = envelope {
            // A call the router sent here for its backend (the client may be asked for input).
            if let (Some(server), Some(held)) = (
                header_str(headers, transport::MRTR_SERVER),
                header_str(headers, transport::MRTR_HELD),
            ) && msg.kind() == Kind::Request
            {
                let path = match endpoint {
                    Some(name) => format!("{}{name}/mcp", transport::VIRTUAL_PATH_PREFIX),
                    None => transport::MCP_PATH.to_owned(),
                };
                let request = crate::mrtr::Incoming {
                    server,
                    held,
                    forwarded: headers.contains_key(transport::MRTR_FORWARDED),
                    headers,
                    path: &path,
                };
                return crate::mrtr::post(state, caller.as_ref(), request, &msg, body)
                    .await
                    .map_err(|e| e.with_id(id));
            }
            return crate::modern::post(state, caller.as_ref(), endpoint, &msg, &envelope).await;
        }
    }
    if msg.kind() == Kind::Request && msg.method() == Some("initialize") {
        return initialize::initialize(state, &msg, binding.as_deref(), endpoint).await;
    }
    let session = require_session(state, headers, binding.as_deref())
        .await
        .map_err(|e| e.with_id(id))?;
    trace::session(session);
    // A call the router handed over for a backend that speaks only 2026-07-28 (the router
    // removed any client copy of the header).
    if msg.kind() == Kind::Request
        && let Some(server) = header_str(headers, transport::RELAYED_SERVER)
    {
        let read = header_str(headers, transport::RELAYED_READ).is_some();
        return crate::legacy_client::call(
            state,
            session,
            caller.as_ref(),
            server,
            read,
            &msg,
            body,
        )
        .await
        .map_err(|e| e.with_id(id));
    }
    match msg.kind() {
        Kind::Notification => {
            if msg.method() == Some("notifications/cancelled") {
                let params = parse_params(&msg);
                fanout::broadcast(
                    state.clone(),
                    session.to_owned(),
                    caller.clone(),
                    "notifications/cancelled".into(),
                    params,
                );
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        // Responses to backends' server requests are routed to them by the router; the others are answers to the gateway's own questions (see `legacy_client`).
        Kind::Response => {
            crate::legacy_client::deliver(state, session, &msg);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Kind::Request => {
            let method = msg.method().unwrap_or_default();
            debug!(%method, "broker request");
            let result = request(state, session, caller.as_ref(), endpoint, &msg, method)
                .await
                .map_err(|e| e.with_id(id))?;
            Ok(json_response(
                StatusCode::OK,
                Body::new(result.into_response_body(id)),
                None,
            ))
        }
    }
}

/// The `result` of a request the broker answers itself, as JSON text.
async fn request(
    state: &BrokerState,
    session: &str,
    caller: Option<&Caller>,
    endpoint: Option<&str>,
    msg: &Message<'_>,
    method: &str,
) -> Result<ResultJson, BrokerError> {
    if let Some(kind) = ListKind::from_method(method) {
        return list(
            state,
            Asker::Session(session),
            caller,
            endpoint,
            msg,
            kind,
            "",
        )
        .await;
    }
    answer(state, session, caller, endpoint, msg, method)
        .await
        .map(ResultJson::from)
}

/// The `result` of a request other than a list.
async fn answer(
    state: &BrokerState,
    session: &str,
    caller: Option<&Caller>,
    endpoint: Option<&str>,
    msg: &Message<'_>,
    method: &str,
) -> Result<String, BrokerError> {
    match method {
        "ping" => Ok("{}".to_owned()),
        "tasks/list" => tasks::list(state, session, caller).await,
        "logging/setLevel" => {
            let params = parse_params(msg)
                .filter(|p| p.get("level").is_some_and(Value::is_string))
                .ok_or_else(|| {
                    invalid_params("logging/setLevel: params.level (string) is required")
                })?;
            let config = state.config.load();
            let catalog = state.catalog.load();
            let scope = Scope::new(
                Access::of(&config, caller),
                endpoint.and_then(|name| config.virtual_server(name)),
            );
            let failed =
                fanout::set_level(state, &config, &catalog, &scope, session, caller, &params).await;
            if failed.is_empty() {
                Ok("{}".to_owned())
            } else {
                Err(BrokerError::new(
                    StatusCode::OK,
                    codes::INTERNAL_ERROR,
                    format!(
                        "logging/setLevel failed for MCP server(s): {}",
                        failed.join(", ")
                    ),
                ))
            }
        }
        // Owned by one backend: the router sends these past the broker. Reaching here means no
        // backend owns the name.
        "tools/call" => Err(invalid_params(format!(
            "unknown tool {:?}",
            msg.param_str(&["name"])
                .map(|f| f.value.into_owned())
                .unwrap_or_default()
        ))),
        other => Err(BrokerError::new(
            StatusCode::OK,
            codes::METHOD_NOT_FOUND,
            format!("method not found: {other}"),
        )),
    }
}

/// Whose capability class a list is for: a 2025 session's (read from the store, only when
/// some backend's tools depend on it) or a 2026-07-28 request's own.
#[derive(Clone, Copy)]
pub(crate) enum Asker<'a> {
    Session(&'a str),
    Class(AskClass),
}

/// One page of an aggregated list, from the catalog's pre-serialised items (the whole list
/// is sent from the catalog's bytes, uncopied). With a policy or on a virtual server, the
/// items are the caller's [`Scope`]: the catalog filters its lists once per class of callers
/// and endpoint and keeps the result. `extra` is added to the result's members (JSON text
/// starting with a comma, or empty).
pub(crate) async fn list(
    state: &BrokerState,
    asker: Asker<'_>,
    caller: Option<&Caller>,
    endpoint: Option<&str>,
    msg: &Message<'_>,
    kind: ListKind,
    extra: &'static str,
) -> Result<ResultJson, BrokerError> {
    let offset = match msg.param_str(&["cursor"]) {
        None => 0,
        Some(cursor) => cursor::decode(kind, &cursor.value)
            .ok_or_else(|| invalid_params(format!("invalid cursor for {}", kind.method())))?,
    };
    let (page, total) = visible(state, asker, caller, endpoint, kind, |listing| {
        (listing.page(offset, state.list_page_size), listing.len())
    })
    .await?;
    trace::items(total);
    mcp_gateway_metrics::global()
        .broker_lists
        .inc(kind.method(), "");
    let head = Bytes::from(format!(r#"{{"{}":"#, kind.item_key()));
    let tail = match page.next {
        Some(next) => Bytes::from(format!(
            r#","nextCursor":"{}"{extra}}}"#,
            cursor::encode(kind, next)
        )),
        None if extra.is_empty() => Bytes::from_static(b"}"),
        None => Bytes::from(format!("{extra}}}")),
    };
    Ok(ResultJson::from_pieces(vec![head, page.json, tail]))
}

/// `read` of the items of `kind` the asker sees on `endpoint`: its [`Scope`] (policy view,
/// virtual server's subset) and, for tools some backend offers only to clients that declared
/// sampling, elicitation or roots, its class's view (cached per class, like policy views).
/// Lists and `server/discover` both read here, so a filter applies to both.
pub(crate) async fn visible<R>(
    state: &BrokerState,
    asker: Asker<'_>,
    caller: Option<&Caller>,
    endpoint: Option<&str>,
    kind: ListKind,
    read: impl FnOnce(&mcp_gateway_catalog::Listing) -> R,
) -> Result<R, BrokerError> {
    let catalog = state.catalog.load();
    let config = state.config.load();
    let scope = Scope::new(
        Access::of(&config, caller),
        endpoint.and_then(|name| config.virtual_server(name)),
    );
    let class_view = if kind == ListKind::Tools && catalog.depends_on_class() {
        let class = match asker {
            Asker::Class(class) => class,
            Asker::Session(session) => match state.sessions().get(session).await? {
                Some(record) => AskClass::of_json(record.client.capabilities().get()),
                None => AskClass::NONE,
            },
        };
        catalog.class_view(scope.view_key(), class, |kind, server, name| {
            scope.allows(mcp_gateway_policy::offering(kind), server, name)
        })
    } else {
        None
    };
    let view = class_view.or_else(|| scope.view(&catalog));
    let listing = view.as_deref().map_or(catalog.list(kind), |v| v.list(kind));
    Ok(read(listing))
}

fn parse_params(msg: &Message<'_>) -> Option<Value> {
    msg.params_raw().and_then(|p| serde_json::from_str(p).ok())
}

pub(crate) fn invalid_params(message: impl Into<String>) -> BrokerError {
    BrokerError::new(StatusCode::OK, codes::INVALID_PARAMS, message)
}

/// The session's GET stream (SSE): gateway notifications and the backends' own streams,
/// resumable with `Last-Event-ID` within the resume window.
pub(crate) async fn get(
    State(state): State<Arc<BrokerState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&state, &headers) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let subject = caller.as_ref().map(Caller::session_subject);
    let endpoint = match endpoint(&state, &uri, &headers) {
        Ok(endpoint) => endpoint,
        Err(error) => return error.into_response(),
    };
    let binding = session_binding(subject.as_deref(), endpoint.as_deref());
    let session = require_session(&state, &headers, binding.as_deref()).await;
    let session = match session {
        Ok(id) => id.to_owned(),
        Err(e) => return e.into_response(),
    };
    let resuming = header_str(&headers, transport::LAST_EVENT_ID);
    let mut last_seen = resuming.and_then(stream::parse_event_id);
    if let Some(shared) = state.sessions().shared_outbox() {
        // Where the stream starts, before anything can be added after it.
        match shared.resume(&session, last_seen.unwrap_or(0)).await {
            Ok(latest) => last_seen = Some(last_seen.unwrap_or(latest).min(MAX_EVENT_NUMBER)),
            Err(e) => return BrokerError::from(e).into_response(),
        }
    }
    let outbox = stream::outbox(&state, &session, caller);
    let Some(ended) = outbox.attach(resuming.is_some()) else {
        return BrokerError::new(
            StatusCode::CONFLICT,
            codes::INVALID_REQUEST,
            "this session's GET stream is already open (resume with Last-Event-ID to replace it)",
        )
        .into_response();
    };
    stream::claim(&state, &session);
    let events = outbox.events(last_seen);
    let guard = Detach {
        state: state.clone(),
        session,
        outbox,
        ended: ended.clone(),
    };
    let events = events
        // A later stream that resumes this session replaces this one.
        .take_until(ended.cancelled_owned())
        .map(move |(id, data)| {
            let _attached = &guard;
            Ok::<_, Infallible>(SseEvent::default().id(stream::event_id(id)).data(&*data))
        });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// Detaches a GET stream from its outbox when the client goes away.
struct Detach {
    state: Arc<BrokerState>,
    session: String,
    outbox: Arc<stream::Outbox>,
    /// This stream's token: cancelled, the session may open another.
    ended: tokio_util::sync::CancellationToken,
}

impl Drop for Detach {
    fn drop(&mut self) {
        self.ended.cancel();
        stream::detached(
            self.state.clone(),
            std::mem::take(&mut self.session),
            self.outbox.clone(),
        );
    }
}

/// Ends the session; a body is never read.
pub(crate) async fn delete(
    State(state): State<Arc<BrokerState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(id) = header_str(&headers, transport::SESSION_ID) else {
        return BrokerError::missing_session().into_response();
    };
    let caller = match caller(&state, &headers) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let subject = caller.as_ref().map(Caller::session_subject);
    let endpoint = match endpoint(&state, &uri, &headers) {
        Ok(endpoint) => endpoint,
        Err(error) => return error.into_response(),
    };
    let binding = session_binding(subject.as_deref(), endpoint.as_deref());
    if state.ids.verify(id, binding.as_deref()).is_err() {
        return BrokerError::unknown_session().into_response();
    }
    state.streams.end_everywhere(&state, id);
    let removed = match state.sessions().remove(id).await {
        Ok(Some(removed)) => removed,
        Ok(None) => return BrokerError::unknown_session().into_response(),
        Err(e) => return BrokerError::from(e).into_response(),
    };
    // Ending backend sessions is best effort and must not hold up the client.
    reaper::end_backends(&state, removed.backends, caller);
    StatusCode::OK.into_response()
}

/// The transport rules every request must pass before its handler runs (the router's
/// own, from [`transport::check`]): the path, the method, headers sent once, the `Origin`
/// and the protocol version.
pub(crate) async fn transport(
    State(state): State<Arc<BrokerState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let head = transport::Head::from_pairs(
        request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
    .with_method(request.method().as_str())
    .with_path(path);
    if let Err(error) = transport::check(&head, &state.origins) {
        return BrokerError::from(error).into_response();
    }
    if let Err(error) = state
        .config
        .load()
        .virtual_server_for(head.virtual_server(), head.authority())
    {
        return BrokerError::from(error).into_response();
    }
    next.run(request).await
}

/// A path the transport rules allow but no route serves (none today).
pub(crate) async fn not_found(uri: Uri) -> Response {
    BrokerError::from(TransportError::NotFound(uri.path().to_owned())).into_response()
}

/// The virtual server a request addresses, by its path or its host (see
/// `Config::virtual_server_for`, the router's rule too); `None` for plain `/mcp`.
fn endpoint(
    state: &BrokerState,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<String>, BrokerError> {
    let config = state.config.load();
    let authority = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| header_str(headers, header::HOST.as_str()));
    config
        .virtual_server_for(transport::virtual_server_name(uri.path()), authority)
        .map(|v| v.map(|v| v.name.clone()))
        .map_err(BrokerError::from)
}

/// The verified caller of this request, whose [`Caller::session_subject`] its session is
/// bound to: `None` with auth off. With auth on, the router vouches for the caller in
/// [`CALLER_HEADER`] (after removing any client copy); a request without it was not let
/// through by the router as an authenticated one, and gets 401.
fn caller(state: &BrokerState, headers: &HeaderMap) -> Result<Option<Caller>, BrokerError> {
    let config = state.config.load();
    let Some(auth) = config.auth() else {
        return Ok(None);
    };
    header_str(headers, CALLER_HEADER)
        .and_then(|value| Caller::from_forwarded(value).ok())
        // Its token, for credentials resolved on its behalf (token exchange, passthrough):
        // `jwt_authn` verified this header before the router vouched for the caller.
        .map(|caller| {
            match header_str(headers, header::AUTHORIZATION.as_str())
                .and_then(BearerToken::from_authorization)
            {
                Some(token) => Some(caller.with_token(token)),
                None => Some(caller),
            }
        })
        .ok_or_else(|| BrokerError::unauthenticated(auth.challenge(None, None)))
}

/// The session id of a request that must belong to a live session bound to `binding` (see
/// [`session_binding`]).
async fn require_session<'h>(
    state: &BrokerState,
    headers: &'h HeaderMap,
    binding: Option<&str>,
) -> Result<&'h str, BrokerError> {
    let id = header_str(headers, transport::SESSION_ID).ok_or_else(BrokerError::missing_session)?;
    state
        .ids
        .verify(id, binding)
        .map_err(|_| BrokerError::unknown_session())?;
    match state.sessions().get(id).await {
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err(BrokerError::unknown_session()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn json_response(status: StatusCode, body: Body, session: Option<&str>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(session) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        headers.insert(transport::SESSION_ID, session);
    }
    response
}
