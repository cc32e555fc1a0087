//! The broker-router sidecar, as the module sees it: a process-wide copy of its config and
//! catalog, a cache of what it answered about sessions, and the questions to ask it (Envoy
//! HTTP callouts to its cluster, `mcp_gateway_routing::sidecar`) when the cache has no
//! answer. Every worker shares one [`Sidecar`] per filter config; lookups are lock-free.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::{Config, ConfigStore};
use mcp_gateway_identity::Caller;
use mcp_gateway_routing::sidecar::{
    CLIENT_PATH, CREDENTIAL_PATH, CredentialCopy, CredentialQuery, FORGET_PATH, Failure, OPEN_PATH,
    OpenedCopy, Query, SERVERS_PATH, SESSION_PATH, STATE_PATH, SessionClientCopy, State, Valid,
};
use mcp_gateway_routing::{CredentialHeader, Held, Opened, RouteError, SessionClient};

use crate::error::ModuleError;

/// Most cached answers of one kind; past it the cache starts again empty (it is only a
/// cache: the sidecar is asked again).
const MAX_CACHED: usize = 100_000;
/// The youngest copy a request refreshes before refusing a name the copy lacks.
const MIN_FORCED_AGE: Duration = Duration::from_millis(25);
/// "No generation yet".
const NONE: u64 = u64::MAX;

/// Where the sidecar is and how long its answers hold.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The Envoy cluster of the sidecar's module API.
    pub(crate) cluster: String,
    /// How long a copy of the config and catalog is used before it is asked again.
    pub(crate) refresh: Duration,
    /// How long a cached session answer is used.
    pub(crate) ttl: Duration,
    /// How long a callout may take (opening a backend session initialises it).
    pub(crate) timeout: Duration,
}

/// One question for the sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ask {
    /// The config and catalog.
    State,
    /// Whether a session id is valid for a subject (`None`: bound to none).
    Session {
        session: String,
        subject: Option<String>,
    },
    /// The backend session of a session (or of a held key, with its capability class) on a
    /// server.
    Open {
        session: String,
        server: String,
        class: Option<u8>,
        credential: Option<CredentialCopy>,
    },
    /// The credential of a server for the caller.
    Credential(CredentialQuery),
    /// What a session's client declared, for a 2026-07-28-only server.
    Client { session: String, server: String },
    /// The servers a session has backend sessions on.
    Servers(String),
    /// Forget a backend session (only if it is `backend`, when set).
    Forget {
        session: String,
        server: String,
        backend: Option<String>,
    },
}

/// What the sidecar answered during this request (the cache holds only what is shared).
#[derive(Default)]
pub(crate) struct Known {
    /// (session, subject) asked about, and whether the session is valid for it.
    valid: Option<((String, Option<String>), bool)>,
    opened: Option<(String, Result<Opened, RouteError>)>,
    /// What the session's client declared, by server.
    client: Option<(String, Result<SessionClient, RouteError>)>,
    /// The credential asked for, by server.
    credential: Option<(String, Result<Option<CredentialHeader>, RouteError>)>,
    servers: Option<Result<Vec<String>, RouteError>>,
    forgotten: bool,
}

/// The process-wide copy of the sidecar's state, shared by every worker.
pub(crate) struct Sidecar {
    settings: Option<Settings>,
    pub(crate) config: Arc<ConfigStore>,
    pub(crate) catalog: Arc<CatalogStore>,
    config_generation: AtomicU64,
    catalog_generation: AtomicU64,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last copy; `NONE` before the first.
    refreshed_at: AtomicU64,
    /// One request at a time refreshes a copy that is only stale.
    refreshing: AtomicBool,
    /// Valid session ids, each with the subject it is valid for (an id is bound to one).
    valid: papaya::HashMap<String, (Option<String>, Instant)>,
    opened: papaya::HashMap<(String, String), (Opened, Instant)>,
}

