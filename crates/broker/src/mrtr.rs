//! Multi-round-trip requests of MCP 2026-07-28 clients over held (2025-era) backend sessions.
//!
//! The router sends a `tools/call` or `prompts/get` of a client that may be asked for input
//! here instead of to the backend ([`transport::MRTR_SERVER`], [`transport::MRTR_HELD`]). The
//! broker makes the backend call itself and reads its answer message by message. A server
//! request the backend sends meanwhile (`sampling/createMessage`, `elicitation/create`,
//! `roots/list`) ends the client's request with an `input_required` result; the backend call
//! waits, parked under a fresh random `requestState` bound to the held key (caller, endpoint,
//! capability class) and the server. The client's retry carries the answers: each is sent to
//! the backend as the JSON-RPC response to its request, and reading goes on until the final
//! answer (or the next question). A parked call not resumed in time (`--input-wait`) is dropped
//! (the backend is told the request was cancelled). Parked calls live in this replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::task::AbortHandle;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::FutureExt;
use mcp_gateway_identity::Caller;
use mcp_gateway_protocol::modern::input::{self, InputRequest};
use mcp_gateway_protocol::{Message, codes, modern, transport};
use mcp_gateway_session::SessionIds;
use mcp_gateway_upstream::{BackendSession, Call, UpstreamClient, UpstreamError};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::debug;
use url::Url;

use crate::body::ResultJson;
use crate::mcp::json_response;
use crate::{BrokerError, BrokerState};

/// How long a call waits for the client's retry by default.
const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// How many calls one replica keeps waiting by default.
const DEFAULT_LIMIT: usize = 1024;

/// The calls waiting for their clients' input.
#[derive(Debug, Clone)]
pub struct Parked {
    lot: Lot<Box<Flight>>,
    ttl: Duration,
    /// This replica's broker address (`host:port`) as other replicas reach it, once known.
    replica: Arc<OnceLock<String>>,
}

impl Default for Parked {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, DEFAULT_LIMIT)
    }
}

impl Parked {
    /// Calls wait at most `ttl`, at most `limit` at once.
    pub fn new(ttl: Duration, limit: usize) -> Self {
        Self {
            lot: Lot::new(limit),
            ttl,
            replica: Arc::default(),
        }
    }

    /// Names this replica's broker (`host:port`, reachable from the other replicas) in the
    /// states it hands out, so that a retry another replica receives is forwarded here. Set
    /// once; without it a retry reaching another replica gets the invalid-state error.
    pub fn advertise(&self, address: String) {
        let _ = self.replica.set(address);
    }

    /// Parks `flight` under a new state, unless the limit is reached (then `Err(flight)`); it
    /// is cancelled once it has waited too long.
    fn park(&self, ids: &SessionIds, flight: Box<Flight>) -> Result<String, Box<Flight>> {
        let (held, server) = (flight.held.clone(), flight.server.clone());
        let state = mint(ids, self.replica.get().map(String::as_str), &held, &server);
        let lot = self.lot.clone();
        let ttl = self.ttl;
        let key = state.clone();
        // Stopped when the call is resumed, so resumed calls leave no timer behind.
        let timer = tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            if let Some(flight) = lot.expire(&key) {
                debug!(server = %flight.server, "parked call expired");
                flight.cancel().await;
            }
        })
        .abort_handle();
        if let Err(flight) = self
            .lot
            .park(state.clone(), held, server, flight, Some(timer.clone()))
        {
            timer.abort();
            return Err(flight);
        }
        Ok(state)
    }

    fn take(&self, state: &str, held: &str, server: &str) -> Option<Box<Flight>> {
        self.lot.take(state, held, server)
    }
}

/// How many of `limit` places one owner (a caller, a session) may hold: a quarter, so that
/// one client waiting on many calls cannot refuse everybody else's.
pub(crate) fn per_owner(limit: usize) -> usize {
    (limit / 4).max(1)
}

/// Waiting things under random states, each bound to a held key and a server.
#[derive(Debug)]
struct Lot<T> {
    entries: Arc<Mutex<HashMap<String, Entry<T>>>>,
    limit: usize,
}

