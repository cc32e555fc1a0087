//! A request the gateway sends a backend on a client's behalf and reads message by message:
//! the backend's answer may be one JSON body, or an event stream carrying server requests
//! (sampling, elicitation, roots) before the response. Used where the gateway itself must
//! answer those requests (MCP 2026-07-28 clients' multi-round-trip requests).

use std::collections::VecDeque;

use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use url::Url;

use crate::sse::SseParser;
use crate::transport::{MAX_MESSAGE_BYTES, describe, describe_status, send_error};
use crate::{BackendSession, UpstreamClient, UpstreamError};

const ACCEPT_ANY: &str = "application/json, text/event-stream";
const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";

/// The answer of a request sent with [`UpstreamClient::call`], read one JSON-RPC message at
/// a time. Dropping it closes the connection.
pub struct Call {
    response: Option<Response>,
    stream: bool,
    parser: SseParser,
    ready: VecDeque<String>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// POSTs `body` (a JSON-RPC request, as sent) in `session`. Only the exchange's start
    /// is bounded by the client's timeout: the answer is read by [`Call::next`], for as long
    /// as the backend takes.
    pub async fn call(
        &self,
        url: &Url,
        session: &BackendSession,
        body: Vec<u8>,
    ) -> Result<Call, UpstreamError> {
        self.send_call(url, self.headers(Some(session))?, body)
            .await
    }

    /// [`UpstreamClient::call`] without a session, with `headers` (a 2026-07-28 request's:
    /// `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) and the handle's credential.
    pub async fn call_with(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Call, UpstreamError> {
        let mut all = self.headers(None)?;
        all.extend(headers);
        self.send_call(url, all, body).await
    }

    async fn send_call(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Call, UpstreamError> {
        let request = self
            .http()
            .post(url.clone())
            .headers(headers)
            .header(ACCEPT, ACCEPT_ANY)
            .header(CONTENT_TYPE, JSON)
            .body(body);
        let response = tokio::time::timeout(self.timeout(), request.send())
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(send_error)?;
        if !response.status().is_success() {
            return Err(describe_status(response).await);
        }
        let kind = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_start().to_ascii_lowercase())
            .unwrap_or_default();
        let stream = if kind.starts_with(EVENT_STREAM) {
            true
        } else if kind.starts_with(JSON) {
            false
        } else {
            return Err(UpstreamError::Protocol(format!(
                "HTTP {} with unexpected content type {kind:?}",
                response.status().as_u16()
            )));
        };
        Ok(Call {
            response: Some(response),
            stream,
            parser: SseParser::new(MAX_MESSAGE_BYTES),
            ready: VecDeque::new(),
        })
    }

    /// POSTs `body` (a JSON-RPC response or notification) in `session`; any success status
    /// is accepted. Bounded by the client's timeout.
    pub async fn answer(
        &self,
        url: &Url,
        session: &BackendSession,
        body: Vec<u8>,
    ) -> Result<(), UpstreamError> {
        let exchange =
            crate::transport::Exchange::new(self.http(), url, self.headers(Some(session))?);
        tokio::time::timeout(self.timeout(), exchange.notify(body))
            .await
            .map_err(|_| UpstreamError::Timeout)?
    }
}

impl Call {
    /// The next JSON-RPC message of the answer (its JSON text); `None` once the backend
    /// has ended the answer.
    pub async fn next(&mut self) -> Option<Result<String, UpstreamError>> {
        loop {
            if let Some(message) = self.ready.pop_front() {
                return Some(Ok(message));
            }
            let response = self.response.as_mut()?;
            if !self.stream {
                let mut body = Vec::new();
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) if body.len() + chunk.len() > MAX_MESSAGE_BYTES => {
                            self.response = None;
                            return Some(Err(UpstreamError::Protocol(format!(
                                "response body exceeds {MAX_MESSAGE_BYTES} bytes"
                            ))));
                        }
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        Ok(None) => break,
                        Err(e) => {
                            self.response = None;
                            return Some(Err(UpstreamError::Connect(describe(&e))));
                        }
                    }
                }
                self.response = None;
                return Some(
                    String::from_utf8(body)
                        .map_err(|_| UpstreamError::Protocol("response body is not UTF-8".into())),
                );
            }
            match response.chunk().await {
                Ok(Some(chunk)) => match self.parser.feed(&chunk) {
                    Ok(events) => self.ready.extend(
                        events
                            .into_iter()
                            .filter(|e| e.event == "message" && !e.data.trim().is_empty())
                            .map(|e| e.data),
                    ),
                    Err(e) => {
                        self.response = None;
                        return Some(Err(e));
                    }
                },
                Ok(None) => {
                    self.response = None;
                    return None;
                }
                Err(e) => {
                    self.response = None;
                    return Some(Err(UpstreamError::Connect(describe(&e))));
                }
            }
        }
    }
}

/// What another gateway replica answered a forwarded request.
#[derive(Debug)]
pub struct Forwarded {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl UpstreamClient {
    /// POSTs `body` with `headers` to `url` (another replica of the gateway, not an MCP
    /// server: no session, no credential) and reads the whole answer. Only the exchange's
    /// start is bounded by the client's timeout.
    pub async fn forward(
        &self,
        url: &Url,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
    ) -> Result<Forwarded, UpstreamError> {
        let request = self.http().post(url.clone()).headers(headers).body(body);
        let response = tokio::time::timeout(self.timeout(), request.send())
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(send_error)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| UpstreamError::Connect(describe(&e)))?
            .to_vec();
        Ok(Forwarded {
            status,
            content_type,
            body,
        })
    }
}