impl Sidecar {
    /// The sidecar at `settings`; without settings, a fixed config and no sessions.
    pub(crate) fn new(settings: Option<Settings>, config: Config) -> Self {
        Self {
            settings,
            config: ConfigStore::new(config),
            catalog: Arc::new(CatalogStore::new()),
            config_generation: AtomicU64::new(NONE),
            catalog_generation: AtomicU64::new(NONE),
            epoch: Instant::now(),
            refreshed_at: AtomicU64::new(NONE),
            refreshing: AtomicBool::new(false),
            valid: papaya::HashMap::new(),
            opened: papaya::HashMap::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    /// [`Ask::State`] when this request must fetch the config and catalog first: always
    /// before the first copy; once they are older than the refresh interval, for one request
    /// at a time (the others use the copy they have).
    pub(crate) fn state_due(&self) -> Option<Ask> {
        let settings = self.settings.as_ref()?;
        let at = self.refreshed_at.load(Ordering::Acquire);
        if at == NONE {
            return Some(Ask::State);
        }
        let refresh = u64::try_from(settings.refresh.as_millis()).unwrap_or(u64::MAX);
        let stale = self.now_ms().saturating_sub(at) >= refresh;
        let claimed = stale
            && self
                .refreshing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
        claimed.then_some(Ask::State)
    }

    /// [`Ask::State`] now, for a request whose decision may rest on a stale copy (it named
    /// something the copy lacks, which the sidecar's catalog may have gained since): when a
    /// copy exists, is at least [`MIN_FORCED_AGE`] old (a flood of unknown names asks at most
    /// that often) and no other request is refreshing it.
    pub(crate) fn refresh_now(&self) -> Option<Ask> {
        self.settings.as_ref()?;
        let at = self.refreshed_at.load(Ordering::Acquire);
        let min = u64::try_from(MIN_FORCED_AGE.as_millis()).unwrap_or(u64::MAX);
        let old = at != NONE && self.now_ms().saturating_sub(at) >= min;
        let claimed = old
            && self
                .refreshing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
        claimed.then_some(Ask::State)
    }

    /// A refresh that ended without a copy (its request went away, or the sidecar did not
    /// answer): another request may try.
    pub(crate) fn refresh_abandoned(&self) {
        self.refreshing.store(false, Ordering::Release);
    }

    /// Whether a copy of the state exists (or none is needed).
    pub(crate) fn loaded(&self) -> bool {
        self.settings.is_none() || self.refreshed_at.load(Ordering::Acquire) != NONE
    }

    /// The callout for `ask`: method, path and JSON body.
    pub(crate) fn request(&self, ask: &Ask) -> (&'static str, String, Vec<u8>) {
        let post = |path: &str, query: Query| {
            let body = serde_json::to_vec(&query).unwrap_or_default();
            ("POST", path.to_owned(), body)
        };
        match ask {
            Ask::State => {
                let mut path = STATE_PATH.to_owned();
                let mut sep = '?';
                for (name, generation) in [
                    ("config", &self.config_generation),
                    ("catalog", &self.catalog_generation),
                ] {
                    let generation = generation.load(Ordering::Acquire);
                    if generation != NONE {
                        path.push_str(&format!("{sep}{name}={generation}"));
                        sep = '&';
                    }
                }
                ("GET", path, Vec::new())
            }
            Ask::Session { session, subject } => post(
                SESSION_PATH,
                Query {
                    session: session.clone(),
                    subject: subject.clone(),
                    ..Query::default()
                },
            ),
            Ask::Open {
                session,
                server,
                class,
                credential,
            } => post(
                OPEN_PATH,
                Query {
                    session: session.clone(),
                    server: Some(server.clone()),
                    class: *class,
                    credential: credential.clone(),
                    ..Query::default()
                },
            ),
            Ask::Credential(query) => {
                let body = serde_json::to_vec(query).unwrap_or_default();
                ("POST", CREDENTIAL_PATH.to_owned(), body)
            }
            Ask::Client { session, server } => post(
                CLIENT_PATH,
                Query {
                    session: session.clone(),
                    server: Some(server.clone()),
                    ..Query::default()
                },
            ),
            Ask::Servers(session) => post(
                SERVERS_PATH,
                Query {
                    session: session.clone(),
                    ..Query::default()
                },
            ),
            Ask::Forget {
                session,
                server,
                backend,
            } => post(
                FORGET_PATH,
                Query {
                    session: session.clone(),
                    server: Some(server.clone()),
                    backend: backend.clone(),
                    ..Query::default()
                },
            ),
        }
    }

    /// The sidecar's cluster and callout timeout; `None` without a sidecar.
    pub(crate) fn settings(&self) -> Option<&Settings> {
        self.settings.as_ref()
    }

    /// Records the sidecar's answer to `ask` (`None`: no answer) in the shared copy and in
    /// `known`. An error when the request cannot go on without that answer.
    pub(crate) fn record(
        &self,
        known: &mut Known,
        ask: Ask,
        answer: Option<&[u8]>,
    ) -> Result<(), ModuleError> {
        let unanswered = || ModuleError::SidecarUnavailable;
        match ask {
            Ask::State => {
                let state = answer.and_then(|body| serde_json::from_slice::<State>(body).ok());
                let Some(state) = state else {
                    self.refresh_abandoned();
                    return if self.loaded() {
                        Ok(())
                    } else {
                        Err(unanswered())
                    };
                };
                self.apply(state);
                Ok(())
            }
            Ask::Session { session, subject } => {
                let answer = answer.and_then(|body| serde_json::from_slice::<Valid>(body).ok());
                let valid = answer.ok_or_else(unanswered)?.valid;
                if valid {
                    let cache = self.valid.pin();
                    if cache.len() >= MAX_CACHED {
                        cache.clear();
                    }
                    cache.insert(session.clone(), (subject.clone(), Instant::now()));
                }
                known.valid = Some(((session, subject), valid));
                Ok(())
            }
            Ask::Open {
                session, server, ..
            } => {
                let answer = answer.and_then(|body| {
                    serde_json::from_slice::<Result<OpenedCopy, Failure>>(body).ok()
                });
                let opened = match answer {
                    Some(Ok(copy)) => Ok(Opened::from(copy)),
                    Some(Err(failure)) => Err(failure.into_error(&server)),
                    None => Err(RouteError::BackendUnavailable {
                        server: server.clone(),
                        reason: ModuleError::SidecarUnavailable.to_string(),
                    }),
                };
                if let Ok(opened) = &opened {
                    let cache = self.opened.pin();
                    if cache.len() >= MAX_CACHED {
                        cache.clear();
                    }
                    cache.insert(
                        (session.clone(), server.clone()),
                        (opened.clone(), Instant::now()),
                    );
                }
                known.opened = Some((server, opened));
                Ok(())
            }
            Ask::Credential(query) => {
                let answer = answer.and_then(|body| {
                    serde_json::from_slice::<Result<Option<CredentialCopy>, Failure>>(body).ok()
                });
                let credential = match answer {
                    Some(Ok(copy)) => Ok(copy.as_ref().map(CredentialCopy::header)),
                    Some(Err(failure)) => Err(failure.into_error(&query.server)),
                    None => Err(RouteError::CredentialUnavailable {
                        server: query.server.clone(),
                        reason: ModuleError::SidecarUnavailable.to_string(),
                    }),
                };
                known.credential = Some((query.server, credential));
                Ok(())
            }
            Ask::Client { server, .. } => {
                let answer = answer.and_then(|body| {
                    serde_json::from_slice::<Result<SessionClientCopy, Failure>>(body).ok()
                });
                let client = match answer {
                    Some(Ok(copy)) => Ok(SessionClient::from(copy)),
                    Some(Err(failure)) => Err(failure.into_error(&server)),
                    None => Err(RouteError::BackendUnavailable {
                        server: server.clone(),
                        reason: ModuleError::SidecarUnavailable.to_string(),
                    }),
                };
                known.client = Some((server, client));
                Ok(())
            }
            Ask::Servers(_) => {
                let answer = answer.and_then(|body| {
                    serde_json::from_slice::<Result<Vec<String>, Failure>>(body).ok()
                });
                known.servers = Some(match answer {
                    Some(answer) => answer.map_err(|failure| failure.into_error("")),
                    None => Err(RouteError::Internal(
                        ModuleError::SidecarUnavailable.to_string(),
                    )),
                });
                Ok(())
            }
            // Best effort, as in the ext_proc router: the answer to the client does not wait
            // on it twice.
            Ask::Forget { .. } => {
                known.forgotten = true;
                Ok(())
            }
        }
    }

    /// Takes in a copy of the sidecar's state. A config that does not validate leaves the
    /// last good one in force, as the sidecar's own file watcher does.
    fn apply(&self, state: State) {
        if let Some(config) = state.config {
            if let Ok(parsed) = Config::from_yaml(&config.yaml) {
                self.config.store(parsed);
            }
            self.config_generation
                .store(config.generation, Ordering::Release);
        }
        if let Some(catalog) = state.catalog {
            let mut names = HashSet::new();
            for copy in catalog.servers {
                let (name, offer) = copy.into_offer();
                self.catalog.update(&name, offer);
                names.insert(name);
            }
            self.catalog
                .retain(&names.iter().map(String::as_str).collect());
            self.catalog_generation
                .store(catalog.generation, Ordering::Release);
        }
        self.refreshed_at.store(self.now_ms(), Ordering::Release);
        self.refreshing.store(false, Ordering::Release);
    }

    /// Drops what is cached about `session` (its client ended it with `DELETE`).
    pub(crate) fn evict(&self, session: &str) {
        self.valid.pin().remove(session);
        self.opened.pin().retain(|(s, _), _| s != session);
    }

    fn fresh(&self, at: Instant) -> bool {
        self.settings
            .as_ref()
            .is_some_and(|settings| at.elapsed() < settings.ttl)
    }
}

/// The routing core's [`mcp_gateway_routing::Backends`] for one phase of one request:
/// answers from this request's [`Known`] and the shared cache, and notes the first
/// question only the sidecar can answer (the phase then waits for it and runs again).
pub(crate) struct Lookup<'a> {
    sidecar: &'a Sidecar,
    known: &'a Known,
    ask: Mutex<Option<Ask>>,
}

impl<'a> Lookup<'a> {
    pub(crate) fn new(sidecar: &'a Sidecar, known: &'a Known) -> Self {
        Self {
            sidecar,
            known,
            ask: Mutex::new(None),
        }
    }