impl<T> Clone for Lot<T> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            limit: self.limit,
        }
    }
}

#[derive(Debug)]
struct Entry<T> {
    held: String,
    server: String,
    value: T,
    /// Ends the wait at its deadline; stopped when the value is taken.
    timer: Option<AbortHandle>,
}

impl<T> Lot<T> {
    fn new(limit: usize) -> Self {
        Self {
            entries: Arc::default(),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<T>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `value` under `state`, unless `limit` values are kept (then `Err(value)`).
    fn park(
        &self,
        state: String,
        held: String,
        server: String,
        value: T,
        timer: Option<AbortHandle>,
    ) -> Result<(), T> {
        let mut entries = self.lock();
        // One caller (held key: caller, endpoint, class) may not take every place (an O(n)
        // count, on this path only, n at most `limit`).
        if entries.len() >= self.limit
            || entries.values().filter(|e| e.held == held).count() >= per_owner(self.limit)
        {
            return Err(value);
        }
        entries.insert(
            state,
            Entry {
                held,
                server,
                value,
                timer,
            },
        );
        Ok(())
    }

    /// The value kept under `state` for `held` on `server`, taken out; `None` when there is
    /// none (never kept, expired, taken already, another replica's) or it is another's (then
    /// it stays).
    fn take(&self, state: &str, held: &str, server: &str) -> Option<T> {
        let mut entries = self.lock();
        let mine = entries
            .get(state)
            .is_some_and(|e| e.held == held && e.server == server);
        let entry = mine.then(|| entries.remove(state)).flatten()?;
        if let Some(timer) = entry.timer {
            timer.abort();
        }
        Some(entry.value)
    }

    /// The value kept under `state`, taken out whoever it is for.
    fn expire(&self, state: &str) -> Option<T> {
        self.lock().remove(state).map(|e| e.value)
    }
}

/// A backend call in progress.
#[derive(Debug)]
struct Flight {
    held: String,
    server: String,
    url: Url,
    backend: Arc<BackendSession>,
    upstream: UpstreamClient,
    call: Call,
    /// The id the backend call was sent with (as JSON).
    id: Value,
    /// The backend's server requests the client has not answered yet.
    asked: Vec<Asked>,
    /// Keys handed out so far (a key is never reused within a call).
    keys: u32,
}

#[derive(Debug)]
struct Asked {
    /// The backend's request id, as JSON text.
    id: String,
    request: InputRequest,
}

/// One JSON-RPC message from the backend, borrowed from its text.
#[derive(Deserialize)]
struct FromBackend<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<String>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// How a call stands after reading.
enum Outcome {
    /// The backend's final answer: `Ok(result)` or `Err(error)`, JSON text.
    Done(Result<String, String>),
    /// The backend asks; the flight waits for the client's answers.
    Asks(Box<Flight>),
}

/// Answers a 2026-07-28 request the router sent here for `server` on held session `held`.
pub(crate) async fn post(
    state: &BrokerState,
    caller: Option<&Caller>,
    request: Incoming<'_>,
    msg: &Message<'_>,
    body: &[u8],
) -> Result<Response, BrokerError> {
    let (server, held) = (request.server, request.held);
    let id = msg.id_raw();
    let outcome = match msg.param_str(&[input::REQUEST_STATE]) {
        Some(request_state) => {
            let own = state.mrtr.replica.get().map(String::as_str);
            match locate(&state.ids, own, &request_state.value, held, server) {
                Located::Here => {}
                Located::Replica(replica) if !request.forwarded => {
                    return forward(state, replica, &request, body).await;
                }
                Located::Replica(_) | Located::Nowhere => return Err(invalid_state()),
            }
            let flight = state
                .mrtr
                .take(&request_state.value, held, server)
                .ok_or_else(invalid_state)?;
            resume(flight, msg).await?
        }
        None => start(state, caller, msg, body, server, held).await?,
    };
    let mut outcome = outcome;
    let result = loop {
        match outcome {
            Outcome::Done(Ok(result)) => {
                break input::complete(&result).ok_or_else(|| {
                    failed(server, "the answer's result is not an object".to_owned())
                })?;
            }
            Outcome::Done(Err(error)) => {
                let text = format!(
                    r#"{{"jsonrpc":"2.0","id":{},"error":{error}}}"#,
                    id.unwrap_or("null")
                );
                return Ok(json_response(StatusCode::OK, Body::from(text), None));
            }
            Outcome::Asks(flight) => {
                let requests: Vec<InputRequest> =
                    flight.asked.iter().map(|a| a.request.clone()).collect();
                match state.mrtr.park(&state.ids, flight) {
                    Ok(request_state) => break input::input_required(&requests, &request_state),
                    Err(flight) => outcome = refuse(flight).await?,
                }
            }
        }
    };
    Ok(json_response(
        StatusCode::OK,
        Body::new(ResultJson::from(result).into_response_body(id)),
        None,
    ))
}

/// What the router (or another replica) said about a call sent here.
#[derive(Debug)]
pub(crate) struct Incoming<'a> {
    /// The server whose backend is called.
    pub server: &'a str,
    /// The held session's key.
    pub held: &'a str,
    /// Sent on by another replica (never forwarded again).
    pub forwarded: bool,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The path it came in on (`/mcp`, `/v/<name>/mcp`).
    pub path: &'a str,
}

/// The headers a forwarded retry keeps: what the owning replica's broker checks again.
const FORWARDED_HEADERS: [&str; 9] = [
    "host",
    "content-type",
    "accept",
    transport::PROTOCOL_VERSION,
    modern::METHOD_HEADER,
    modern::NAME_HEADER,
    transport::MRTR_SERVER,
    transport::MRTR_HELD,
    mcp_gateway_identity::CALLER_HEADER,
];

/// Sends a retry to the replica whose call it resumes, and passes its answer on.
async fn forward(
    state: &BrokerState,
    replica: &str,
    request: &Incoming<'_>,
    body: &[u8],
) -> Result<Response, BrokerError> {
    let gone = |reason: String| {
        debug!(%replica, %reason, "forwarding a retry");
        invalid_state()
    };
    let url = Url::parse(&format!("http://{replica}{}", request.path))
        .map_err(|e| gone(e.to_string()))?;
    let mut headers = HeaderMap::new();
    for name in FORWARDED_HEADERS {
        if let Some(value) = request.headers.get(name) {
            headers.insert(name, value.clone());
        }
    }
    headers.insert(transport::MRTR_FORWARDED, HeaderValue::from_static("1"));
    let answer = state
        .upstream()
        .forward(&url, headers, body.to_vec())
        .await
        .map_err(|e| gone(e.to_string()))?;
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(value) = answer
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    Ok(response)
}

/// Sends the request to the backend and reads until it answers or asks.
async fn start(
    state: &BrokerState,
    caller: Option<&Caller>,
    msg: &Message<'_>,
    body: &[u8],
    server: &str,
    held: &str,
) -> Result<Outcome, BrokerError> {
    let config = state.config.load();
    let Some(configured) = config.server(server).filter(|s| s.enabled) else {
        return Err(BrokerError::new(
            StatusCode::OK,
            codes::INVALID_PARAMS,
            format!("MCP server '{server}' is not configured"),
        ));
    };
    let upstream = state
        .caller_upstream(configured, caller)
        .await
        .map_err(|e| unavailable(server, &e))?;
    let backend = state
        .backends
        .open(held, server, &configured.url, &upstream)
        .await
        .map_err(|e| failed(server, e.to_string()))?;
    // A 2025 backend must not see the 2026-07-28 envelope (as on the router's path). The
    // call gets an id of the gateway's: a held session may serve several clients (callers
    // without a subject, one capability class), whose own ids (1, 2, ...) would collide
    // there, and cancelling an expired call by its id would cancel another client's.
    let backend_id = format!("\"mcp-gateway-mrtr-{:032x}\"", rand::random::<u128>());
    let mut edits: Vec<_> = modern::without_envelope(msg).into_iter().collect();
    if let Some(range) = msg.id_range() {
        edits.push((range, backend_id.clone()));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        BrokerError::new(
            StatusCode::BAD_REQUEST,
            codes::PARSE_ERROR,
            "the request is not UTF-8".to_owned(),
        )
    })?;
    let body = mcp_gateway_protocol::upgrade::apply(text, &mut edits).into_bytes();
    let call = match upstream.call(&configured.url, &backend, body).await {
        Ok(call) => call,
        Err(e) if e.is_session_gone() => {
            state.backends.forget(held, server).await;
            return Err(failed(
                server,
                "the MCP server lost its session; retry the request".to_owned(),
            ));
        }
        Err(e) => return Err(unavailable(server, &e)),
    };
    let id = Value::String(backend_id.trim_matches('"').to_owned());
    let flight = Box::new(Flight {
        held: held.to_owned(),
        server: server.to_owned(),
        url: configured.url.clone(),
        backend,
        upstream,
        call,
        id,
        asked: Vec::new(),
        keys: 0,
    });
    drive(flight).await
}

