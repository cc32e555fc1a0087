//! A 2025-era client (with a gateway session) calling a backend that speaks only MCP
//! 2026-07-28, when the backend may need input from the client (multi-round-trip requests,
//! SEP-2322). The router hands such a call here (`x-mcp-relay-server`, the body already
//! carrying the 2026-07-28 envelope); the broker owns it until it has a final answer:
//!
//! 1. the body goes to the backend as it is, with `Mcp-Method` / `Mcp-Name`;
//! 2. notifications on the backend's answer are passed to the client's SSE stream;
//! 3. an `input_required` result becomes one server request per input request
//!    (`elicitation/create`, `sampling/createMessage`, `roots/list`) on that stream, with ids
//!    the gateway issues; the client POSTs its answers, which the router sends here
//!    ([`deliver`]);
//! 4. with every answer in, the request is sent again with `inputResponses` and the backend's
//!    `requestState`, and so on until a final result (or error), which answers the client's
//!    id.
//!
//! Bounds: [`MAX_ROUNDS`] repeats, [`MAX_INPUT_REQUESTS`] per round, `--max-waiting-calls`
//! questions waiting in the process and `--input-wait` for the client's answers (the bounds of
//! the opposite direction, `mrtr`), the upstream client's timeout for the start of each backend
//! exchange. A client that goes away ends the call.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use mcp_gateway_identity::Caller;
use mcp_gateway_protocol::modern::input;
use mcp_gateway_protocol::{Kind, Message, codes, error_body, modern, upgrade, versions};
use mcp_gateway_upstream::UpstreamClient;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tracing::debug;

use crate::{BrokerError, BrokerState};

/// Most times one call is sent to the backend (the first time and its repeats).
pub const MAX_ROUNDS: usize = 10;
/// Most input requests one `input_required` result may carry.
pub const MAX_INPUT_REQUESTS: usize = 16;
/// Default of how long the gateway waits for a client's answers to one round (a person may
/// be answering an elicitation): `--input-wait`'s.
const DEFAULT_WAIT: Duration = Duration::from_secs(600);
/// Default of the most questions waiting in this process: `--max-waiting-calls`'.
const DEFAULT_LIMIT: usize = 1024;
/// SSE comment interval on the client's stream while it is being asked.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Prefix of the ids of the gateway's questions (no `:`, so the router never takes an
/// answer for a backend's, see `mcp_gateway_protocol::server_request`).
const ASK_ID_PREFIX: &str = "mcp-gateway-ask-";

/// The gateway's questions to 2025 clients that wait for an answer, by id. Only answers
/// (client POSTs of JSON-RPC responses with these ids) take the lock, never a routed call.
pub struct InputAsks {
    waiting: Mutex<HashMap<String, Waiting>>,
    next: AtomicU64,
    wait: Duration,
    limit: usize,
}

impl Default for InputAsks {
    fn default() -> Self {
        Self::new(DEFAULT_WAIT, DEFAULT_LIMIT)
    }
}

struct Waiting {
    /// The gateway session asked: only it may answer.
    session: String,
    answer: oneshot::Sender<String>,
}

impl InputAsks {
    /// Answers are awaited at most `wait`; at most `limit` questions wait at once.
    pub fn new(wait: Duration, limit: usize) -> Self {
        Self {
            waiting: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            wait,
            limit,
        }
    }

    /// Registers a question of `session`; `None` when `limit` are waiting, or a quarter of
    /// them are `session`'s.
    fn ask(self: &Arc<Self>, session: &str) -> Option<(String, Question)> {
        let id = format!(
            "{ASK_ID_PREFIX}{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.waiting.lock().ok()?;
        if waiting.len() >= self.limit
            || waiting.values().filter(|w| w.session == session).count()
                >= crate::mrtr::per_owner(self.limit)
        {
            return None;
        }
        waiting.insert(
            id.clone(),
            Waiting {
                session: session.to_owned(),
                answer: tx,
            },
        );
        let question = Question {
            asks: self.clone(),
            id: id.clone(),
            answer: rx,
        };
        Some((id, question))
    }

    /// Hands `answer` to the question `id` if `session` was asked it.
    fn answer(&self, session: &str, id: &str, answer: &str) -> bool {
        if !id.starts_with(ASK_ID_PREFIX) {
            return false;
        }
        let Ok(mut waiting) = self.waiting.lock() else {
            return false;
        };
        if waiting.get(id).is_none_or(|w| w.session != session) {
            return false;
        }
        let Some(question) = waiting.remove(id) else {
            return false;
        };
        drop(waiting);
        question.answer.send(answer.to_owned()).is_ok()
    }

    fn forget(&self, id: &str) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(id);
        }
    }
}