    /// The question the phase must wait for, if any.
    pub(crate) fn into_ask(self) -> Option<Ask> {
        self.ask.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// The backend session of `gateway` (a session id, or a held key with its `class`) on
    /// `server`: from this request's answers or the cache, or else asked for.
    fn opened_or_ask(
        &self,
        gateway: &str,
        server: &mcp_gateway_config::Server,
        class: Option<u8>,
        credential: Option<&CredentialHeader>,
    ) -> Result<Opened, RouteError> {
        if let Some((name, opened)) = &self.known.opened
            && *name == server.name
        {
            return opened.clone();
        }
        let key = (gateway.to_owned(), server.name.clone());
        if let Some((opened, at)) = self.sidecar.opened.pin().get(&key)
            && self.sidecar.fresh(*at)
        {
            return Ok(opened.clone());
        }
        if self.sidecar.settings.is_none() {
            return Err(RouteError::BackendUnavailable {
                server: server.name.clone(),
                reason: ModuleError::NoSidecar.to_string(),
            });
        }
        self.wants(Ask::Open {
            session: key.0,
            server: key.1,
            class,
            credential: credential.and_then(CredentialCopy::of),
        });
        Err(waiting())
    }

    fn wants(&self, ask: Ask) {
        if self.sidecar.settings.is_none() {
            return;
        }
        let mut slot = self.ask.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(ask);
    }
}

/// Why a step has no answer yet (the phase's plan is dropped and the phase runs again).
fn waiting() -> RouteError {
    RouteError::Internal("waiting for the gateway sidecar".into())
}

impl mcp_gateway_routing::Backends for Lookup<'_> {
    fn session_valid(&self, gateway: &str) -> bool {
        self.session_valid_for(gateway, None)
    }

