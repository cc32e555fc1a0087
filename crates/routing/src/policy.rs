//! The routing policy, one documented function per phase of a request. Each takes the
//! request's [`RequestContext`] and returns a [`Plan`]; the steps that may wait go through
//! [`Backends`].

use std::borrow::Cow;
use std::sync::Arc;

use mcp_gateway_audit::Auditor;
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::{ConfigStore, Server, session_binding};
use mcp_gateway_protocol::asks::AskClass;
use mcp_gateway_protocol::modern::{self, Envelope};
use mcp_gateway_protocol::origin::OriginPolicy;
use mcp_gateway_protocol::transport::{self, Endpoint, Head};
use mcp_gateway_protocol::{Limits, Message, TransportError, events, handoff, upgrade, versions};

use mcp_gateway_identity::{CALLER_HEADER, Caller};

use crate::RouteError;
use crate::answer::{BodyRewriter, Source};
use crate::authn::{Authn, authenticate};
use crate::backends::{Backends, Opened};
use crate::context::{Mirrored, RequestContext};
use crate::credential::CredentialHeader;
use crate::decision::{Addressed, Decision, Target, decide};
use crate::held::{self, Held};
use crate::lost::SessionLost;
use crate::metadata::{Rewrite, RouteMetadata};
use crate::method::{Method, RESPONSE_LABEL, RESUME_LABEL};
use crate::plan::{Plan, Respond, Route};
use crate::replay::Replay;

/// The routing core: the shared config and catalog, and the limits every request meets.
pub struct Policy {
    config: Arc<ConfigStore>,
    catalog: Arc<CatalogStore>,
    max_request_bytes: usize,
    origins: OriginPolicy,
    json_limits: Limits,
}

impl Policy {
    /// A policy over these stores, with default JSON limits.
    pub fn new(
        config: Arc<ConfigStore>,
        catalog: Arc<CatalogStore>,
        max_request_bytes: usize,
        origins: OriginPolicy,
    ) -> Self {
        Self {
            config,
            catalog,
            max_request_bytes,
            origins,
            json_limits: Limits::default(),
        }
    }

    /// Sets the limits on request bodies.
    pub fn set_json_limits(&mut self, limits: Limits) {
        self.json_limits = limits;
    }

