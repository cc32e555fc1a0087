//! A call replayed by Envoy after its backend refused the backend session (the backend
//! restarted or expired it): the 404 became a 307 in the backend cluster's upstream filters,
//! and the route's internal redirect sent the same request, body included, through the
//! listener again (see `mcp_gateway_protocol::handoff` for the headers).
//!
//! The request arrives with the body as the backend got it (its name already the server's),
//! the refused backend session id (also in `Mcp-Session-Id`: Envoy's upstream filters set it
//! in place), the server and the client's gateway session.
//! The router forgets that backend session if it is still the one on record, opens a new one
//! (once, as for any first call) and routes the body again to the same server, checking
//! policy on the name the client used. A second refusal is not replayed again.
//!
//! Only the standalone bootstrap's Envoy replays (its ext_proc filter says so with
//! `handoff::UPSTREAM_SESSIONS_METADATA`); elsewhere these headers are only removed.

use mcp_gateway_catalog::Catalog;
use mcp_gateway_config::{Config, binding_virtual_server};
use mcp_gateway_protocol::{Message, handoff};

use crate::RouteError;
use crate::backends::Backends;
use crate::context::RequestContext;
use crate::plan::Plan;

/// The replay headers of a request, while they are read.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    server: Option<String>,
    refused: Option<String>,
    session: Option<String>,
}

/// A request that names both a server and a refused backend session.
#[derive(Debug)]
pub(crate) struct Replayed {
    server: String,
    refused: String,
    /// The client's gateway session.
    pub(crate) session: String,
}

impl Replay {
    /// Takes in one of the replay headers.
    pub(crate) fn read(&mut self, key: &str, value: &[u8]) {
        let slot = match key {
            handoff::REPLAY_SERVER_HEADER => &mut self.server,
            handoff::REFUSED_SESSION_HEADER => &mut self.refused,
            handoff::REPLAY_SESSION_HEADER => &mut self.session,
            _ => return,
        };
        *slot = std::str::from_utf8(value)
            .ok()
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
    }

    /// The replay, when both headers were there.
    pub(crate) fn complete(self) -> Option<Replayed> {
        Some(Replayed {
            server: self.server?,
            refused: self.refused?,
            session: self.session?,
        })
    }
}

impl Replayed {
    /// Whether the replay may go on: the server, and the virtual server the client's
    /// session is bound to (the replay comes on the gateway's own endpoint, not the
    /// client's, so its subset is known only from the record).
    ///
    /// Genuine when it names the backend session on record for (`gateway`, server): only
    /// the backend and the gateway know that id. Then the session is checked against the
    /// subject on record (with auth on the replay carries no token: the router removed it
    /// for the backend), and the refused backend session is forgotten. Otherwise (another
    /// replay of the same session got there first, or a client sent these headers itself)
    /// it is an ordinary call of the caller's session (`subject`: its binding, so on its own
    /// endpoint) to that server, checked as any call (see [`route_again`]): it can reach
    /// nothing the same call by its exposed name could not. Else the retryable error (with
    /// auth on the replay has no token; the client's retry carries it).
    pub(crate) async fn admit(
        self,
        backends: &impl Backends,
        subject: Option<&str>,
        unauthenticated: Option<RouteError>,
    ) -> Result<(String, Option<String>), RouteError> {
        let gateway = self.session.as_str();
        let bound = backends
            .bound_subject_if_current(gateway, &self.server, &self.refused)
            .await;
        // A held session (a 2026-07-28 client's) has no signed id: its key names its subject.
        match bound {
            Some(bound)
                if (subject.is_none() || subject == bound.as_deref())
                    && (backends.session_valid_for(gateway, bound.as_deref())
                        || crate::held::belongs_to(gateway, bound.as_deref())) =>
            {
                backends
                    .forget_if_current(gateway, &self.server, &self.refused)
                    .await;
                let virtual_server = bound
                    .as_deref()
                    .and_then(binding_virtual_server)
                    .map(str::to_owned);
                Ok((self.server, virtual_server))
            }
            // The replayed request's path is the gateway's own endpoint, so a late replay of
            // a virtual server session is not recognised here: the retryable error.
            _ if unauthenticated.is_none() && backends.session_valid_for(gateway, subject) => {
                Ok((self.server, None))
            }
            _ => Err(RouteError::BackendSessionLost {
                server: self.server,
            }),
        }
    }
}

/// The body phase of a replay to `server`: routed again as it is (only tool calls and
/// prompts by a name the catalog routes to that server, in the endpoint's subset; anything
/// else, or a server no longer enabled, gets the retryable error or the subset's error).
pub(crate) async fn route_again(
    config: &Config,
    catalog: &Catalog,
    backends: &impl Backends,
    ctx: &mut RequestContext,
    msg: &Message<'_>,
    body: &[u8],
    server: &str,
) -> Plan {
    let id = msg.id_raw();
    let lost = RouteError::BackendSessionLost {
        server: server.to_owned(),
    };
    // Without the caller (auth on: its token was removed for the backend) a policy or a
    // per-caller credential cannot be had; the client's retry carries them.
    let callerless = config.auth().is_some() && ctx.caller.is_none();
    let Some(target) = config
        .server(server)
        .filter(|s| s.enabled)
        .and_then(|server| crate::decision::replayed(server, catalog, msg))
    else {
        return Plan::reject(&lost, id);
    };
    // The client's endpoint's subset, as for its first call (which a genuine replay repeats).
    if let Err(error) = crate::subset::check(config, catalog, ctx, &target) {
        return Plan::reject(&error, id);
    }
    if let Err(error) = crate::authz::authorize(config, ctx, msg, &target) {
        return Plan::reject(if callerless { &lost } else { &error }, id);
    }
    match crate::policy::route(
        backends,
        ctx,
        msg,
        body,
        target,
        None,
        crate::policy::Reach::Session,
    )
    .await
    {
        Ok(plan) => plan,
        Err(error) => Plan::reject(if callerless { &lost } else { &error }, id),
    }
}