    /// As the ext_proc router: valid only for the subject the id was issued to. The cache
    /// remembers that subject with the id, so another caller's request is a miss, and the
    /// sidecar answers it (no).
    fn session_valid_for(&self, gateway: &str, subject: Option<&str>) -> bool {
        if let Some(((session, asked), valid)) = &self.known.valid
            && session == gateway
            && asked.as_deref() == subject
        {
            return *valid;
        }
        if self
            .sidecar
            .valid
            .pin()
            .get(gateway)
            .is_some_and(|(bound, at)| bound.as_deref() == subject && self.sidecar.fresh(*at))
        {
            return true;
        }
        self.wants(Ask::Session {
            session: gateway.to_owned(),
            subject: subject.map(str::to_owned),
        });
        false
    }

    async fn open(
        &self,
        gateway: &str,
        server: &mcp_gateway_config::Server,
    ) -> Result<Opened, RouteError> {
        self.opened_or_ask(gateway, server, None, None)
    }

    /// Asked of the sidecar for every routed request to a server that has credentials (not
    /// cached here: the sidecar's cache answers, and a token exchange depends on the token).
    async fn credential(
        &self,
        server: &mcp_gateway_config::Server,
        caller: Option<&Caller>,
    ) -> Result<Option<CredentialHeader>, RouteError> {
        if server.credentials.is_none() {
            return Ok(None);
        }
        if let Some((name, credential)) = &self.known.credential
            && *name == server.name
        {
            return credential.clone();
        }
        if self.sidecar.settings.is_none() {
            return Err(RouteError::CredentialUnavailable {
                server: server.name.clone(),
                reason: ModuleError::NoSidecar.to_string(),
            });
        }
        self.wants(Ask::Credential(CredentialQuery {
            server: server.name.clone(),
            claims: caller.map(|c| serde_json::Value::Object(c.claims().clone())),
            token: caller
                .and_then(Caller::token)
                .map(|t| t.expose().to_owned()),
        }));
        Err(waiting())
    }