/// One question waiting for its answer; forgotten when dropped.
struct Question {
    asks: Arc<InputAsks>,
    id: String,
    answer: oneshot::Receiver<String>,
}

impl Drop for Question {
    fn drop(&mut self) {
        self.asks.forget(&self.id);
    }
}

/// A client's answer (a JSON-RPC response POSTed in `session`) to one of the gateway's
/// questions: handed to the call waiting for it. `false` when no question of `session` has
/// that id (not the gateway's, answered already, or another session's).
pub(crate) fn deliver(state: &BrokerState, session: &str, msg: &Message<'_>) -> bool {
    let Some(id) = msg
        .id_raw()
        .and_then(|raw| serde_json::from_str::<String>(raw).ok())
    else {
        return false;
    };
    state.input_asks.answer(session, &id, msg.body())
}

/// Carries the request `body` of `session` (the router's, already in 2026-07-28 form) to
/// `server`, answering the client on an SSE stream (see the module documentation); `read`: the
/// answer is a read's whose contents get the exposed URIs back.
pub(crate) async fn call(
    state: &Arc<BrokerState>,
    session: &str,
    caller: Option<&Caller>,
    server: &str,
    read: bool,
    msg: &Message<'_>,
    body: &[u8],
) -> Result<Response, BrokerError> {
    let id = msg.id_raw().map(str::to_owned);
    let fail = |code: i64, message: String| BrokerError::new(StatusCode::OK, code, message);
    if msg.kind() != Kind::Request {
        return Err(fail(
            codes::INVALID_REQUEST,
            "only requests are relayed".into(),
        ));
    }
    let config = state.config.load();
    let Some(server) = config.server(server).filter(|s| s.enabled).cloned() else {
        return Err(fail(
            codes::INVALID_PARAMS,
            format!("unknown MCP server '{server}'"),
        )
        .with_id(id.as_deref()));
    };
    let upstream = state
        .caller_upstream(&server, caller)
        .await
        .map_err(|e| fail(codes::INTERNAL_ERROR, e.to_string()).with_id(id.as_deref()))?;
    let headers = backend_headers(msg)
        .ok_or_else(|| fail(codes::INVALID_PARAMS, "bad method or name".into()))?;
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| fail(codes::PARSE_ERROR, "body is not UTF-8".into()))?;
    let (tx, rx) = mpsc::channel::<String>(16);
    let call = Call {
        state: state.clone(),
        session: session.to_owned(),
        upstream,
        server,
        read,
        headers,
        tx,
    };
    tokio::spawn(async move {
        let id = id.unwrap_or_else(|| "null".to_owned());
        let last = match call.run(body, &id).await {
            Ok(answer) => answer,
            Err((code, message)) => {
                debug!(server = %call.server.name, code, %message, "relayed call failed");
                String::from_utf8_lossy(&error_body(Some(&id), code, &message, None)).into_owned()
            }
        };
        let _ = call.tx.send(last).await;
    });
    let stream = futures::StreamExt::map(ReceiverStream::new(rx), |text| {
        // A raw CR can only be JSON whitespace (strings escape it), and SSE lines must not
        // carry one.
        Ok::<_, std::convert::Infallible>(Event::default().data(text.replace('\r', " ")))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// The 2026-07-28 headers of the request in `msg`: version, and its method and name mirrored.
fn backend_headers(msg: &Message<'_>) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    let method = msg.method()?;
    headers.insert(
        HeaderName::from_static(mcp_gateway_protocol::transport::PROTOCOL_VERSION),
        HeaderValue::from_static(versions::MODERN[0]),
    );
    headers.insert(
        HeaderName::from_static(modern::METHOD_HEADER),
        HeaderValue::from_str(method).ok()?,
    );
    if let Some(field) = modern::name_source(method)
        && let Some(name) = msg.param_str(&[field])
    {
        let value = modern::encode_header_value(&name.value);
        headers.insert(
            HeaderName::from_static(modern::NAME_HEADER),
            HeaderValue::from_str(&value).ok()?,
        );
    }
    Some(headers)
}

/// One relayed call: where it goes and the client's stream.
struct Call {
    state: Arc<BrokerState>,
    session: String,
    upstream: UpstreamClient,
    server: mcp_gateway_config::Server,
    /// The answer is a `resources/read`'s by an exposed URI.
    read: bool,
    headers: HeaderMap,
    tx: mpsc::Sender<String>,
}

/// An error answer: code and message.
type Failure = (i64, String);

#[derive(Deserialize)]
struct Outcome<'a> {
    #[serde(rename = "resultType", default)]
    result_type: Option<String>,
    #[serde(rename = "inputRequests", borrow, default)]
    input_requests: Option<BTreeMap<String, &'a RawValue>>,
    #[serde(rename = "requestState", borrow, default)]
    request_state: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct InputRequest<'a> {
    method: String,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

impl Call {
    /// Sends the call until the backend's final answer, which it returns with the client's
    /// `id` (JSON text).
    async fn run(&self, first: String, id: &str) -> Result<String, Failure> {
        let original =
            Message::parse(first.as_bytes()).map_err(|e| (codes::INTERNAL_ERROR, e.to_string()))?;
        let id_range = original
            .id_range()
            .ok_or_else(|| (codes::INVALID_REQUEST, "a request needs an id".to_owned()))?;
        // What the last round asked for: the client's answers and the backend's state.
        let mut retry: Option<(Option<String>, Option<String>)> = None;
        for _ in 0..MAX_ROUNDS {
            // The backend gets an id of the gateway's (the client's may be one it cannot
            // read, e.g. beyond 2^53 for a JavaScript server); the answer gets the client's.
            let backend_id = self.state.input_asks.next.fetch_add(1, Ordering::Relaxed);
            let mut edits = vec![(id_range.clone(), backend_id.to_string())];
            if let Some((responses, state)) = &retry {
                let added = upgrade::retry(&original, responses.as_deref(), state.as_deref())
                    .ok_or_else(|| {
                        (codes::INVALID_PARAMS, "params must be an object".to_owned())
                    })?;
                edits.extend(added);
            }
            let body = upgrade::apply(&first, &mut edits);
            let answer = self.exchange(&body).await?;
            let msg = Message::parse(answer.as_bytes())
                .map_err(|e| upstream_failure(format!("an answer that is not JSON-RPC: {e}")))?;
            let input = msg
                .result_raw()
                .and_then(|raw| serde_json::from_str::<Outcome<'_>>(raw).ok())
                .filter(|o| o.result_type.as_deref() == Some(input::INPUT_REQUIRED));
            let Some(input) = input else {
                // The final answer, with the gateway's names, for the client's own id.
                let answer = self.to_client(answer, self.read);
                let Ok(msg) = Message::parse(answer.as_bytes()) else {
                    return Ok(answer);
                };
                return Ok(match msg.id_range() {
                    Some(range) => String::from_utf8(mcp_gateway_protocol::splice_raw(
                        answer.as_bytes(),
                        range,
                        id,
                    ))
                    .unwrap_or(answer),
                    None => answer,
                });
            };
            let responses = match &input.input_requests {
                Some(requests) if !requests.is_empty() => Some(self.ask(requests).await?),
                _ => None,
            };
            let state = input.request_state.map(|raw| raw.get().to_owned());
            if responses.is_none() && state.is_none() {
                return Err(upstream_failure(
                    "input_required without input requests or request state".into(),
                ));
            }
            retry = Some((responses, state));
        }
        Err(upstream_failure(format!(
            "still asked for input after {MAX_ROUNDS} rounds"
        )))
    }

    /// `message` as the client must see it (the backend's URIs replaced by the gateway's; see
    /// `ToClient`); `read`: it answers a read.
    fn to_client(&self, message: String, read: bool) -> String {
        let to_client = mcp_gateway_protocol::ToClient {
            server: &self.server.name,
            prefix: &self.server.tool_prefix,
        };
        to_client.rewrite(&message, read).unwrap_or(message)
    }

    /// One backend exchange: notifications go to the client, the response is returned.
    async fn exchange(&self, body: &str) -> Result<String, Failure> {
        let mut answer = self
            .upstream
            .call_with(
                &self.server.url,
                self.headers.clone(),
                body.as_bytes().to_vec(),
            )
            .await
            .map_err(|e| upstream_failure(e.to_string()))?;
        // Read for as long as the backend takes (a tool may run long), unless the client goes.
        loop {
            let next = tokio::select! {
                next = answer.next() => next,
                () = self.tx.closed() => return Err(gone()),
            };
            let Some(next) = next else { break };
            let text = next.map_err(|e| upstream_failure(e.to_string()))?;
            match Message::parse(text.as_bytes()).map(|m| m.kind()) {
                Ok(Kind::Response) => return Ok(text),
                Ok(Kind::Notification) => {
                    if self.tx.send(self.to_client(text, false)).await.is_err() {
                        return Err(gone());
                    }
                }
                // A 2026-07-28 server asks through input_required, never on the stream.
                Ok(Kind::Request) | Err(_) => {
                    debug!(server = %self.server.name, "dropped a message on a relayed answer");
                }
            }
        }
        Err(upstream_failure(
            "the answer ended without a response".into(),
        ))
    }

    /// Asks the client every input request of one round and returns `inputResponses` (JSON
    /// text: the client's results by key).
    async fn ask(&self, requests: &BTreeMap<String, &RawValue>) -> Result<String, Failure> {
        if requests.len() > MAX_INPUT_REQUESTS {
            return Err(upstream_failure(format!(
                "{} input requests in one round (at most {MAX_INPUT_REQUESTS})",
                requests.len()
            )));
        }
        let mut questions = Vec::with_capacity(requests.len());
        for (key, raw) in requests {
            let request: InputRequest<'_> = serde_json::from_str(raw.get())
                .map_err(|e| upstream_failure(format!("input request {key:?}: {e}")))?;
            if !input::is_input_method(&request.method) {
                return Err(upstream_failure(format!(
                    "input request {key:?} is {:?}, which a client cannot be asked",
                    request.method
                )));
            }
            let (ask_id, question) = self.state.input_asks.ask(&self.session).ok_or_else(|| {
                (
                    codes::INTERNAL_ERROR,
                    "the gateway is waiting for too many answers; retry later".to_owned(),
                )
            })?;
            let id = serde_json::Value::String(ask_id).to_string();
            let method = serde_json::Value::String(request.method.clone()).to_string();
            let text = match request.params {
                Some(params) => {
                    format!(
                        r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{}}}"#,
                        params.get()
                    )
                }
                None => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{method}}}"#),
            };
            if self.tx.send(text).await.is_err() {
                return Err(gone());
            }
            questions.push((key, request.method, question));
        }
        let mut responses = String::from("{");
        let wait = self.state.input_asks.wait;
        let deadline = tokio::time::Instant::now() + wait;
        for (key, method, mut question) in questions {
            let answer = tokio::select! {
                answer = tokio::time::timeout_at(deadline, &mut question.answer) => answer,
                () = self.tx.closed() => return Err(gone()),
            };
            let answer = match answer {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => return Err(gone()),
                Err(_) => {
                    return Err((
                        codes::REQUEST_TIMEOUT,
                        format!("the client did not answer {method} within {wait:?}"),
                    ));
                }
            };
            let msg = Message::parse(answer.as_bytes())
                .map_err(|e| (codes::INVALID_REQUEST, e.to_string()))?;
            let Some(result) = msg.result_raw() else {
                let error = msg.error_raw().unwrap_or("null");
                return Err((
                    codes::INTERNAL_ERROR,
                    format!("the client refused {method} (input {key:?}): {error}"),
                ));
            };
            if responses.len() > 1 {
                responses.push(',');
            }
            responses.push_str(&serde_json::Value::String(key.clone()).to_string());
            responses.push(':');
            responses.push_str(result);
        }
        responses.push('}');
        Ok(responses)
    }
}