    /// The largest request body the policy accepts.
    pub fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    /// Request headers: strip client `x-mcp-*` headers, check the transport rules, remember
    /// the session; answer Envoy's hand-off of a lost backend session; route a GET that
    /// resumes a backend's stream.
    pub async fn request_headers<'h>(
        &self,
        backends: &impl Backends,
        ctx: &mut RequestContext,
        headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
    ) -> Plan {
        if let Some(lost) = SessionLost::from_headers(headers.clone()) {
            let subject = match &ctx.authn {
                Authn::Verified(caller) => Some(caller.session_subject()),
                _ => None,
            };
            return lost.answer(backends, subject.as_deref()).await;
        }
        // The headers backend routes match on go whether the client sent them or not, so the
        // plan always has a mutation and Envoy honours its route cache clearing.
        let mut remove = vec![
            transport::ROUTED_SERVER.to_owned(),
            transport::OBSERVE.to_owned(),
        ];
        let mut head = Head::default();
        let mut replay = Replay::default();
        for (key, value) in headers {
            match key {
                transport::ROUTED_SERVER | transport::OBSERVE => {}
                // The gateway's own, never a backend's to see; read only where Envoy replays.
                handoff::REFUSED_SESSION_HEADER
                | handoff::REPLAY_SERVER_HEADER
                | handoff::REPLAY_SESSION_HEADER => {
                    if ctx.upstream_sessions {
                        replay.read(key, value);
                    }
                    remove.push(key.to_owned());
                }
                k if k.starts_with(transport::INTERNAL_PREFIX) => remove.push(key.to_owned()),
                transport::REQUEST_ID if Auditor::global().is_some() => {
                    ctx.request_id = std::str::from_utf8(value).ok().map(str::to_owned);
                }
                _ => head.push(key, value),
            }
        }
        // The transport rules the broker applies too: path, method, single headers, Origin,
        // protocol version.
        let method = match transport::check(&head, &self.origins) {
            Ok(Endpoint::Mcp(method)) => method,
            Ok(Endpoint::OAuthMetadata | Endpoint::Health | Endpoint::Console) => {
                return strip(remove);
            }
            Ok(Endpoint::ConsoleApi) => return self.console_api(ctx, &head, remove),
            // A POST in a version the gateway does not speak is answered once its body is
            // read, with the request's id (clients match the answer by it to negotiate down).
            Err(error @ TransportError::UnsupportedVersion(_)) if head.is_post() => {
                ctx.reads_body = true;
                ctx.denied = Some(RouteError::Transport(error));
                return strip(remove);
            }
            Err(error) => return Plan::reject(&RouteError::Transport(error), None),
        };
        ctx.reads_body = method == transport::Method::Post;
        // `Mcp-Method` and `Mcp-Name` are checked against the body only on 2026-07-28
        // requests; any other request's copies would reach Envoy's later filters (RBAC, rate
        // limits matching on them) and the backend unchecked.
        if !head.is_modern() {
            remove.extend([
                modern::METHOD_HEADER.to_owned(),
                modern::NAME_HEADER.to_owned(),
            ]);
        }
        let config = self.config.load();
        // A virtual server's endpoint (by path, or by host on /mcp): its subset is enforced on
        // the body, and its sessions are bound to it.
        match config.virtual_server_for(head.virtual_server(), head.authority()) {
            Ok(endpoint) => ctx.virtual_server = endpoint.map(|v| v.name.clone()),
            Err(error) => return Plan::reject(&RouteError::Transport(error), None),
        }
        let replay = replay
            .complete()
            .filter(|_| method == transport::Method::Post);
        let mut set = Vec::new();
        let mut unauthenticated = None;
        if let Some(auth) = config.auth() {
            let authn = std::mem::take(&mut ctx.authn);
            match authenticate(auth, authn, head.authorization().is_some()) {
                Ok(caller) => {
                    // For the broker: the router's word on who calls (clients' copies were
                    // removed above). Removed again for backends.
                    set.push((CALLER_HEADER, caller.to_forwarded().into_bytes()));
                    ctx.caller = Some(caller);
                }
                // A replay comes without the client's token (removed for the backend): its
                // session is checked against the record below.
                Err(error) if replay.is_some() => unauthenticated = Some(error),
                // A POST is refused once its body is read, with the request's id; the
                // session is not looked at (a refused caller learns nothing about it).
                Err(error) if ctx.reads_body => {
                    ctx.denied = Some(error);
                    return strip(remove);
                }
                Err(error) => return Plan::reject(&error, None),
            }
        }
        let subject = ctx.caller.as_ref().map(Caller::session_subject);
        let binding = session_binding(subject.as_deref(), ctx.virtual_server.as_deref());
        if let Some(replay) = replay {
            // Its `Mcp-Session-Id` is the refused backend session: the gateway session comes
            // in the replay's own header.
            let gateway = replay.session.clone();
            match replay
                .admit(backends, binding.as_deref(), unauthenticated)
                .await
            {
                Ok((server, virtual_server)) => {
                    ctx.session = Some(gateway);
                    ctx.replay = Some(server);
                    // A genuine replay's endpoint is the record's; any other keeps its own.
                    if virtual_server.is_some() {
                        ctx.virtual_server = virtual_server;
                    }
                }
                Err(error) => ctx.denied = Some(error),
            }
            return strip_and_set(remove, set);
        }
        // A 2026-07-28 request has no session: an `Mcp-Session-Id` it carries is ignored, as
        // the spec asks. Only requests without a session can be 2026-07-28 ones, so only
        // theirs mirrored headers are kept for the body phase.
        let session = if head.is_modern() {
            None
        } else {
            head.session_id()
        };
        if session.is_none() && method == transport::Method::Post {
            ctx.mirrored = Some(Mirrored::of(&head));
        }
        if let Some(session) = session {
            if !backends.session_valid_for(session, binding.as_deref()) {
                return Plan::reject(&RouteError::UnknownSession, None);
            }
            ctx.session = Some(session.to_owned());
        }
        if method == transport::Method::Get
            && let (Some(gateway), Some(last)) = (session, head.last_event_id())
            && events::parse_event_id(last).is_none()
        {
            return match self.resume(backends, ctx, gateway, last).await {
                Ok(Some(plan)) => plan,
                Ok(None) => strip_and_set(remove, set),
                Err(error) => Plan::reject(&error, None),
            };
        }
        strip_and_set(remove, set)
    }

    /// A GET of the web console's API, for the broker: with auth on, only for a verified
    /// caller (as `/mcp`), whom the broker is told of as for MCP requests.
    fn console_api(&self, ctx: &mut RequestContext, head: &Head<'_>, remove: Vec<String>) -> Plan {
        let config = self.config.load();
        let Some(auth) = config.auth() else {
            return strip(remove);
        };
        let authn = std::mem::take(&mut ctx.authn);
        match authenticate(auth, authn, head.authorization().is_some()) {
            Ok(caller) => {
                let set = vec![(CALLER_HEADER, caller.to_forwarded().into_bytes())];
                strip_and_set(remove, set)
            }
            Err(error) => Plan::reject(&error, None),
        }
    }

    /// A GET that resumes a backend's stream (its `Last-Event-ID` is not the gateway's):
    /// sent to that backend, named in the id (`<server>~<id>`) or the session's only one.
    /// `None` when no backend can be told apart; the broker answers then.
    async fn resume(
        &self,
        backends: &impl Backends,
        ctx: &mut RequestContext,
        gateway: &str,
        last: &str,
    ) -> Result<Option<Plan>, RouteError> {
        let config = self.config.load();
        let (server, original) = match events::parse_backend_event_id(last) {
            Some((server, id)) => (server.to_owned(), id),
            None => {
                let open = backends.open_servers(gateway).await?;
                let [server] = open.as_slice() else {
                    return Ok(None);
                };
                (server.clone(), last)
            }
        };
        let Some(server) = config.server(&server).filter(|s| s.enabled) else {
            return Ok(None);
        };
        let credential = backends.credential(server, ctx.caller.as_ref()).await?;
        let opened = backends
            .open_with(gateway, server, credential.as_ref())
            .await?;
        // Always watched: a resumed stream may carry server requests, task ids and event ids
        // to rewrite whatever the client declared, and resumes are rare.
        // The session id goes on the request itself: a resumed GET is not replayed.
        let (mut set, remove) = backend_headers(
            server,
            &opened,
            RESUME_LABEL,
            true,
            credential.as_ref(),
            None,
        );
        set.push((transport::LAST_EVENT_ID, original.as_bytes().to_vec()));
        let metadata = RouteMetadata {
            method: Cow::Borrowed(RESUME_LABEL),
            server: server.name.clone(),
            addressed: None,
            gateway_session: gateway.to_owned(),
            rewrite: None,
            request_id: None,
            log_floor: None,
        };
        ctx.routed = Some(metadata.clone());
        Ok(Some(Plan::Route(Route {
            set,
            remove,
            credential,
            body: None,
            metadata: Some(metadata),
            clear_route: true,
        })))
    }

    /// The buffered request body: parse it once, decide where it goes, and for a backend
    /// open (or reuse) its session and splice the body.
    pub async fn request_body(
        &self,
        backends: &impl Backends,
        ctx: &mut RequestContext,
        body: &[u8],
    ) -> Plan {
        // Put back afterwards: a data plane may run this phase again (the module does, once
        // its sidecar answered what a step asked), and a 2026-07-28 request needs its
        // mirrored headers each time.
        let mirrored = ctx.mirrored.take();
        let plan = self.body_plan(backends, ctx, body, mirrored.as_ref()).await;
        ctx.mirrored = mirrored;
        plan
    }

    async fn body_plan(
        &self,
        backends: &impl Backends,
        ctx: &mut RequestContext,
        body: &[u8],
        mirrored: Option<&Mirrored>,
    ) -> Plan {
        if body.len() > self.max_request_bytes {
            let error = RouteError::TooLarge {
                size: body.len(),
                limit: self.max_request_bytes,
            };
            return Plan::reject(&error, None);
        }
        // Kept: a phase run again (see `request_body`) must refuse again.
        if let Some(error) = &ctx.denied {
            let id = Message::parse_with(body, self.json_limits)
                .ok()
                .and_then(|msg| msg.id_raw().map(str::to_owned));
            return Plan::reject(error, id.as_deref());
        }
        if body.is_empty() || !ctx.reads_body {
            return Plan::Continue;
        }
        let msg = match Message::parse_with(body, self.json_limits) {
            Ok(msg) => msg,
            Err(e) => {
                let error = RouteError::BadRequest {
                    code: e.code(),
                    message: e.to_string(),
                };
                return Plan::reject(&error, None);
            }
        };
        ctx.method = Some(crate::method::label(msg.method()));
        // A request without a session may be a 2026-07-28 one: its headers must agree with
        // its body. Requests of a 2025 session skip this.
        let envelope = match mirrored {
            Some(mirrored) => match modern::check(&msg, mirrored.view()) {
                Ok(envelope) => envelope,
                Err(error) => return Plan::reject(&RouteError::Transport(error), msg.id_raw()),
            },
            None => None,
        };
        let config = self.config.load();
        let catalog = self.catalog.load();
        if let Some(server) = ctx.replay.clone() {
            return crate::replay::route_again(
                &config, &catalog, backends, ctx, &msg, body, &server,
            )
            .await;
        }
        match decide(&config, &catalog, &msg) {
            Decision::Broker => Plan::Continue,
            Decision::Reject(error) => Plan::reject(&error, msg.id_raw()),
            Decision::Backend(target) => {
                // Outside the endpoint's subset: as if it did not exist.
                if let Err(error) = crate::subset::check(&config, &catalog, ctx, &target) {
                    // A response: as one to a request the gateway did not send.
                    if target.kind == Addressed::Response {
                        return Plan::Continue;
                    }
                    return Plan::reject(&error, msg.id_raw());
                }
                // Refused before any backend session is opened or touched.
                if let Err(error) = crate::authz::authorize(&config, ctx, &msg, &target) {
                    return Plan::reject(&error, msg.id_raw());
                }
                // How it reaches the backend: a 2026-07-28 request to a backend that speaks
                // 2026-07-28 goes as it is; a 2025 client's request to a backend that speaks only
                // 2026-07-28 gets the envelope of the client's gateway session.
                let protocol = catalog.protocol(&target.server.name);
                let reach = match envelope {
                    Some(_) if protocol.speaks_modern() => Reach::Native,
                    None if !protocol.speaks_legacy() => Reach::Upgraded,
                    _ => Reach::Session,
                };
                // A 2026-07-28 client on a held session that declared too little for a tool
                // its backend offers only to clients declaring more.
                if let Some(envelope) = &envelope
                    && matches!(reach, Reach::Session)
                    && target.kind == Addressed::Tool
                    && let Some(name) = msg.param_str(&["name"])
                    && let Some(error) = crate::classes::missing(
                        &catalog,
                        &name.value,
                        AskClass::of_json(envelope.capabilities),
                    )
                {
                    return Plan::reject(&RouteError::Transport(error), msg.id_raw());
                }
                match route(backends, ctx, &msg, body, target, envelope.as_ref(), reach).await {
                    Ok(plan) => plan,
                    Err(error) => Plan::reject(&error, msg.id_raw()),
                }
            }
        }
    }

    /// Response headers of a routed request: the backend's session id back to the
    /// gateway's, a lost backend session or a non-JSON-RPC error turned into a JSON-RPC
    /// error, and the body watched when it may carry ids or URIs to rewrite.
    pub async fn response_headers<'h>(
        &self,
        backends: &impl Backends,
        ctx: &mut RequestContext,
        headers: impl Iterator<Item = (&'h str, &'h [u8])>,
    ) -> Plan {
        let Some(routed) = &ctx.routed else {
            return Plan::Respond(Respond::default());
        };
        let (mut status, mut has_session) = (0_u16, false);
        let (mut event_stream, mut json) = (false, false);
        for (key, value) in headers {
            if key == ":status" {
                status = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default();
            } else if key == transport::SESSION_ID {
                has_session = true;
            } else if key == "content-type" {
                let value = value.to_ascii_lowercase();
                event_stream = value.starts_with(b"text/event-stream");
                json = value.starts_with(b"application/json");
            }
        }
        // (A 2026-07-28 request forwarded as one has no backend session to lose: its 404 is
        // the backend's answer, e.g. -32601 for a method it does not serve.)
        if status == 404 && !routed.gateway_session.is_empty() {
            // The backend no longer knows its session (restart or expiry): forget it so the
            // next request opens a new one, and tell the client to retry rather than ending
            // its gateway session.
            backends
                .forget(&routed.gateway_session, &routed.server)
                .await;
            let error = RouteError::BackendSessionLost {
                server: routed.server.clone(),
            };
            return Plan::reject(&error, routed.request_id.as_deref());
        }
        if status >= 400 && !json && !event_stream {
            // Not JSON-RPC (e.g. a plain-text 415): the client gets a JSON-RPC error instead.
            let error = RouteError::BackendFailed {
                server: routed.server.clone(),
                status,
            };
            return Plan::reject(&error, routed.request_id.as_deref());
        }
        // A held session (a 2026-07-28 client's) has no id to show: the backend's is dropped.
        let held = held::is_held(&routed.gateway_session);
        let set = if has_session && !held {
            vec![(
                transport::SESSION_ID,
                routed.gateway_session.as_bytes().to_vec(),
            )]
        } else {
            Vec::new()
        };
        let mut remove = Vec::new();
        if has_session && held {
            remove.push(transport::SESSION_ID.to_owned());
        }
        // The response filter runs only for calls of clients that can be asked or whose
        // answers need rewriting: SSE answers may carry server requests, JSON answers only
        // the ids or URIs `rewrite` names.
        let watched = routed.rewrite.is_some() || event_stream;
        if !watched {
            return Plan::Respond(Respond {
                set,
                remove,
                ..Respond::default()
            });
        }
        let source = Source {
            server: routed.server.clone(),
            prefix: self
                .config
                .load()
                .server(&routed.server)
                .map(|s| s.tool_prefix.clone())
                .unwrap_or_default(),
            read_contents: routed.rewrite.is_some_and(Rewrite::read_contents),
            stamp: routed.rewrite.and_then(Rewrite::stamp),
            log_floor: routed.log_floor,
        };
        ctx.body = Some(BodyRewriter::new(source, event_stream));
        // The rewrite changes the length (backends send even short SSE answers with one).
        remove.push("content-length".to_owned());
        Plan::Respond(Respond {
            set,
            remove,
            watch_body: true,
        })
    }
}

