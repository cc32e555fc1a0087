//! One HTTP exchange with a backend over the streamable-HTTP transport: POST a
//! JSON-RPC message and read the answer, which is either one JSON body or an
//! event stream carrying the response (possibly after other messages, and
//! possibly across a resumption with `Last-Event-ID`).

use std::error::Error as StdError;
use std::time::Duration;

use futures::FutureExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tracing::debug;
use url::Url;

use crate::error::UpstreamError;
use crate::message::{error_for, response_for};
use crate::sse::{SseEvent, SseParser};

/// Largest JSON body or single event we accept from a backend.
pub(crate) const MAX_MESSAGE_BYTES: usize = 32 << 20;
/// How much of an error body is read to look for a JSON-RPC error.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;
/// How many times a stream that ends before the response is resumed.
const MAX_RESUMPTIONS: u32 = 3;
/// Delay before resuming when the server sent no `retry` field.
const DEFAULT_RESUME_DELAY: Duration = Duration::from_millis(200);
/// Upper bound on the server-requested delay before resuming.
const MAX_RESUME_DELAY: Duration = Duration::from_secs(5);

const ACCEPT_ANY: &str = "application/json, text/event-stream";
const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
pub(crate) const LAST_EVENT_ID: HeaderName =
    HeaderName::from_static(mcp_gateway_protocol::transport::LAST_EVENT_ID);

/// One exchange with one backend URL, with the session headers to send.
pub(crate) struct Exchange<'a> {
    http: &'a reqwest::Client,
    url: &'a Url,
    headers: HeaderMap,
}

impl<'a> Exchange<'a> {
    pub(crate) fn new(http: &'a reqwest::Client, url: &'a Url, headers: HeaderMap) -> Self {
        Self { http, url, headers }
    }

    /// POSTs request `id`; returns the response headers and the JSON-RPC result.
    pub(crate) async fn request(
        &self,
        id: u64,
        body: Vec<u8>,
    ) -> Result<(HeaderMap, Value), UpstreamError> {
        let response = self.post(body).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(failure(response, Some(id)).await);
        }
        let headers = response.headers().clone();
        let result = match media_type(&headers) {
            Some(kind) if kind.eq_ignore_ascii_case(JSON) => {
                let body = read_limited(response, MAX_MESSAGE_BYTES).await?;
                let message = serde_json::from_slice(&body).map_err(|e| {
                    UpstreamError::Protocol(format!("response body is not JSON: {e}"))
                })?;
                response_for(message, id).unwrap_or_else(|| {
                    Err(UpstreamError::Protocol(
                        "JSON body does not answer the request".into(),
                    ))
                })
            }
            Some(kind) if kind.eq_ignore_ascii_case(EVENT_STREAM) => {
                self.read_stream(response, id).await
            }
            Some(kind) => Err(UpstreamError::Protocol(format!(
                "HTTP {} with unexpected content type {kind:?}",
                status.as_u16()
            ))),
            None => Err(UpstreamError::Protocol(format!(
                "HTTP {} without a JSON-RPC response",
                status.as_u16()
            ))),
        }?;
        Ok((headers, result))
    }

    /// POSTs a notification (or a response); any success status is accepted.
    pub(crate) async fn notify(&self, body: Vec<u8>) -> Result<(), UpstreamError> {
        let response = self.post(body).await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(failure(response, None).await)
    }

    /// DELETEs the session; 404 and 405 count as done.
    pub(crate) async fn delete(&self) -> Result<(), UpstreamError> {
        let response = self
            .http
            .delete(self.url.clone())
            .headers(self.headers.clone())
            .send()
            .await
            .map_err(send_error)?;
        let status = response.status();
        if status.is_success()
            || status == StatusCode::NOT_FOUND
            || status == StatusCode::METHOD_NOT_ALLOWED
        {
            return Ok(());
        }
        Err(failure(response, None).await)
    }

    async fn post(&self, body: Vec<u8>) -> Result<Response, UpstreamError> {
        self.http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(ACCEPT, ACCEPT_ANY)
            .header(CONTENT_TYPE, JSON)
            .body(body)
            .send()
            .await
            .map_err(send_error)
    }

    /// Reads events until the response to `id` arrives, resuming the stream
    /// with `Last-Event-ID` if the server closes it early.
    async fn read_stream(&self, mut response: Response, id: u64) -> Result<Value, UpstreamError> {
        let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
        let mut resumptions = 0;
        loop {
            while let Some(chunk) = response.chunk().await.map_err(body_error)? {
                let answer = parser
                    .feed(&chunk)?
                    .into_iter()
                    .find_map(|event| answer_in(event, id));
                if let Some(answer) = answer {
                    release(response);
                    return answer;
                }
            }
            let last_id = match parser.last_event_id() {
                Some(last_id) if resumptions < MAX_RESUMPTIONS => last_id.to_owned(),
                _ => {
                    return Err(UpstreamError::Protocol(
                        "event stream ended before the response".into(),
                    ));
                }
            };
            resumptions += 1;
            let delay = parser
                .retry()
                .unwrap_or(DEFAULT_RESUME_DELAY)
                .min(MAX_RESUME_DELAY);
            debug!(attempt = resumptions, "resuming event stream");
            tokio::time::sleep(delay).await;
            response = self.resume(&last_id).await?;
            parser.restart();
        }
    }

    /// GETs the stream again from after `last_id`.
    async fn resume(&self, last_id: &str) -> Result<Response, UpstreamError> {
        let last_id = HeaderValue::from_str(last_id)
            .map_err(|_| UpstreamError::Protocol("event id is not a valid header value".into()))?;
        let response = self
            .http
            .get(self.url.clone())
            .headers(self.headers.clone())
            .header(ACCEPT, EVENT_STREAM)
            .header(LAST_EVENT_ID, last_id)
            .send()
            .await
            .map_err(send_error)?;
        if !response.status().is_success() {
            return Err(failure(response, None).await);
        }
        match media_type(response.headers()) {
            Some(kind) if kind.eq_ignore_ascii_case(EVENT_STREAM) => Ok(response),
            _ => Err(UpstreamError::Protocol(
                "resumed stream is not an event stream".into(),
            )),
        }
    }
}

