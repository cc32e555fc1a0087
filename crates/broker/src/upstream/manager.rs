use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use mcp_gateway_catalog::{BackendProtocol, ListKind, ServerOffer};
use mcp_gateway_config::Server;
use mcp_gateway_protocol::Message;
use mcp_gateway_protocol::asks::AskClass;
use mcp_gateway_session::SharedListings;
use mcp_gateway_upstream::{BackendSession, InitOptions, UpstreamClient, UpstreamError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{DiscoveryTiming, era};
use crate::BrokerState;

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// A listing lease lasts this many discovery intervals: the time another replica takes to
/// take over from a lister that died without giving it up.
const LEASE_ROUNDS: u32 = 3;
/// A published listing outlives its lister's lease this many times.
const KEPT_LEASES: u32 = 4;
/// How often a replica that does not list a backend looks for its published listing (and
/// for the lease, should the lister be gone); at most the discovery interval.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// The sessions that list tools as each capability class, by `AskClass::index` (the class
/// declaring nothing lists on the manager's own session). Each is opened on first use and
/// kept for every refresh: opened again only when the backend has forgotten it, ended when
/// the manager ends.
type Probes = [Option<BackendSession>; AskClass::COUNT];

/// Discovery loop for one backend; ends when `cancel` fires (config change or shutdown).
pub(super) async fn run(
    state: Arc<BrokerState>,
    server: Server,
    timing: DiscoveryTiming,
    cancel: CancellationToken,
) {
    let mut session: Option<BackendSession> = None;
    let mut protocol: Option<BackendProtocol> = None;
    let mut probes = Probes::default();
    let mut healthy: Option<bool> = None;
    let mut backoff = FIRST_BACKOFF;
    let changes = Arc::new(Notify::new());
    // The lists the backend announced as changed since the last listing (bit: ListKind index).
    let announced = Arc::new(AtomicU8::new(0));
    let mut watcher: Option<JoinHandle<()>> = None;
    // With a shared store one replica lists the backend and the others read its listing.
    let shared = state.sessions().shared_listings();
    let lease = timing.refresh * LEASE_ROUNDS;
    let mut share = Share::default();
    loop {
        let leading = match &shared {
            None => true,
            Some(shared) => match shared.lead(&server.name, lease).await {
                Ok(held) => held,
                Err(e) => {
                    // Redis down: list it here rather than leave the catalog stale.
                    debug!(server = %server.name, error = %e, "no listing lease; listing the backend here");
                    true
                }
            },
        };
        if let (false, Some(shared)) = (leading, &shared) {
            if share.leading {
                debug!(server = %server.name, "another replica lists this backend");
                if let Some(w) = watcher.take() {
                    w.abort();
                }
                end_sessions(&state, &server, session.take(), &mut probes).await;
                protocol = None;
                healthy = None;
                backoff = FIRST_BACKOFF;
                share.leading = false;
                share.published = None;
            }
            follow(&state, shared.as_ref(), &server, &mut share, &cancel).await;
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(FOLLOW_POLL.min(timing.refresh)) => {}
            }
            continue;
        }
        if !share.leading {
            debug!(server = %server.name, "listing this backend");
            share.leading = true;
        }
        let outcome = discover(&state, &server, &mut protocol, &mut session, &mut probes).await;
        match (&session, &watcher) {
            (Some(current), w) if w.as_ref().is_none_or(JoinHandle::is_finished) => {
                watcher = Some(tokio::spawn(watch_changes(
                    state.clone(),
                    server.clone(),
                    current.clone(),
                    protocol.unwrap_or_default(),
                    changes.clone(),
                    announced.clone(),
                )));
            }
            (None, Some(w)) => {
                w.abort();
                watcher = None;
            }
            _ => {}
        }
        let wait = match outcome {
            Ok(offer) => {
                let metrics = mcp_gateway_metrics::global();
                metrics.discovery.inc(&server.name, mcp_gateway_metrics::OK);
                metrics
                    .last_listed
                    .mark(&server.name, std::time::SystemTime::now());
                if healthy == Some(false) {
                    // Back after an outage: it may have restarted and lost every session.
                    forget_sessions(&state, &server).await;
                }
                if healthy != Some(true) {
                    debug!(server = %server.name, "backend healthy");
                }
                healthy = Some(true);
                backoff = FIRST_BACKOFF;
                let mut changed = state
                    .catalog
                    .update_while(&server.name, offer.clone(), || !cancel.is_cancelled());
                // What the backend announced may have changed for the client even where the
                // listing the gateway sees did not (its lists may depend on the caller): pass
                // its announcement on.
                let bits = announced.swap(0, Ordering::Relaxed);
                if let Some(shared) = &shared {
                    share
                        .publish(shared.as_ref(), &server.name, &offer, bits, lease)
                        .await;
                }
                for kind in ListKind::ALL {
                    if bits & bit(kind) != 0 && !changed.contains(&kind) {
                        changed.push(kind);
                    }
                }
                state.streams.lists_changed(&changed);
                timing.refresh
            }
            Err(e) => {
                let metrics = mcp_gateway_metrics::global();
                metrics
                    .discovery
                    .inc(&server.name, mcp_gateway_metrics::FAILED);
                if healthy != Some(false) {
                    warn!(server = %server.name, error = %e, "backend unavailable; its tools are hidden until it answers");
                }
                if e.is_session_gone() {
                    forget_sessions(&state, &server).await;
                    // It forgot the manager's session: it restarted and forgot the probes too.
                    probes = Probes::default();
                }
                healthy = Some(false);
                session = None;
                // It may come back upgraded (or downgraded): find out again.
                protocol = None;
                let offer = ServerOffer::unhealthy(&server.tool_prefix, e.to_string());
                if let Some(shared) = &shared {
                    share
                        .publish(shared.as_ref(), &server.name, &offer, 0, lease)
                        .await;
                }
                let changed = state
                    .catalog
                    .update_while(&server.name, offer, || !cancel.is_cancelled());
                state.streams.lists_changed(&changed);
                let wait = backoff.min(timing.max_backoff);
                backoff = (backoff * 2).min(timing.max_backoff);
                // The lease is renewed every round: wait no longer than it allows.
                if shared.is_some() {
                    wait.min(timing.refresh)
                } else {
                    wait
                }
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            // The backend announced a list change: re-list now.
            _ = changes.notified() => {}
        }
    }
    if let Some(w) = watcher {
        w.abort();
    }
    if let (true, Some(shared)) = (share.leading, &shared) {
        // Another replica takes over at its next look rather than when the lease expires.
        if let Err(e) = shared.resign(&server.name).await {
            debug!(server = %server.name, error = %e, "giving the listing lease up");
        }
    }
    end_sessions(&state, &server, session, &mut probes).await;
}

/// Ends the manager's own session and probes with the backend.
async fn end_sessions(
    state: &BrokerState,
    server: &Server,
    session: Option<BackendSession>,
    probes: &mut Probes,
) {
    let open: Vec<BackendSession> = session
        .into_iter()
        .chain(std::mem::take(probes).into_iter().flatten())
        .collect();
    if !open.is_empty()
        && let Ok(upstream) = state.own_upstream(server).await
    {
        for session in &open {
            let _ = upstream.terminate(&server.url, session).await;
        }
    }
}

/// A backend's listing as the replica listing it publishes it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Published {
    offer: ServerOffer,
    /// The lists the backend announced as changed (bit: `ListKind` index).
    announced: u8,
}

