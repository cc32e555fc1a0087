//! One upstream manager per enabled backend, reconciled against the live config.
//!
//! Each manager keeps the gateway's own session with its backend (and one probe session per
//! capability class it lists as), lists its tools (following pagination to the end),
//! publishes them to the catalog, refreshes them periodically, and marks the backend
//! unhealthy (its tools disappear) while it does not answer. When a backend
//! comes back after an outage, or forgets the manager's session, it has probably restarted and
//! lost every session: the manager tells the session store to forget that backend's sessions,
//! so clients' next calls open fresh ones instead of failing.

mod era;
mod manager;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_config::{Config, Server};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::BrokerState;

/// How managers pace their work.
#[derive(Clone, Copy, Debug)]
pub struct DiscoveryTiming {
    /// Time between refreshes of a healthy backend.
    pub refresh: Duration,
    /// Longest wait between retries of an unhealthy backend (retries start at 250 ms and double).
    pub max_backoff: Duration,
}

impl Default for DiscoveryTiming {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(30),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Runs until `cancel`: starts, restarts and stops managers as the config changes.
pub async fn run_discovery(
    state: Arc<BrokerState>,
    timing: DiscoveryTiming,
    cancel: CancellationToken,
) {
    let mut configs = state.config.subscribe();
    let mut running: HashMap<String, (Server, CancellationToken)> = HashMap::new();
    loop {
        let config = configs.borrow_and_update().clone();
        reconcile(&state, &config, timing, &cancel, &mut running);
        tokio::select! {
            _ = cancel.cancelled() => break,
            changed = configs.changed() => if changed.is_err() { break },
        }
    }
    for (_, (_, token)) in running {
        token.cancel();
    }
}

fn reconcile(
    state: &Arc<BrokerState>,
    config: &Config,
    timing: DiscoveryTiming,
    cancel: &CancellationToken,
    running: &mut HashMap<String, (Server, CancellationToken)>,
) {
    let wanted: HashMap<&str, &Server> = config
        .enabled_servers()
        .map(|s| (s.name.as_str(), s))
        .collect();
    running.retain(|name, (server, token)| {
        let keep = wanted.get(name.as_str()).is_some_and(|w| *w == server);
        if !keep {
            debug!(server = %name, "stopping upstream manager");
            token.cancel();
        }
        keep
    });
    for (name, server) in &wanted {
        if running.contains_key(*name) {
            continue;
        }
        debug!(server = %name, url = %server.url, "starting upstream manager");
        let token = cancel.child_token();
        tokio::spawn(manager::run(
            state.clone(),
            (*server).clone(),
            timing,
            token.clone(),
        ));
        running.insert((*name).to_owned(), ((*server).clone(), token));
    }
    let names: HashSet<&str> = wanted.keys().copied().collect();
    let changed = state.catalog.retain(&names);
    state.streams.lists_changed(&changed);
}