fn upstream_failure(message: String) -> Failure {
    (
        codes::INTERNAL_ERROR,
        format!("MCP server error: {message}"),
    )
}

/// The client went away: nobody to answer.
fn gone() -> Failure {
    (codes::CONNECTION_CLOSED, "the client went away".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_session_asked_answers_and_only_once() {
        let asks = Arc::new(InputAsks::default());
        let (id, mut question) = asks.ask("s1").expect("room");
        assert!(id.starts_with(ASK_ID_PREFIX) && !id.contains(':'), "{id}");
        assert!(!asks.answer("s2", &id, "{}"), "another session");
        assert!(
            !asks.answer("s1", "7", "{}"),
            "not one of the gateway's ids"
        );
        assert!(asks.answer("s1", &id, r#"{"result":{}}"#));
        assert!(!asks.answer("s1", &id, "{}"), "answered already");
        assert_eq!(
            (&mut question.answer).await.expect("answer"),
            r#"{"result":{}}"#
        );
        drop(question);
        assert!(asks.waiting.lock().expect("lock").is_empty());
    }

    #[test]
    fn one_session_takes_a_quarter_of_the_places_at_most() {
        let asks = Arc::new(InputAsks::new(DEFAULT_WAIT, 8));
        let held: Vec<_> = (0..2).map(|_| asks.ask("s1").expect("room")).collect();
        assert!(
            asks.ask("s1").is_none(),
            "a third question of the same session"
        );
        assert!(
            asks.ask("s2").is_some(),
            "another session still gets a place"
        );
        drop(held);
    }

    #[test]
    fn a_question_dropped_unanswered_is_forgotten() {
        let asks = Arc::new(InputAsks::default());
        let (id, question) = asks.ask("s1").expect("room");
        drop(question);
        assert!(!asks.answer("s1", &id, "{}"));
        assert!(asks.waiting.lock().expect("lock").is_empty());
    }
}