/// This manager's part in sharing a backend's listing with other replicas.
#[derive(Default)]
struct Share {
    /// This replica lists the backend.
    leading: bool,
    /// What it last published (as a lister).
    published: Option<String>,
    /// The version of the listing last taken (as a follower).
    known: String,
    /// The listing last taken says the backend is healthy.
    healthy: bool,
}

impl Share {
    /// Publishes a listing (a new version only when it differs from the last one).
    async fn publish(
        &mut self,
        shared: &dyn SharedListings,
        server: &str,
        offer: &ServerOffer,
        announced: u8,
        lease: Duration,
    ) {
        let keep = lease * KEPT_LEASES;
        let text = match serde_json::to_string(&Published {
            offer: offer.clone(),
            announced,
        }) {
            Ok(text) => text,
            Err(e) => {
                debug!(server, error = %e, "encoding a listing");
                return;
            }
        };
        if self.published.as_ref() == Some(&text) {
            match shared.keep(server, keep).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    debug!(server, error = %e, "keeping a listing");
                    return;
                }
            }
        }
        let version = format!("{:016x}", rand::random::<u64>());
        match shared.publish(server, &version, &text, keep).await {
            Ok(()) => {
                self.known = version;
                self.healthy = offer.healthy;
                self.published = Some(text);
            }
            Err(e) => debug!(server, error = %e, "publishing a listing"),
        }
    }
}