/// How a routed request reaches its backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// In a backend session: the client's, or one held for a 2026-07-28 client.
    Session,
    /// As the 2026-07-28 request it is (a 2026-07-28 client, a backend that speaks it).
    Native,
    /// A 2025 client's request made a 2026-07-28 one (a backend that speaks only that).
    Upgraded,
}

/// A request bound for `target`: its backend session, the splice, headers and metadata.
///
/// `native`: a 2026-07-28 request (`envelope`) to a backend that speaks 2026-07-28, forwarded
/// as one: no backend session, its `_meta` kept, its answer passed back as the backend wrote
/// it (only the prefix rewrites that any answer needs).
pub(crate) async fn route(
    backends: &impl Backends,
    ctx: &mut RequestContext,
    msg: &Message<'_>,
    body: &[u8],
    target: Target<'_>,
    envelope: Option<&Envelope<'_>>,
    reach: Reach,
) -> Result<Plan, RouteError> {
    let native = (reach == Reach::Native).then_some(envelope).flatten();
    // A 2026-07-28 client of a 2025 backend has no session: the gateway holds one per
    // (caller, endpoint, class), bound as a signed session is, so two endpoints never share one.
    let held = envelope.filter(|_| native.is_none()).map(|envelope| {
        let subject = ctx.caller.as_ref().map(Caller::session_subject);
        let binding = session_binding(subject.as_deref(), ctx.virtual_server.as_deref());
        Held::of(binding.as_deref(), envelope.capabilities)
    });
    let gateway = match (&held, native) {
        (Some(held), _) => held.key.as_str(),
        // No session at all.
        (None, Some(_)) => "",
        (None, None) => ctx.session.as_deref().ok_or(RouteError::MissingSession)?,
    };
    let server = target.server;
    // Before anything reaches the backend: a credential that cannot be had stops here.
    let credential = backends.credential(server, ctx.caller.as_ref()).await?;
    let method = msg.method().map_or(Method::Other, Method::parse);
    // A 2025 client's request to a 2026-07-28-only backend opens no backend session: its
    // body carries what the client declared on `initialize` (see `crate::legacy_client`).
    let declared = match (&held, reach) {
        (None, Reach::Upgraded) => Some(backends.session_client(gateway, server).await?),
        _ => None,
    };
    let opened = match (&held, native) {
        (_, Some(envelope)) => Opened {
            session_id: None,
            protocol_version: envelope.version.to_owned(),
            // It asks in its results (`input_required`), never on the answer's stream.
            client_may_be_asked: false,
        },
        (None, None) if declared.is_some() => Opened {
            session_id: None,
            protocol_version: versions::MODERN[0].to_owned(),
            client_may_be_asked: false,
        },
        (Some(held), None) => {
            backends
                .open_held(held, server, credential.as_ref())
                .await?
        }
        (None, None) => {
            backends
                .open_with(gateway, server, credential.as_ref())
                .await?
        }
    };
    // A 2026-07-28 client that may be asked for input: the broker calls the backend itself,
    // so the call can outlive this request (`input_required`, and the retry resumes it).
    if let Some(held) = &held
        && crate::mrtr::diverted(
            held,
            method,
            target.kind,
            rewrite_of(target.kind, method, msg),
        )
    {
        return Ok(crate::mrtr::to_broker(
            ctx, held, server, msg, body, &target,
        ));
    }
    // A 2025 backend must not see the 2026-07-28 envelope (it would take the request for a
    // 2026-07-28 one, and its version for a mismatch with the session's); a 2026-07-28 one
    // must (a 2025 client's request gets its session's). At most one such edit (a held
    // session and a session's declaration exclude each other).
    let envelope_edit = match &declared {
        Some(client) => {
            let info = client.info.as_deref();
            let edit = upgrade::envelope(msg, versions::MODERN[0], &client.capabilities, info)
                .ok_or_else(|| RouteError::InvalidParams("params must be an object".to_owned()))?;
            Some(edit)
        }
        None => held.as_ref().and_then(|_| modern::without_envelope(msg)),
    };
    let new_body = match envelope_edit {
        // The common case: at most the name's bytes change.
        None => target.rewrite.then(|| match target.kind {
            Addressed::Response => {
                mcp_gateway_protocol::splice_raw(body, target.range.clone(), &target.original)
            }
            _ => mcp_gateway_protocol::splice_str(body, target.range.clone(), &target.original),
        }),
        // Both edits in one copy; they do not overlap.
        Some(edit) => {
            let mut edits = vec![edit];
            if target.rewrite {
                edits.push(match target.kind {
                    Addressed::Response => (target.range.clone(), target.original.to_string()),
                    _ => upgrade::string(target.range.clone(), &target.original),
                });
            }
            Some(upgrade::apply(msg.body(), &mut edits).into_bytes())
        }
    };
    if let Some(client) = &declared
        && client.may_be_asked
        && crate::legacy_client::may_ask(method)
    {
        // The backend may answer `input_required`: the broker carries the call.
        // Envoy's filters after the router (RBAC, rate limits, access logs) see the same
        // method, tool and caller headers as on a routed call.
        let mut seen = vec![(
            transport::ROUTED_METHOD,
            method
                .as_str()
                .unwrap_or(RESPONSE_LABEL)
                .as_bytes()
                .to_vec(),
        )];
        if target.kind == Addressed::Tool {
            seen.push((transport::ROUTED_TOOL, target.original.as_bytes().to_vec()));
        }
        if let Some(caller) = &ctx.caller {
            seen.push((
                transport::ROUTED_CALLER,
                caller.rate_limit_key().into_bytes(),
            ));
        }
        // A read by an exposed URI is answered with the exposed URIs, as on the direct route.
        if target.rewrite && rewrite_of(target.kind, method, msg) == Some(Rewrite::Read) {
            seen.push((transport::RELAYED_READ, b"1".to_vec()));
        }
        return Ok(crate::legacy_client::hand_to_broker(
            server, new_body, body, seen,
        ));
    }
    let length = new_body.as_ref().map_or(body.len(), Vec::len);
    let label = match target.kind {
        Addressed::Response => RESPONSE_LABEL,
        _ => method.as_str().unwrap_or(RESPONSE_LABEL),
    };
    // A read by the backend's own URI (a tool's `resource_link`, or a server without a
    // prefix) is answered with the URIs the client used: nothing to rewrite.
    let rewrite =
        rewrite_of(target.kind, method, msg).filter(|r| *r != Rewrite::Read || target.rewrite);
    // A 2026-07-28 client's answers carry `resultType` (and cache fields on a read), which a
    // 2025 backend's lack: always watched (the price of the observed route).
    // (A replay of such a request comes without its envelope, on the held session.)
    // A 2026-07-28 backend's answers carry them already.
    let modern = envelope.is_some() || held::is_held(gateway);
    let rewrite = match (modern && native.is_none(), rewrite) {
        (false, rewrite) => rewrite,
        (true, Some(Rewrite::Read)) => Some(Rewrite::StampRead),
        (true, _) if method == Method::ResourcesRead => Some(Rewrite::StampCache),
        (true, _) => Some(Rewrite::Stamp),
    };
    let observe = opened.client_may_be_asked || rewrite.is_some();
    let upstream = ctx.upstream_sessions.then_some(ctx.replay.is_some());
    let (mut set, mut remove) = backend_headers(
        server,
        &opened,
        label,
        observe,
        credential.as_ref(),
        upstream,
    );
    set.push(("content-length", length.to_string().into_bytes()));
    // `Mcp-Method` and `Mcp-Name` mirror the body as sent on, in canonical form: what Envoy's
    // later filters match is what the backend is asked, whatever form the client chose.
    if (modern || declared.is_some())
        && let Some(body_method) = msg.method()
    {
        set.push((modern::METHOD_HEADER, body_method.as_bytes().to_vec()));
        if modern::name_source(body_method).is_some() {
            let name = modern::encode_header_value(&target.original);
            set.push((modern::NAME_HEADER, name.as_bytes().to_vec()));
        } else {
            remove.push(modern::NAME_HEADER.to_owned());
        }
    } else {
        remove.extend([
            modern::METHOD_HEADER.to_owned(),
            modern::NAME_HEADER.to_owned(),
        ]);
    }
    if target.kind == Addressed::Tool {
        set.push((transport::ROUTED_TOOL, target.original.as_bytes().to_vec()));
    }
    // The per-caller rate limit's key: issuer and subject (`sub` alone is shared across
    // issuers).
    if let Some(caller) = &ctx.caller {
        set.push((
            transport::ROUTED_CALLER,
            caller.rate_limit_key().into_bytes(),
        ));
    }
    // The session id to map back, for the response filter's stream (it runs only on the
    // observed route, x-mcp-observe) and for Envoy's hand-off of a lost backend session
    // (`handoff`); and whether the answer, JSON or SSE, carries ids or URIs to rewrite.
    let metadata = RouteMetadata {
        method: Cow::Borrowed(label),
        server: server.name.clone(),
        addressed: Some((target.kind, target.original.into_owned())),
        gateway_session: gateway.to_owned(),
        rewrite,
        request_id: msg.id_raw().map(str::to_owned),
        // A 2025 backend logs at its session's level: only what the request asked for
        // reaches a 2026-07-28 client (a 2026-07-28 backend filters itself).
        log_floor: held.as_ref().map(|_| modern::log_floor(msg)),
    };
    // For a response phase on this same stream (one ext_proc filter for both ways).
    ctx.routed = Some(metadata.clone());
    Ok(Plan::Route(Route {
        set,
        remove,
        credential,
        body: new_body,
        metadata: Some(metadata),
        clear_route: true,
    }))
}