/// Reads the end of a stream if it has already arrived (servers close the
/// stream after the response), so the connection can be reused; otherwise
/// drops it without waiting.
fn release(mut response: Response) {
    for _ in 0..4 {
        match response.chunk().now_or_never() {
            Some(Ok(Some(_))) => {}
            _ => return,
        }
    }
}

/// The answer to request `id` carried by one event, if it carries it.
fn answer_in(event: SseEvent, id: u64) -> Option<Result<Value, UpstreamError>> {
    if event.event != "message" {
        debug!(event = %event.event, "ignoring non-message event");
        return None;
    }
    if event.data.trim().is_empty() {
        return None;
    }
    match serde_json::from_str(&event.data) {
        Ok(message) => response_for(message, id),
        Err(e) => Some(Err(UpstreamError::Protocol(format!(
            "event data is not JSON: {e}"
        )))),
    }
}

/// The essence of the Content-Type header (`type/subtype`), if any.
fn media_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    (!essence.is_empty()).then_some(essence)
}

/// Turns a non-success response into an error: a JSON-RPC error answering
/// request `id` if the body is one, otherwise the status and start of the body.
/// The error for a non-2xx answer that is not tied to a request id.
pub(crate) async fn describe_status(response: Response) -> UpstreamError {
    failure(response, None).await
}

async fn failure(response: Response, id: Option<u64>) -> UpstreamError {
    let status = response.status().as_u16();
    let body = read_limited(response, MAX_ERROR_BODY_BYTES)
        .await
        .unwrap_or_default();
    if let Some(error) = id.and_then(|id| error_for(&body, id)) {
        return error;
    }
    UpstreamError::Status {
        status,
        body_bytes: body.len(),
    }
}

/// Reads the whole body, failing once it exceeds `limit` bytes.
async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, UpstreamError> {
    let too_big = || UpstreamError::Protocol(format!("response body exceeds {limit} bytes"));
    let expected = response.content_length().unwrap_or(0);
    if expected > limit as u64 {
        return Err(too_big());
    }
    let mut body = Vec::with_capacity(expected as usize);
    while let Some(chunk) = response.chunk().await.map_err(body_error)? {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Maps an error sending a request. Never includes the URL.
pub(crate) fn send_error(error: reqwest::Error) -> UpstreamError {
    let error = error.without_url();
    if error.is_timeout() && !error.is_connect() {
        return UpstreamError::Timeout;
    }
    UpstreamError::Connect(describe(&error))
}

fn body_error(error: reqwest::Error) -> UpstreamError {
    let error = error.without_url();
    if error.is_timeout() {
        return UpstreamError::Timeout;
    }
    UpstreamError::Connect(format!("reading response: {}", describe(&error)))
}

/// The error and its sources, joined with `: `, repeated messages once.
pub(crate) fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if message != last && !last.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        last = message;
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, data: &str) -> SseEvent {
        SseEvent {
            event: kind.into(),
            data: data.into(),
            id: None,
        }
    }

    #[test]
    fn answer_in_skips_priming_and_foreign_events() {
        assert!(answer_in(event("message", ""), 1).is_none());
        assert!(answer_in(event("endpoint", "/x"), 1).is_none());
        assert!(answer_in(event("message", r#"{"jsonrpc":"2.0","method":"n"}"#), 1).is_none());
        let ok = answer_in(
            event("message", r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            1,
        );
        assert!(matches!(ok, Some(Ok(_))));
        let bad = answer_in(event("message", "not json"), 1);
        assert!(matches!(bad, Some(Err(UpstreamError::Protocol(_)))));
    }

    #[test]
    fn media_type_takes_the_essence() {
        let mut headers = HeaderMap::new();
        assert_eq!(media_type(&headers), None);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Text/Event-Stream; charset=utf-8"),
        );
        assert_eq!(media_type(&headers), Some("Text/Event-Stream"));
    }

    #[test]
    fn describe_joins_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("sending")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("refused"));
        assert_eq!(describe(&error), "sending: refused");
    }
}