/// Takes the listing another replica published into the catalog, if it changed since the
/// version last taken, and passes on the changes.
async fn follow(
    state: &BrokerState,
    shared: &dyn SharedListings,
    server: &Server,
    share: &mut Share,
    cancel: &CancellationToken,
) {
    let fetched = shared.fetch(&server.name, &share.known).await;
    if fetched.is_ok() && share.healthy {
        // The healthy listing this replica holds is current: the lister's last success is
        // as good as its own (`discovery_last_success` does not go stale on followers).
        mcp_gateway_metrics::global()
            .last_listed
            .mark(&server.name, std::time::SystemTime::now());
    }
    let (version, text) = match fetched {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => {
            debug!(server = %server.name, error = %e, "reading the published listing");
            return;
        }
    };
    let published: Published = match serde_json::from_str(&text) {
        Ok(published) => published,
        Err(e) => {
            warn!(server = %server.name, error = %e, "ignoring a published listing this replica cannot read");
            return;
        }
    };
    share.known = version;
    share.healthy = published.offer.healthy;
    let mut changed = state
        .catalog
        .update_while(&server.name, published.offer, || !cancel.is_cancelled());
    for kind in ListKind::ALL {
        if published.announced & bit(kind) != 0 && !changed.contains(&kind) {
            changed.push(kind);
        }
    }
    state.streams.lists_changed(&changed);
}

/// Listens for `notifications/*/list_changed`: on a `subscriptions/listen` stream when the
/// backend speaks 2026-07-28, else on the discovery session's GET stream.
async fn watch_changes(
    state: Arc<BrokerState>,
    server: Server,
    session: BackendSession,
    protocol: BackendProtocol,
    changes: Arc<Notify>,
    announced: Arc<AtomicU8>,
) {
    let listening = match state.own_upstream(&server).await {
        Ok(upstream) => {
            let modern = if protocol.speaks_modern() {
                upstream
                    .listen_modern(
                        &server.url,
                        &era::stand_in(&session),
                        era::ALL_LISTS.clone(),
                    )
                    .await
            } else {
                Ok(None)
            };
            match modern {
                Ok(Some(listener)) => Ok(Some(listener)),
                // No listen stream (not served, or refused): the session's GET stream, if
                // it has a session.
                _ if !session.is_modern() => upstream.listen(&server.url, &session, None).await,
                other => other,
            }
        }
        Err(e) => Err(e),
    };
    let mut listener = match listening {
        Ok(Some(listener)) => listener,
        Ok(None) => return,
        Err(e) => {
            debug!(server = %server.name, error = %e, "no change notifications from backend");
            return;
        }
    };
    while let Some(Ok(event)) = listener.next().await {
        let changed = Message::parse(event.data.as_bytes()).ok().and_then(|m| {
            let method = m.method()?;
            let list = method
                .strip_prefix("notifications/")?
                .strip_suffix("/list_changed")?;
            Some(ListKind::from_method(&format!("{list}/list")))
        });
        if let Some(kind) = changed {
            debug!(server = %server.name, "backend lists changed");
            if let Some(kind) = kind {
                announced.fetch_or(bit(kind), Ordering::Relaxed);
            }
            changes.notify_one();
        }
    }
}