/// How the answer to a request for `kind` must change for the client.
fn rewrite_of(kind: Addressed, method: Method, msg: &Message<'_>) -> Option<Rewrite> {
    match kind {
        Addressed::Task => Some(Rewrite::Task),
        Addressed::Tool if msg.param_raw(&["task"]).is_some() => Some(Rewrite::Task),
        Addressed::Resource if method == Method::ResourcesRead => Some(Rewrite::Read),
        _ => None,
    }
}

/// The plan of a request the router does not route: internal headers removed, and the route
/// picked again.
///
/// Envoy picks a route as soon as the request headers arrive, from the client's own
/// headers: a client that sends a backend's hostname with the router's routing header
/// would keep that route if it were cached past this point. So every such plan clears the
/// route cache, and carries a header mutation (Envoy ignores `clear_route_cache` without
/// one): `remove` always names the headers backend routes match on.
fn strip(remove: Vec<String>) -> Plan {
    strip_and_set(remove, Vec::new())
}

/// [`strip`], also setting `set` (the verified caller for the broker).
fn strip_and_set(remove: Vec<String>, set: Vec<(&'static str, Vec<u8>)>) -> Plan {
    Plan::Route(Route {
        set,
        remove,
        clear_route: true,
        ..Route::default()
    })
}

/// The headers (set, removed) of every request sent to a backend: its hostname, the routing
/// headers Envoy's backend routes match, the backend's protocol version and session id, and
/// no client credentials (the server's own `credential`, set by the plan, may replace the
/// client's `Authorization`). `observe` selects the route with the response filter (see the
/// xds crate).
///
/// `upstream`: `Some(replayed)` when Envoy's backend cluster sets `Mcp-Session-Id` from
/// [`handoff::BACKEND_SESSION_HEADER`] (then the client's own session id stays on its
/// request, for a replay), `None` when the request itself carries the backend's.
fn backend_headers(
    server: &Server,
    backend: &Opened,
    method: &str,
    observe: bool,
    credential: Option<&CredentialHeader>,
    upstream: Option<bool>,
) -> (Vec<(&'static str, Vec<u8>)>, Vec<String>) {
    let mut set = Vec::with_capacity(8);
    set.extend([
        (":authority", server.hostname.as_bytes().to_vec()),
        (transport::ROUTED_METHOD, method.as_bytes().to_vec()),
        (transport::ROUTED_SERVER, server.name.as_bytes().to_vec()),
        (
            transport::PROTOCOL_VERSION,
            backend.protocol_version.as_bytes().to_vec(),
        ),
    ]);
    if observe {
        set.push((transport::OBSERVE, b"1".to_vec()));
    }
    // Client credentials are for the gateway, never passed through to backends (a
    // passthrough server's credential is the caller's token, set again by the plan); nor is
    // the caller header the headers phase set for the broker. A credential in
    // `Authorization` overwrites the client's, and is not also removed (the order in which a
    // data plane applies removals and sets is then irrelevant).
    let mut remove = vec![CALLER_HEADER.to_owned()];
    if credential.is_none_or(|c| c.name() != transport::AUTHORIZATION) {
        remove.push(transport::AUTHORIZATION.to_owned());
    }
    match (&backend.session_id, upstream) {
        (Some(id), None) => set.push((transport::SESSION_ID, id.as_bytes().to_vec())),
        (Some(id), Some(replayed)) => {
            set.push((handoff::BACKEND_SESSION_HEADER, id.as_bytes().to_vec()));
            if replayed {
                set.push((handoff::REPLAYED_HEADER, b"1".to_vec()));
            }
        }
        (None, _) => remove.push(transport::SESSION_ID.to_owned()),
    }
    (set, remove)
}
