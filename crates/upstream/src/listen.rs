//! A backend's server-to-client stream: the GET stream of a session, where a server sends
//! notifications (`list_changed`, `resources/updated`, log messages) and requests
//! (sampling, elicitation, roots) that are not tied to a client request.

use std::collections::VecDeque;

use reqwest::Response;
use reqwest::header::{ACCEPT, HeaderValue};
use url::Url;

use crate::sse::{SseEvent, SseParser};
use crate::transport::{MAX_MESSAGE_BYTES, describe_status, send_error};
use crate::{BackendSession, UpstreamClient, UpstreamError};

const EVENT_STREAM: &str = "text/event-stream";

/// An open GET stream of one backend session.
pub struct Listener {
    response: Response,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// Opens the session's GET stream. `Ok(None)` when the backend offers none (405).
    /// Only opening is bounded by the client's timeout; the stream itself stays open.
    pub async fn listen(
        &self,
        url: &Url,
        session: &BackendSession,
        last_event_id: Option<&str>,
    ) -> Result<Option<Listener>, UpstreamError> {
        let mut request = self
            .http()
            .get(url.clone())
            .headers(self.headers(Some(session))?)
            .header(ACCEPT, EVENT_STREAM);
        if let Some(id) = last_event_id {
            let id = HeaderValue::from_str(id).map_err(|_| {
                UpstreamError::Protocol("event id is not a valid header value".into())
            })?;
            request = request.header(crate::transport::LAST_EVENT_ID, id);
        }
        let response = tokio::time::timeout(self.timeout(), request.send())
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(send_error)?;
        let status = response.status();
        if status == reqwest::StatusCode::METHOD_NOT_ALLOWED {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(describe_status(response).await);
        }
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with(EVENT_STREAM)
            });
        if !is_stream {
            return Err(UpstreamError::Protocol(
                "GET stream is not an event stream".into(),
            ));
        }
        Ok(Some(Listener {
            response,
            parser: SseParser::new(MAX_MESSAGE_BYTES),
            ready: VecDeque::new(),
        }))
    }
}

impl UpstreamClient {
    /// Opens a `subscriptions/listen` stream (MCP 2026-07-28) in the stand-in `session`
    /// ([`BackendSession::modern`]) for the notifications `filter` chooses (e.g.
    /// `{"toolsListChanged": true}`). Its first event should be the backend's
    /// acknowledgement. `Ok(None)` when the backend does not serve it (404 or 405). Only
    /// opening is bounded by the client's timeout; the stream itself stays open.
    pub async fn listen_modern(
        &self,
        url: &Url,
        session: &BackendSession,
        filter: serde_json::Value,
    ) -> Result<Option<Listener>, UpstreamError> {
        const METHOD: &str = "subscriptions/listen";
        let mut headers = self.headers(Some(session))?;
        let params = crate::modern::envelop(
            session,
            &self.declared(),
            METHOD,
            Some(serde_json::json!({ "notifications": filter })),
            &mut headers,
        )?;
        let body = crate::message::encode(Some(self.next_id()), METHOD, params.as_ref())?;
        let request = self
            .http()
            .post(url.clone())
            .headers(headers)
            .header(ACCEPT, "application/json, text/event-stream")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let response = tokio::time::timeout(self.timeout(), request.send())
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(send_error)?;
        let status = response.status();
        if status == reqwest::StatusCode::METHOD_NOT_ALLOWED
            || status == reqwest::StatusCode::NOT_FOUND
        {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(describe_status(response).await);
        }
        stream_of(response).map(Some)
    }
}

/// The listener of an answer that must be an event stream.
fn stream_of(response: Response) -> Result<Listener, UpstreamError> {
    let is_stream = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with(EVENT_STREAM)
        });
    if !is_stream {
        return Err(UpstreamError::Protocol(
            "the answer is not an event stream".into(),
        ));
    }
    Ok(Listener {
        response,
        parser: SseParser::new(MAX_MESSAGE_BYTES),
        ready: VecDeque::new(),
    })
}

impl Listener {
    /// The next event; `None` when the backend closed the stream.
    pub async fn next(&mut self) -> Option<Result<SseEvent, UpstreamError>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => match self.parser.feed(&chunk) {
                    Ok(events) => self.ready.extend(events),
                    Err(e) => return Some(Err(e)),
                },
                Ok(None) => return None,
                Err(e) => return Some(Err(UpstreamError::Connect(crate::transport::describe(&e)))),
            }
        }
    }

    /// The id of the last event received, for resuming with `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.parser.last_event_id()
    }
}
