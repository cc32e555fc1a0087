//! The internal API between the Envoy module and its broker-router sidecar: the paths and
//! the messages, defined once for both sides. The module asks it (through Envoy HTTP
//! callouts) what the ext_proc router asks its own session store: is this session id valid,
//! which backend session does it have on a server (opened now, once, if it has none), which
//! servers has it opened, forget one. It also copies the config and the catalog from it.
//!
//! The sidecar serves it on its own listener (`--module-api-address`, loopback), never
//! through Envoy's MCP listener: clients cannot reach it (docs/security.md).

use std::collections::BTreeMap;

use mcp_gateway_catalog::ServerOffer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Opened, RouteError, held};
use mcp_gateway_protocol::asks::AskClass;

/// `GET`: the config and catalog, each only when its generation differs from the one the
/// module names (`?config=<generation>&catalog=<generation>`). Answers a [`State`].
pub const STATE_PATH: &str = "/v1/state";
/// `POST` a [`Query`] (with `subject` when the caller is verified): whether the session id is
/// valid for that subject. Answers a [`Valid`].
pub const SESSION_PATH: &str = "/v1/session";
/// `POST` a [`Query`] with `server`: the backend session, opened once if needed; with `class`
/// too, `session` is a held key (`crate::held`) and the session is held for a 2026-07-28
/// client. Answers `Result<OpenedCopy, Failure>`.
pub const OPEN_PATH: &str = "/v1/open";
/// `POST` a [`CredentialQuery`]: the credential a server is configured with for the caller.
/// Answers `Result<Option<CredentialCopy>, Failure>`.
pub const CREDENTIAL_PATH: &str = "/v1/credential";
/// `POST` a [`Query`] with `server`, a backend that speaks only MCP 2026-07-28: what the
/// session's client declared (its use recorded as for a routed call). Answers
/// `Result<SessionClientCopy, Failure>`.
pub const CLIENT_PATH: &str = "/v1/client";
/// `POST` a [`Query`]: the servers the session has a backend session on. Answers
/// `Result<Vec<String>, Failure>`.
pub const SERVERS_PATH: &str = "/v1/servers";
/// `POST` a [`Query`] with `server` (and `backend`: only if that backend session is still
/// the one on record): forget the backend session. Answers `{}`.
pub const FORGET_PATH: &str = "/v1/forget";

/// What the module asks about one gateway session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The gateway session id.
    pub session: String,
    /// The server, for [`OPEN_PATH`] and [`FORGET_PATH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// For [`FORGET_PATH`]: forget only if this is the backend session on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// For [`SESSION_PATH`]: what the session is bound to, the verified caller's session
    /// subject (issuer and subject, as [`mcp_gateway_identity::Caller::session_subject`]
    /// writes them) and the virtual server of the endpoint (as
    /// `mcp_gateway_config::session_binding` combines them); `None` on `/mcp` with auth off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For [`OPEN_PATH`]: `session` is the held key ([`crate::held::key`]) of this capability
    /// class ([`mcp_gateway_protocol::asks::AskClass::index`]) and the subject the key names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<u8>,
    /// For [`OPEN_PATH`]: the credential the backend session's `initialize` carries when it
    /// is opened now (from [`CREDENTIAL_PATH`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialCopy>,
}

/// Which credential to get: the server's, for the verified caller (`None` with auth off).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialQuery {
    /// The server's name.
    pub server: String,
    /// The verified caller's claims (`mcp_gateway_identity::Caller::claims`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
    /// The caller's bearer token (token exchange needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for CredentialQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialQuery")
            .field("server", &self.server)
            .field("claims", &self.claims)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A [`crate::CredentialHeader`] on the wire.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialCopy {
    /// The header's name.
    pub name: String,
    /// The header's value.
    pub value: String,
}

impl std::fmt::Debug for CredentialCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCopy")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl CredentialCopy {
    /// The copy of `header`; `None` when its value is not text.
    pub fn of(header: &crate::CredentialHeader) -> Option<Self> {
        Some(Self {
            name: header.name().to_owned(),
            value: String::from_utf8(header.value().to_vec()).ok()?,
        })
    }

    /// The header it stands for.
    pub fn header(&self) -> crate::CredentialHeader {
        crate::CredentialHeader::new(&self.name, self.value.as_bytes())
    }
}

