//! Envoy's hand-off of a backend's lost session on the routes whose responses the router
//! does not see (see `mcp_gateway_protocol::handoff` for the whole exchange).

use mcp_gateway_protocol::{codes, handoff, transport};

use crate::RouteError;
use crate::backends::Backends;
use crate::held;
use crate::plan::Plan;

/// What the hand-off names: the request that a backend answered 404.
#[derive(Debug, Default)]
pub struct SessionLost {
    server: Option<String>,
    gateway_session: Option<String>,
    backend_session: Option<String>,
    /// The failed request's id as raw JSON text.
    request_id: Option<String>,
}

impl SessionLost {
    /// The hand-off's details when these are the headers of one (its path); `None` for
    /// every other request, after looking at `:path` only.
    pub fn from_headers<'h>(
        headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
    ) -> Option<Self> {
        let (_, path) = headers.clone().find(|(key, _)| *key == ":path")?;
        let path = path.split(|b| *b == b'?').next().unwrap_or_default();
        if path != handoff::SESSION_LOST_PATH.as_bytes() {
            return None;
        }
        let mut lost = Self::default();
        for (key, value) in headers {
            let slot = match key {
                handoff::LOST_SERVER_HEADER => &mut lost.server,
                handoff::LOST_GATEWAY_SESSION_HEADER => &mut lost.gateway_session,
                handoff::LOST_REQUEST_ID_HEADER => &mut lost.request_id,
                transport::SESSION_ID => &mut lost.backend_session,
                _ => continue,
            };
            *slot = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty())
                .map(str::to_owned);
        }
        Some(lost)
    }

    /// The request id when it is one (a JSON number or string); anything else is answered
    /// with a `null` id.
    fn request_id(&self) -> Option<&str> {
        let raw = self.request_id.as_deref()?;
        match serde_json::from_str::<serde_json::Value>(raw).ok()? {
            serde_json::Value::Number(_) | serde_json::Value::String(_) => Some(raw),
            _ => None,
        }
    }

    /// Answers the hand-off: forgets the backend session if it is still the one on record
    /// for (gateway session, server), so the client's retry opens a new one, and tells the
    /// client to retry. The record must match the backend's own session id, which clients
    /// never see, so a client sending this request itself cannot make the gateway forget
    /// anything.
    ///
    /// `subject` is the verified caller's, if the hand-off carries one. With auth on it
    /// usually carries none: Envoy's internal redirect replays the headers as the router
    /// changed them for the backend, the client's token removed (or replaced by the server's
    /// credential). The session id is then checked against the subject its record is bound
    /// to, and only when the hand-off names the backend session on record: without that
    /// secret a hand-off is answered as for an unknown session.
    pub async fn answer(self, backends: &impl Backends, subject: Option<&str>) -> Plan {
        let id = self.request_id();
        let Some(gateway) = self.gateway_session.as_deref() else {
            return Plan::reject(&RouteError::UnknownSession, id);
        };
        if !self.valid_session(backends, gateway, subject).await {
            return Plan::reject(&RouteError::UnknownSession, id);
        }
        let Some(server) = self.server.as_deref() else {
            let error = RouteError::BadRequest {
                code: codes::INVALID_REQUEST,
                message: "incomplete backend session hand-off".to_owned(),
            };
            return Plan::reject(&error, id);
        };
        if let Some(backend) = self.backend_session.as_deref() {
            backends.forget_if_current(gateway, server, backend).await;
        }
        let error = RouteError::BackendSessionLost {
            server: server.to_owned(),
        };
        Plan::reject(&error, id)
    }

    /// Whether `gateway` is a session of the hand-off's caller, or else of the binding on
    /// record for a backend session the hand-off names exactly.
    async fn valid_session(
        &self,
        backends: &impl Backends,
        gateway: &str,
        subject: Option<&str>,
    ) -> bool {
        // A held session (a 2026-07-28 client's) is the caller's when its key is.
        if backends.session_valid_for(gateway, subject) || held::belongs_to(gateway, subject) {
            return true;
        }
        // Without the backend's secret id this gains nothing, whoever calls.
        let (Some(server), Some(backend)) =
            (self.server.as_deref(), self.backend_session.as_deref())
        else {
            return false;
        };
        match backends
            .bound_subject_if_current(gateway, server, backend)
            .await
        {
            Some(bound) => {
                backends.session_valid_for(gateway, bound.as_deref())
                    || held::belongs_to(gateway, bound.as_deref())
            }
            None => false,
        }
    }
}