/// Sends the retry's answers to the backend, then reads on. A question the retry leaves
/// unanswered is asked again.
async fn resume(mut flight: Box<Flight>, msg: &Message<'_>) -> Result<Outcome, BrokerError> {
    let mut unanswered = Vec::new();
    for asked in std::mem::take(&mut flight.asked) {
        let Some(answer) = msg.param_raw(&[input::INPUT_RESPONSES, &asked.request.key]) else {
            unanswered.push(asked);
            continue;
        };
        let response = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{answer}}}"#, asked.id);
        flight
            .upstream
            .answer(&flight.url, &flight.backend, response.into_bytes())
            .await
            .map_err(|e| unavailable(&flight.server, &e))?;
    }
    if !unanswered.is_empty() {
        flight.asked = unanswered;
        return Ok(Outcome::Asks(flight));
    }
    drive(flight).await
}

/// Reads the backend's answer until its response to the call, or until it asks something
/// (and has nothing more to say at once).
async fn drive(mut flight: Box<Flight>) -> Result<Outcome, BrokerError> {
    loop {
        let next = if flight.asked.is_empty() {
            flight.call.next().await
        } else {
            // Questions asked together are handed out together.
            match flight.call.next().now_or_never() {
                Some(next) => next,
                None => return Ok(Outcome::Asks(flight)),
            }
        };
        let text = match next {
            Some(Ok(text)) => text,
            Some(Err(e)) => return Err(failed(&flight.server, e.to_string())),
            None if flight.asked.is_empty() => {
                return Err(failed(
                    &flight.server,
                    "the MCP server ended the call without an answer".to_owned(),
                ));
            }
            None => return Ok(Outcome::Asks(flight)),
        };
        let Ok(message) = serde_json::from_str::<FromBackend<'_>>(&text) else {
            return Err(failed(
                &flight.server,
                "the MCP server sent a message that is not JSON-RPC".to_owned(),
            ));
        };
        match (&message.method, message.id) {
            (Some(method), Some(request_id)) if input::is_input_method(method) => {
                flight.keys += 1;
                let key = format!("{}-{}", method.replace('/', "-"), flight.keys);
                flight.asked.push(Asked {
                    id: request_id.get().to_owned(),
                    request: InputRequest {
                        key,
                        method: method.clone(),
                        params: message.params.map(|p| p.get().to_owned()),
                    },
                });
            }
            (Some(method), Some(request_id)) => {
                // Nothing the client could be asked: answered here.
                let response = if method == "ping" {
                    format!(
                        r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#,
                        request_id.get()
                    )
                } else {
                    format!(
                        r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":{},"message":"method not found"}}}}"#,
                        request_id.get(),
                        codes::METHOD_NOT_FOUND
                    )
                };
                if let Err(e) = flight
                    .upstream
                    .answer(&flight.url, &flight.backend, response.into_bytes())
                    .await
                {
                    debug!(server = %flight.server, error = %e, "answering a server request");
                }
            }
            // Notifications (progress, log messages) have no place in a JSON answer.
            (Some(_), None) => {}
            (None, Some(answer_id)) => {
                let ours =
                    serde_json::from_str::<Value>(answer_id.get()).is_ok_and(|id| id == flight.id);
                if !ours {
                    continue;
                }
                let outcome = match (message.result, message.error) {
                    (Some(result), _) => Ok(result.get().to_owned()),
                    (None, Some(error)) => Err(error.get().to_owned()),
                    (None, None) => {
                        return Err(failed(
                            &flight.server,
                            "the MCP server's answer has neither result nor error".to_owned(),
                        ));
                    }
                };
                return Ok(Outcome::Done(outcome));
            }
            (None, None) => {}
        }
    }
}