impl Query {
    /// The held session `session` names with `class`, when the two agree: the key is the one
    /// [`crate::held::key`] makes of the subject it names and that class.
    pub fn held(&self) -> Option<crate::Held> {
        let class = AskClass::all().nth(usize::from(self.class?))?;
        let subject = held::subject_of(&self.session);
        (held::key(subject.as_deref(), class) == self.session).then(|| crate::Held {
            key: self.session.clone(),
            class,
        })
    }
}

/// Whether a session id is valid (for the subject asked about).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Valid {
    /// Issued by this gateway and not expired.
    pub valid: bool,
}

/// [`Opened`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedCopy {
    /// The backend's session id; `None` when the server is stateless.
    pub session_id: Option<String>,
    /// The protocol version negotiated with the backend.
    pub protocol_version: String,
    /// The client may be asked things (sampling, elicitation, roots).
    pub client_may_be_asked: bool,
}

impl From<Opened> for OpenedCopy {
    fn from(opened: Opened) -> Self {
        Self {
            session_id: opened.session_id,
            protocol_version: opened.protocol_version,
            client_may_be_asked: opened.client_may_be_asked,
        }
    }
}

impl From<OpenedCopy> for Opened {
    fn from(copy: OpenedCopy) -> Self {
        Self {
            session_id: copy.session_id,
            protocol_version: copy.protocol_version,
            client_may_be_asked: copy.client_may_be_asked,
        }
    }
}

/// [`crate::SessionClient`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClientCopy {
    /// `capabilities` as declared (JSON text).
    pub capabilities: String,
    /// `clientInfo` as kept (JSON text).
    pub info: Option<String>,
    /// It declared `sampling`, `elicitation` or `roots`.
    pub may_be_asked: bool,
}

impl From<crate::SessionClient> for SessionClientCopy {
    fn from(client: crate::SessionClient) -> Self {
        Self {
            capabilities: client.capabilities,
            info: client.info,
            may_be_asked: client.may_be_asked,
        }
    }
}

impl From<SessionClientCopy> for crate::SessionClient {
    fn from(copy: SessionClientCopy) -> Self {
        Self {
            capabilities: copy.capabilities,
            info: copy.info,
            may_be_asked: copy.may_be_asked,
        }
    }
}

/// Why the sidecar could not answer a session question, on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum Failure {
    /// The session has ended or never existed.
    UnknownSession,
    /// The backend could not be reached or refused to open a session.
    Unavailable(String),
    /// The gateway failed (e.g. its session store).
    Internal(String),
    /// The server's credential cannot be had.
    Credential(String),
}

impl Failure {
    /// The failure of `error` (the errors a [`crate::Backends`] step returns).
    pub fn of(error: &RouteError) -> Self {
        match error {
            RouteError::UnknownSession => Self::UnknownSession,
            RouteError::BackendUnavailable { reason, .. } => Self::Unavailable(reason.clone()),
            RouteError::Internal(reason) => Self::Internal(reason.clone()),
            RouteError::CredentialUnavailable { reason, .. } => Self::Credential(reason.clone()),
            other => Self::Internal(other.to_string()),
        }
    }

    /// The routing error it stands for, on `server`.
    pub fn into_error(self, server: &str) -> RouteError {
        match self {
            Self::UnknownSession => RouteError::UnknownSession,
            Self::Unavailable(reason) => RouteError::BackendUnavailable {
                server: server.to_owned(),
                reason,
            },
            Self::Internal(reason) => RouteError::Internal(reason),
            Self::Credential(reason) => RouteError::CredentialUnavailable {
                server: server.to_owned(),
                reason,
            },
        }
    }
}

/// The config and catalog, each `None` when the module already has that generation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The config file's text and the generation of the config in force.
    pub config: Option<ConfigText>,
    /// What each server offers and the catalog's generation.
    pub catalog: Option<CatalogCopy>,
}

/// The gateway config as the sidecar's file holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigText {
    /// The sidecar's config generation.
    pub generation: u64,
    /// The config file's YAML (validated again by the module).
    pub yaml: String,
}