/// Finds out which protocol eras the backend speaks (once per healthy stretch), opens the
/// gateway's own session if needed (a 2026-07-28 stand-in for a backend that speaks only
/// 2026-07-28) and lists everything the backend declares.
async fn discover(
    state: &BrokerState,
    server: &Server,
    protocol: &mut Option<BackendProtocol>,
    session: &mut Option<BackendSession>,
    probes: &mut Probes,
) -> Result<ServerOffer, UpstreamError> {
    let upstream = state.own_upstream(server).await?;
    let current = match session.take() {
        Some(s) => s,
        None => {
            let (found, session) = era::detect(&upstream, server).await?;
            *protocol = Some(found);
            session
        }
    };
    let mut lists: [Vec<serde_json::Value>; 4] = Default::default();
    for (i, kind) in ListKind::ALL.into_iter().enumerate() {
        if current
            .capabilities
            .get(kind.capability())
            .is_none_or(serde_json::Value::is_null)
        {
            continue;
        }
        match upstream
            .list_all(&server.url, &current, kind.method(), kind.item_key())
            .await
        {
            Ok(items) => lists[i] = items,
            // A backend that declares a capability but refuses one of its lists (e.g. no
            // templates) still serves the rest.
            Err(UpstreamError::Rpc { code, message, .. }) => {
                debug!(server = %server.name, list = kind.method(), code, %message, "list refused");
            }
            Err(e) => return Err(e),
        }
    }
    let tools = ListKind::ALL
        .iter()
        .position(|k| *k == ListKind::Tools)
        .unwrap_or_default();
    let mut tool_classes = BTreeMap::new();
    if current
        .capabilities
        .get("tools")
        .is_some_and(|c| !c.is_null())
    {
        // Tools offered only to clients that can be asked something: list as each class,
        // the one declaring everything first. Most backends offer it what they offer a
        // client declaring nothing, which settles it in one look.
        let mut seen: [Option<BTreeSet<String>>; AskClass::COUNT] = Default::default();
        seen[AskClass::NONE.index()] = Some(names(&lists[tools]));
        let order = std::iter::once(AskClass::ALL)
            .chain(AskClass::all().filter(|c| *c != AskClass::NONE && *c != AskClass::ALL));
        for class in order {
            let modern = current.is_modern().then_some(&current);
            let listed =
                list_as(&upstream, server, modern, class, &mut probes[class.index()]).await?;
            let known: BTreeSet<String> = seen.iter().flatten().flatten().cloned().collect();
            for tool in &listed {
                let name = tool.get("name").and_then(serde_json::Value::as_str);
                if name.is_some_and(|n| !known.contains(n)) {
                    lists[tools].push(tool.clone());
                }
            }
            seen[class.index()] = Some(names(&listed));
            if class == AskClass::ALL && seen[class.index()] == seen[AskClass::NONE.index()] {
                break;
            }
        }
        if seen.iter().all(Option::is_some) {
            let all: BTreeSet<&String> = seen.iter().flatten().flatten().collect();
            for name in all {
                let mask = seen
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.as_ref().is_some_and(|s| s.contains(name)))
                    .fold(0u8, |mask, (i, _)| mask | 1 << i);
                if mask != u8::MAX {
                    tool_classes.insert(name.clone(), mask);
                }
            }
        }
    }
    let mut offer = ServerOffer::healthy(&server.tool_prefix, current.capabilities.clone(), lists);
    offer.tool_classes = tool_classes;
    offer.protocol = protocol.unwrap_or_default();
    *session = Some(current);
    Ok(offer)
}

/// Lists tools as `class` on its probe session: opened on first use, and once more when the
/// backend answers that it has forgotten it (a restart, an idle timeout). For a 2026-07-28
/// backend (`own` is the manager's stand-in) the probe is that stand-in, each request
/// declaring the class.
async fn list_as(
    upstream: &UpstreamClient,
    server: &Server,
    own: Option<&BackendSession>,
    class: AskClass,
    probe: &mut Option<BackendSession>,
) -> Result<Vec<serde_json::Value>, UpstreamError> {
    let mut opened = false;
    loop {
        let session = match probe.take() {
            Some(session) => session,
            None => {
                opened = true;
                match own {
                    Some(modern) => modern.clone(),
                    None => {
                        let mut opts = InitOptions::own("mcp-gateway");
                        opts.capabilities = class.capabilities();
                        upstream.initialize(&server.url, &opts).await?
                    }
                }
            }
        };
        // A 2026-07-28 stand-in declares the class on each request.
        let declaring;
        let lister = if session.is_modern() {
            declaring = upstream.declaring(class.capabilities());
            &declaring
        } else {
            upstream
        };
        let listed = lister
            .list_all(&server.url, &session, ListKind::Tools.method(), "tools")
            .await;
        match listed {
            Err(e) if e.is_session_gone() => {
                debug!(server = %server.name, class = class.index(), "probe session gone");
                if opened {
                    return Err(e);
                }
            }
            listed => {
                *probe = Some(session);
                return listed;
            }
        }
    }
}

/// The bit of `kind` in a set of lists.
fn bit(kind: ListKind) -> u8 {
    let index = ListKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    1 << index
}

/// The names of listed tools.
fn names(tools: &[serde_json::Value]) -> BTreeSet<String> {
    tools
        .iter()
        .filter_map(|t| t.get("name").and_then(serde_json::Value::as_str))
        .map(str::to_owned)
        .collect()
}

async fn forget_sessions(state: &BrokerState, server: &Server) {
    match state.sessions().forget_server(&server.name).await {
        Ok(0) => {}
        Ok(n) => {
            debug!(server = %server.name, sessions = n, "forgot backend sessions after backend restart")
        }
        Err(e) => warn!(server = %server.name, error = %e, "could not forget backend sessions"),
    }
}