/// At the limit of parked calls: the backend's questions are answered with an error, and the
/// call read on.
async fn refuse(mut flight: Box<Flight>) -> Result<Outcome, BrokerError> {
    for asked in std::mem::take(&mut flight.asked) {
        let response = format!(
            r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":{},"message":"the gateway holds too many calls waiting for input"}}}}"#,
            asked.id,
            codes::INTERNAL_ERROR
        );
        flight
            .upstream
            .answer(&flight.url, &flight.backend, response.into_bytes())
            .await
            .map_err(|e| unavailable(&flight.server, &e))?;
    }
    drive(flight).await
}

impl Flight {
    /// Tells the backend the call is abandoned (best effort), and drops it.
    async fn cancel(self) {
        let notification = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": self.id, "reason": "the client did not answer in time"},
        });
        if let Err(e) = self
            .upstream
            .answer(
                &self.url,
                &self.backend,
                notification.to_string().into_bytes(),
            )
            .await
        {
            debug!(server = %self.server, error = %e, "cancelling a parked call");
        }
    }
}

/// A fresh request state: a signed id (128 random bits, an expiry, an HMAC with the
/// replicas' shared session key over them and what the state is bound to), then `.` and the
/// replica holding the call when it is advertised. Unguessable, and the replica it names
/// cannot be changed without the key.
fn mint(ids: &SessionIds, replica: Option<&str>, held: &str, server: &str) -> String {
    let id = ids.mint(Some(&binding(replica, held, server)));
    match replica {
        Some(replica) => format!("{id}.{replica}"),
        None => id,
    }
}