    async fn open_with(
        &self,
        gateway: &str,
        server: &mcp_gateway_config::Server,
        credential: Option<&CredentialHeader>,
    ) -> Result<Opened, RouteError> {
        self.opened_or_ask(gateway, server, None, credential)
    }

    /// As the ext_proc router: the sidecar holds the session under the held key, and this
    /// cache keeps its backend session under that key too. The module sends no credentials
    /// (`credential` refuses servers that have some before this is asked).
    async fn open_held(
        &self,
        held: &Held,
        server: &mcp_gateway_config::Server,
        credential: Option<&CredentialHeader>,
    ) -> Result<Opened, RouteError> {
        // A class index is below `AskClass::COUNT` (8).
        let class = u8::try_from(held.class.index()).unwrap_or(u8::MAX);
        self.opened_or_ask(&held.key, server, Some(class), credential)
    }

    /// Asked of the sidecar on every such request (not cached here: the sidecar records the
    /// session's use, as for a routed call).
    async fn session_client(
        &self,
        gateway: &str,
        server: &mcp_gateway_config::Server,
    ) -> Result<SessionClient, RouteError> {
        if let Some((name, client)) = &self.known.client
            && *name == server.name
        {
            return client.clone();
        }
        if self.sidecar.settings.is_none() {
            return Err(RouteError::BackendUnavailable {
                server: server.name.clone(),
                reason: ModuleError::NoSidecar.to_string(),
            });
        }
        self.wants(Ask::Client {
            session: gateway.to_owned(),
            server: server.name.clone(),
        });
        Err(waiting())
    }

    async fn open_servers(&self, gateway: &str) -> Result<Vec<String>, RouteError> {
        if let Some(servers) = &self.known.servers {
            return servers.clone();
        }
        self.wants(Ask::Servers(gateway.to_owned()));
        Err(waiting())
    }

    async fn forget(&self, gateway: &str, server: &str) {
        self.sidecar
            .opened
            .pin()
            .remove(&(gateway.to_owned(), server.to_owned()));
        if !self.known.forgotten {
            self.wants(Ask::Forget {
                session: gateway.to_owned(),
                server: server.to_owned(),
                backend: None,
            });
        }
    }

