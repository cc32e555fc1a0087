use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_gateway_protocol::{TransportError, codes, error_body};
use mcp_gateway_session::{DeclarationError, SessionError};
use thiserror::Error;

/// A failed broker request; turned into a JSON-RPC error body in exactly one place
/// ([`IntoResponse`]), with the HTTP status the transport rules ask for.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct BrokerError {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// JSON-RPC error code.
    pub code: i64,
    /// Human-readable message.
    pub message: String,
    /// The request's id as sent (raw JSON), when known.
    pub id: Option<String>,
    /// The `Allow` header of a 405 answer.
    allow: Option<&'static str>,
    /// The `WWW-Authenticate` header of a 401 answer.
    challenge: Option<String>,
    /// The error's `data` (e.g. the supported versions of an unsupported-version answer).
    data: Option<Box<serde_json::Value>>,
}

impl BrokerError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            id: None,
            allow: None,
            challenge: None,
            data: None,
        }
    }

    /// 401: auth is on and the router vouched for no caller (`challenge` is the
    /// `WWW-Authenticate` value).
    pub fn unauthenticated(challenge: String) -> Self {
        let mut this = Self::new(
            StatusCode::UNAUTHORIZED,
            codes::INVALID_REQUEST,
            "authentication required: send a bearer token (see WWW-Authenticate)",
        );
        this.challenge = Some(challenge);
        this
    }

    /// Attaches the request id the error answers.
    pub fn with_id(mut self, id: Option<&str>) -> Self {
        self.id = id.map(str::to_owned);
        self
    }

    /// Attaches the error's `data`.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(Box::new(data));
        self
    }

    /// 400: the request has no `Mcp-Session-Id`.
    pub fn missing_session() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            "missing Mcp-Session-Id header: call initialize first",
        )
    }

    /// 404: the session does not exist (never issued, ended or expired).
    pub fn unknown_session() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            codes::INVALID_REQUEST,
            "session not found: it has ended or expired; initialize a new one",
        )
    }
}

/// The store's errors: at the session limit, 503 (the client may retry later); the store
/// unreachable (Redis down), 503 as well (retry once it is back); anything else, 500.
impl From<SessionError> for BrokerError {
    fn from(error: SessionError) -> Self {
        let (status, code) = match error {
            SessionError::Full { .. } => (StatusCode::SERVICE_UNAVAILABLE, codes::SESSION_LIMIT),
            SessionError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, codes::INTERNAL_ERROR),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL_ERROR),
        };
        Self::new(status, code, error.to_string())
    }
}

/// A client declaration the session cannot keep: 400, invalid params.
impl From<DeclarationError> for BrokerError {
    fn from(error: DeclarationError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_PARAMS,
            error.to_string(),
        )
    }
}

/// A request head that breaks the transport rules (shared with the router).
impl From<TransportError> for BrokerError {
    fn from(error: TransportError) -> Self {
        let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut this = Self::new(status, error.code(), error.to_string());
        this.allow = error.allow();
        this.data = error.data().map(Box::new);
        this
    }
}

impl IntoResponse for BrokerError {
    fn into_response(self) -> Response {
        let body = error_body(
            self.id.as_deref(),
            self.code,
            &self.message,
            self.data.as_deref(),
        );
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::try_from(c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