/// What a state's signature covers.
fn binding(replica: Option<&str>, held: &str, server: &str) -> String {
    format!("mrtr\n{}\n{held}\n{server}", replica.unwrap_or_default())
}

/// Where the call of `state` (for `held` on `server`) waits.
#[derive(Debug, PartialEq, Eq)]
enum Located<'a> {
    /// Here, if anywhere.
    Here,
    /// On the replica at this address.
    Replica(&'a str),
    /// Nowhere: not a state of this gateway for this caller and server.
    Nowhere,
}

fn locate<'a>(
    ids: &SessionIds,
    own: Option<&str>,
    state: &'a str,
    held: &str,
    server: &str,
) -> Located<'a> {
    let (id, replica) = match state.split_once('.') {
        Some((id, replica)) => (id, Some(replica)),
        None => (state, None),
    };
    if ids
        .verify(id, Some(&binding(replica, held, server)))
        .is_err()
    {
        return Located::Nowhere;
    }
    match replica {
        Some(replica) if Some(replica) != own => Located::Replica(replica),
        _ => Located::Here,
    }
}

/// The spec's answer to a retry whose `requestState` is unknown, expired, another caller's or
/// another replica's.
fn invalid_state() -> BrokerError {
    BrokerError::new(
        StatusCode::OK,
        input::INVALID_STATE_CODE,
        input::INVALID_STATE_MESSAGE,
    )
    .with_data(serde_json::from_str(input::INVALID_STATE_DATA).unwrap_or_default())
}

fn failed(server: &str, reason: String) -> BrokerError {
    BrokerError::new(
        StatusCode::OK,
        codes::INTERNAL_ERROR,
        format!("MCP server '{server}' failed the call: {reason}"),
    )
}