    async fn forget_if_current(&self, gateway: &str, server: &str, backend: &str) {
        let key = (gateway.to_owned(), server.to_owned());
        let cache = self.sidecar.opened.pin();
        if cache
            .get(&key)
            .is_some_and(|(opened, _)| opened.session_id.as_deref() == Some(backend))
        {
            cache.remove(&key);
        }
        if !self.known.forgotten {
            self.wants(Ask::Forget {
                session: key.0,
                server: key.1,
                backend: Some(backend.to_owned()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use mcp_gateway_routing::Backends;

    use super::*;

    fn sidecar() -> Sidecar {
        let settings = Settings {
            cluster: "sidecar".into(),
            refresh: Duration::from_secs(1),
            ttl: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
        };
        Sidecar::new(Some(settings), Config::empty())
    }

    /// Runs a phase of the core to its plan (the module's `Backends` never waits).
    fn now<T>(phase: impl std::future::Future<Output = T>) -> T {
        let mut phase = std::pin::pin!(phase);
        match phase
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(plan) => plan,
            std::task::Poll::Pending => panic!("a phase waited"),
        }
    }

    /// A 2026-07-28 call waits in its body phase for the sidecar to hold a backend session,
    /// and routes when that phase runs again with the answer, as the module runs it (the
    /// headers phase is not run again: its plan already changed the request).
    #[test]
    fn a_held_call_routes_when_its_body_phase_runs_again() {
        use mcp_gateway_catalog::ServerOffer;
        use mcp_gateway_routing::{Plan, Policy, RequestContext};

        let sidecar = sidecar();
        sidecar.config.store(
            Config::from_yaml("servers:\n  - name: calc\n    url: http://127.0.0.1:1/mcp\n    toolPrefix: calc_\n")
                .expect("a config"),
        );
        sidecar.catalog.update(
            "calc",
            ServerOffer::tools("calc_", vec![serde_json::json!({"name": "add"})]),
        );
        let policy = Policy::new(
            sidecar.config.clone(),
            sidecar.catalog.clone(),
            1 << 20,
            Default::default(),
        );
        let headers: [(&str, &[u8]); 7] = [
            (":method", b"POST"),
            (":path", b"/mcp"),
            ("content-type", b"application/json"),
            ("accept", b"application/json, text/event-stream"),
            ("mcp-protocol-version", b"2026-07-28"),
            ("mcp-method", b"tools/call"),
            ("mcp-name", b"calc_add"),
        ];
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}}"#;

        let mut known = Known::default();
        let mut ctx = RequestContext::default();
        let lookup = Lookup::new(&sidecar, &known);
        let plan = now(policy.request_headers(&lookup, &mut ctx, headers.iter().copied()));
        assert!(lookup.into_ask().is_none(), "{plan:?}");
        assert!(!matches!(plan, Plan::Reject(_)), "{plan:?}");

        let lookup = Lookup::new(&sidecar, &known);
        let _ = now(policy.request_body(&lookup, &mut ctx, body));
        let ask = lookup
            .into_ask()
            .expect("the sidecar is asked to hold a session");
        let Ask::Open { session, class, .. } = &ask else {
            panic!("{ask:?}");
        };
        assert_eq!((session.as_str(), *class), ("held.0.", Some(0)));
        sidecar
            .record(
                &mut known,
                ask,
                Some(br#"{"Ok":{"session_id":"b-1","protocol_version":"2025-11-25","client_may_be_asked":false}}"#),
            )
            .expect("recorded");

        let lookup = Lookup::new(&sidecar, &known);
        let plan = now(policy.request_body(&lookup, &mut ctx, body));
        assert!(lookup.into_ask().is_none());
        let Plan::Route(route) = plan else {
            panic!("routed to the backend: {plan:?}");
        };
        assert!(route.clear_route, "{route:?}");
    }

    fn asks_about(sidecar: &Sidecar, known: &Known, subject: Option<&str>) -> (bool, Option<Ask>) {
        let lookup = Lookup::new(sidecar, known);
        let valid = lookup.session_valid_for("gw-1", subject);
        (valid, lookup.into_ask())
    }

    /// With auth on, the session of a verified caller is asked about with its subject, and a
    /// valid answer holds for that subject only (an id is bound to one caller).
    #[test]
    fn a_session_is_valid_for_the_subject_the_sidecar_confirmed() {
        let sidecar = sidecar();
        let mut known = Known::default();
        let alice = Some("5:idp-aalice");
        let (valid, ask) = asks_about(&sidecar, &known, alice);
        assert!(!valid, "nothing is known yet");
        let ask = ask.expect("the sidecar is asked");
        assert_eq!(
            sidecar.request(&ask).1,
            SESSION_PATH,
            "asked on the session path"
        );
        let query: Query = serde_json::from_slice(&sidecar.request(&ask).2).expect("a query");
        assert_eq!(query.subject.as_deref(), alice, "the subject goes with it");
        sidecar
            .record(&mut known, ask, Some(br#"{"valid":true}"#))
            .expect("recorded");

        // This request, and later ones through the shared cache.
        assert_eq!(asks_about(&sidecar, &known, alice), (true, None));
        let later = Known::default();
        assert_eq!(asks_about(&sidecar, &later, alice), (true, None));
        // Another caller, or none, presenting the id: not taken from the cache.
        for other in [Some("5:idp-bbob"), None] {
            let (valid, ask) = asks_about(&sidecar, &later, other);
            assert!(!valid, "{other:?}");
            assert!(
                matches!(ask, Some(Ask::Session { subject, .. }) if subject.as_deref() == other),
                "{other:?}: asks the sidecar"
            );
        }
    }
}
