//! Stdio MCP servers behind the gateway.
//!
//! A server configured with a `command` instead of a `url` gets a [`Bridge`]: a
//! streamable HTTP endpoint on `127.0.0.1:<port>/mcp` that Envoy and the broker reach
//! like any other backend. Each `initialize` arriving at the bridge spawns a fresh child
//! process and its `Mcp-Session-Id` names that child: one process per backend session, so
//! servers that keep per-client state are safe and no JSON-RPC ids are remapped. DELETE,
//! an idle timeout or the bridge stopping kills the child; a child that exits ends its
//! session (its requests get a JSON-RPC error, later ones 404, so the gateway opens a new
//! session, which spawns a new child).
//!
//! Nothing runs when no session is open, so a server that crashes at once costs one spawn
//! per `initialize`, paced by the gateway's discovery backoff: there is no restart loop.

mod child;
mod http;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mcp_gateway_config::{Config, ConfigStore, StdioCommand};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use crate::child::Child;

/// A session whose child has neither been asked anything nor answered for this long is
/// ended and its process killed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// One stdio server's bridge, bound and not yet serving.
#[derive(Debug)]
pub struct Bridge {
    listener: TcpListener,
    state: Arc<BridgeState>,
}

/// The most children (backend sessions) one stdio server runs at once; an `initialize`
/// beyond it gets 503 with a JSON-RPC error, and no process.
pub const MAX_SESSIONS: usize = 256;

#[derive(Debug)]
pub(crate) struct BridgeState {
    pub(crate) server: String,
    pub(crate) command: StdioCommand,
    pub(crate) sessions: Mutex<HashMap<String, Arc<Child>>>,
    pub(crate) idle_timeout: Duration,
}

impl BridgeState {
    pub(crate) fn session(&self, id: &str) -> Option<Arc<Child>> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Records `child` as session `id`, unless [`MAX_SESSIONS`] children already run.
    pub(crate) fn insert(&self, id: &str, child: &Arc<Child>) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= MAX_SESSIONS {
            return false;
        }
        sessions.insert(id.to_owned(), child.clone());
        true
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Child>> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }

    fn drain(&self) -> Vec<Arc<Child>> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, child)| child)
            .collect()
    }
}

impl Bridge {
    /// Binds `127.0.0.1:<command.port>` for the server `name`.
    pub async fn bind(
        name: &str,
        command: StdioCommand,
        idle_timeout: Duration,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, command.port)).await?;
        Ok(Self {
            listener,
            state: Arc::new(BridgeState {
                server: name.to_owned(),
                command,
                sessions: Mutex::new(HashMap::new()),
                idle_timeout,
            }),
        })
    }

    /// Where the bridge listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `cancel`, then kills every child.
    pub async fn serve(self, cancel: CancellationToken) {
        let state = self.state;
        let reaper = tokio::spawn(reap_idle(state.clone(), cancel.clone()));
        let served = axum::serve(self.listener, http::app(state.clone()))
            .with_graceful_shutdown(cancel.clone().cancelled_owned())
            .await;
        if let Err(error) = served {
            error!(server = %state.server, %error, "stdio bridge stopped");
        }
        reaper.abort();
        for child in state.drain() {
            child.kill();
        }
    }
}

/// Ends sessions idle for longer than the bridge's idle timeout.
async fn reap_idle(state: Arc<BridgeState>, cancel: CancellationToken) {
    let every = (state.idle_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let idle: Vec<String> = state
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, child)| child.idle_for() > state.idle_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            if let Some(child) = state.remove(&id) {
                debug!(server = %state.server, session = %id, "stdio session idle; killing its process");
                child.kill();
            }
        }
    }
}

/// Runs a bridge for every enabled stdio server of the live config until `cancel`,
/// starting, restarting (when its command changed) and stopping bridges as the config
/// changes. URL servers are not looked at.
pub async fn run_bridges(config: Arc<ConfigStore>, cancel: CancellationToken) {
    let mut configs = config.subscribe();
    let mut running: HashMap<String, (StdioCommand, CancellationToken)> = HashMap::new();
    loop {
        let config = configs.borrow_and_update().clone();
        reconcile(&config, &cancel, &mut running).await;
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = configs.changed() => if changed.is_err() { break },
        }
    }
    for (_, (_, token)) in running {
        token.cancel();
    }
}

async fn reconcile(
    config: &Config,
    cancel: &CancellationToken,
    running: &mut HashMap<String, (StdioCommand, CancellationToken)>,
) {
    let wanted: HashMap<&str, &StdioCommand> = config
        .enabled_servers()
        .filter_map(|server| Some((server.name.as_str(), server.command.as_ref()?)))
        .collect();
    running.retain(|name, (command, token)| {
        let keep = wanted.get(name.as_str()) == Some(&&*command);
        if !keep {
            debug!(server = %name, "stopping stdio bridge");
            token.cancel();
        }
        keep
    });
    for (name, command) in wanted {
        if running.contains_key(name) {
            continue;
        }
        // A stopped bridge's port is released only once its task has ended: retry briefly.
        let mut bound = None;
        for attempt in 0..20u32 {
            match Bridge::bind(name, command.clone(), DEFAULT_IDLE_TIMEOUT).await {
                Ok(bridge) => {
                    bound = Some(bridge);
                    break;
                }
                Err(error) if attempt == 19 => {
                    error!(server = %name, port = command.port, %error, "cannot bind the stdio bridge; server not served");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let Some(bridge) = bound else { continue };
        let token = cancel.child_token();
        match bridge.local_addr() {
            Ok(address) => debug!(server = %name, %address, "stdio bridge listening"),
            Err(error) => warn!(server = %name, %error, "stdio bridge address"),
        }
        tokio::spawn(bridge.serve(token.clone()));
        running.insert(name.to_owned(), (command.clone(), token));
    }
}