/// The sidecar's catalog, as the offers it is built from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogCopy {
    /// The sidecar's catalog generation.
    pub generation: u64,
    /// Each server's offer.
    pub servers: Vec<OfferCopy>,
}

/// One server's [`ServerOffer`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfferCopy {
    /// The server's name.
    pub name: String,
    /// The server's prefix.
    pub prefix: String,
    /// The backend answered the last discovery.
    pub healthy: bool,
    /// The capabilities the backend declared.
    pub capabilities: Value,
    /// Tools, prompts, resources and resource templates, as the backend listed them.
    pub lists: [Vec<Value>; 4],
    /// Why the backend is unhealthy, when it is.
    pub last_error: Option<String>,
    /// The tools offered only to some classes of clients (see [`ServerOffer`]).
    #[serde(default)]
    pub tool_classes: BTreeMap<String, u8>,
    /// Which protocol eras the backend speaks.
    #[serde(default)]
    pub protocol: mcp_gateway_catalog::BackendProtocol,
}

impl OfferCopy {
    /// The copy of `server`'s offer.
    pub fn new(server: &str, offer: &ServerOffer) -> Self {
        Self {
            name: server.to_owned(),
            prefix: offer.prefix.clone(),
            healthy: offer.healthy,
            capabilities: offer.capabilities.clone(),
            lists: offer.lists.clone(),
            last_error: offer.last_error.clone(),
            tool_classes: offer.tool_classes.clone(),
            protocol: offer.protocol,
        }
    }

    /// The server's name and offer.
    pub fn into_offer(self) -> (String, ServerOffer) {
        let offer = ServerOffer {
            prefix: self.prefix,
            healthy: self.healthy,
            capabilities: self.capabilities,
            lists: self.lists,
            last_error: self.last_error,
            tool_classes: self.tool_classes,
            protocol: self.protocol,
        };
        (self.name, offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_round_trip_to_the_same_routing_errors() {
        let errors = [
            RouteError::UnknownSession,
            RouteError::BackendUnavailable {
                server: "calc".into(),
                reason: "connection refused".into(),
            },
            RouteError::Internal("store down".into()),
            RouteError::CredentialUnavailable {
                server: "calc".into(),
                reason: "token endpoint down".into(),
            },
        ];
        for error in errors {
            let text = serde_json::to_string(&Err::<OpenedCopy, _>(Failure::of(&error)))
                .expect("serialises");
            let back: Result<OpenedCopy, Failure> =
                serde_json::from_str(&text).expect("deserialises");
            let failure = back.expect_err("a failure");
            assert_eq!(failure.into_error("calc"), error, "{text}");
        }
    }

    /// A held key goes with its class; a key that does not agree with the class, or is no
    /// held key, names no held session.
    #[test]
    fn a_held_query_names_the_key_it_was_made_from() {
        for subject in [None, Some("2:isalice")] {
            for class in AskClass::all() {
                let key = held::key(subject, class);
                let query = Query {
                    session: key.clone(),
                    class: Some(u8::try_from(class.index()).expect("small")),
                    ..Query::default()
                };
                let text = serde_json::to_string(&query).expect("serialises");
                let back: Query = serde_json::from_str(&text).expect("deserialises");
                let held = back.held().expect("a held session");
                assert_eq!((held.key.as_str(), held.class), (key.as_str(), class));
            }
        }
        let query = |session: &str, class: u8| Query {
            session: session.to_owned(),
            class: Some(class),
            ..Query::default()
        };
        let alice = held::key(Some("2:isalice"), AskClass::NONE);
        assert_eq!(query(&alice, 1).held(), None, "another class");
        assert_eq!(query(&alice, 200).held(), None, "no such class");
        assert_eq!(query("AbCd-_12", 0).held(), None, "a session id");
        assert_eq!(query("held.0.zz", 0).held(), None, "not hex");
        assert_eq!(Query::default().held(), None);
    }

    #[test]
    fn an_offer_survives_the_wire() {
        let offer = ServerOffer::tools("calc_", vec![serde_json::json!({"name": "add"})]);
        let text = serde_json::to_string(&OfferCopy::new("calc", &offer)).expect("serialises");
        let copy: OfferCopy = serde_json::from_str(&text).expect("deserialises");
        assert_eq!(copy.into_offer(), ("calc".to_owned(), offer));
    }
}