fn unavailable(server: &str, error: &UpstreamError) -> BrokerError {
    BrokerError::new(
        StatusCode::OK,
        codes::INTERNAL_ERROR,
        format!("MCP server '{server}' is unavailable: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_used_once_and_only_by_its_owner() {
        let lot = Lot::new(2);
        let state = "s".to_owned();
        lot.park(state.clone(), "held.1.".into(), "a".into(), 7, None)
            .unwrap();
        assert_eq!(
            lot.take(&state, "held.2.", "a"),
            None,
            "another class or caller"
        );
        assert_eq!(lot.take(&state, "held.1.", "b"), None, "another server");
        assert_eq!(lot.take(&format!("{state}x"), "held.1.", "a"), None);
        assert_eq!(
            lot.take(&state, "held.1.", "a"),
            Some(7),
            "kept for its owner"
        );
        assert_eq!(lot.take(&state, "held.1.", "a"), None, "used once");
    }

    #[test]
    fn the_limit_refuses_and_expiry_frees() {
        let lot = Lot::new(1);
        lot.park("s".into(), "h".into(), "a".into(), 1, None)
            .unwrap();
        assert_eq!(
            lot.park("t".into(), "h".into(), "a".into(), 2, None),
            Err(2)
        );
        assert_eq!(lot.expire("s"), Some(1));
        assert!(
            lot.park("t".into(), "h".into(), "a".into(), 3, None)
                .is_ok()
        );
    }

    #[test]
    fn one_caller_takes_a_quarter_of_the_places_at_most() {
        let lot = Lot::new(8);
        for n in 0..2 {
            lot.park(format!("a{n}"), "held.a".into(), "s".into(), n, None)
                .unwrap();
        }
        assert_eq!(
            lot.park("a2".into(), "held.a".into(), "s".into(), 2, None),
            Err(2),
            "a third call of the same caller"
        );
        for n in 0..2 {
            lot.park(format!("b{n}"), "held.b".into(), "s".into(), n, None)
                .unwrap();
        }
    }

    #[test]
    fn a_state_names_its_replica_and_is_bound_to_what_it_waits_for() {
        let ids = SessionIds::new(
            mcp_gateway_session::SessionKey::random(),
            Duration::from_secs(60),
        );
        let here = mint(&ids, None, "held.1.", "a");
        assert_ne!(here, mint(&ids, None, "held.1.", "a"), "random");
        assert_eq!(locate(&ids, None, &here, "held.1.", "a"), Located::Here);
        assert_eq!(locate(&ids, None, &here, "held.2.", "a"), Located::Nowhere);
        assert_eq!(locate(&ids, None, &here, "held.1.", "b"), Located::Nowhere);
        let there = mint(&ids, Some("10.0.0.2:8080"), "held.1.", "a");
        assert!(there.ends_with(".10.0.0.2:8080"), "{there}");
        assert_eq!(
            locate(&ids, Some("10.0.0.1:8080"), &there, "held.1.", "a"),
            Located::Replica("10.0.0.2:8080")
        );
        assert_eq!(
            locate(&ids, Some("10.0.0.2:8080"), &there, "held.1.", "a"),
            Located::Here
        );
        // Another replica named: the signature no longer holds.
        let (id, _) = there.split_once('.').unwrap();
        let moved = format!("{id}.169.254.169.254:80");
        assert_eq!(locate(&ids, None, &moved, "held.1.", "a"), Located::Nowhere);
        let other = SessionIds::new(
            mcp_gateway_session::SessionKey::random(),
            Duration::from_secs(60),
        );
        assert_eq!(
            locate(&other, None, &here, "held.1.", "a"),
            Located::Nowhere
        );
    }

    #[tokio::test]
    async fn taking_a_value_stops_its_timer() {
        let lot = Lot::new(1);
        let timer = tokio::spawn(std::future::pending::<()>());
        lot.park(
            "s".into(),
            "h".into(),
            "a".into(),
            1,
            Some(timer.abort_handle()),
        )
        .unwrap();
        assert_eq!(lot.take("s", "h", "a"), Some(1));
        assert!(timer.await.is_err_and(|e| e.is_cancelled()));
    }
}
