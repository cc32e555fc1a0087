//! Tool discovery for `status.targets[].discoveredTools`.
//!
//! The gateway pods discover tools for routing; they do not write to the Kubernetes
//! API. So the controller lists the tools of every server it publishes itself, the
//! same way the gateway does (initialize, `tools/list` with every page, DELETE), and
//! reports them with the server's prefix, as clients will see them. Discovery runs
//! beside the reconcile loop, never inside it: a slow or dead backend cannot delay a
//! ConfigMap write, it only leaves its target without `discoveredTools`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use mcp_gateway_upstream::{InitOptions, UpstreamClient, UpstreamError};
use serde_json::Value;
use tokio::sync::Notify;
use tracing::debug;
use url::Url;

/// Backends listed at the same time.
const PARALLEL: usize = 8;

/// How tools are discovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// Time between listings of every published server.
    pub interval: Duration,
    /// Bound on each exchange with a backend.
    pub timeout: Duration,
    /// Fixed addresses for host names (`host`, address) instead of DNS; the URL's port
    /// still applies. No flag sets it: tests use it to reach Service names on loopback.
    pub resolve: Vec<(String, SocketAddr)>,
}

impl Default for DiscoverySettings {
    /// Every 60 s, 5 s per exchange, cluster DNS.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            resolve: Vec::new(),
        }
    }
}

/// What is known of the published servers' tools, by backend URL.
#[derive(Debug)]
pub struct Discovery {
    client: UpstreamClient,
    interval: Duration,
    state: Mutex<State>,
    /// Pulled when a URL to discover is new.
    wake: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The URLs of the servers published by the last reconcile.
    tracked: Vec<Url>,
    /// Tool names (as the backend names them) of the last successful listing.
    found: HashMap<Url, Vec<String>>,
}

impl Discovery {
    /// A discovery with nothing tracked yet.
    pub fn new(settings: &DiscoverySettings) -> Result<Self, UpstreamError> {
        let client = UpstreamClient::with_resolve(settings.timeout, &settings.resolve)?;
        Ok(Self {
            client,
            interval: settings.interval,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        })
    }

    /// Time between full listings.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Resolves when a URL never listed before is tracked.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The tools of the server at `url` with `prefix` in front, as the gateway exposes
    /// them; `None` when its last listing failed or it has not been listed yet.
    pub fn exposed(&self, url: &Url, prefix: &str) -> Option<Vec<String>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let names = state.found.get(url)?;
        Some(names.iter().map(|name| format!("{prefix}{name}")).collect())
    }

    /// Makes `urls` the servers to discover, forgetting the others; wakes the
    /// discovery loop when one of them has no listing yet.
    pub fn track(&self, urls: Vec<Url>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.tracked == urls {
            return;
        }
        let found = &mut state.found;
        found.retain(|url, _| urls.contains(url));
        let new = urls.iter().any(|url| !found.contains_key(url));
        state.tracked = urls;
        drop(state);
        if new {
            self.wake.notify_one();
        }
    }

    /// Lists every tracked server once; `true` when any server's tools changed (so
    /// statuses need writing).
    pub async fn refresh(&self) -> bool {
        let tracked = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tracked
            .clone();
        let listings: Vec<(Url, Option<Vec<String>>)> = futures::stream::iter(tracked)
            .map(|url| async move {
                let tools = match self.list(&url).await {
                    Ok(tools) => Some(tools),
                    Err(error) => {
                        debug!(%url, %error, "tool discovery failed");
                        None
                    }
                };
                (url, tools)
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = false;
        for (url, tools) in listings {
            // A server untracked while it was being listed stays forgotten.
            if !state.tracked.contains(&url) {
                continue;
            }
            let before = match &tools {
                Some(tools) => state.found.insert(url, tools.clone()),
                None => state.found.remove(&url),
            };
            changed |= before != tools;
        }
        changed
    }

    /// One listing: a session of its own, every page of `tools/list`, then DELETE. The
    /// names come sorted, so a backend listing them in another order is no change.
    async fn list(&self, url: &Url) -> Result<Vec<String>, UpstreamError> {
        let options = InitOptions::own(crate::context::FIELD_MANAGER);
        let session = self.client.initialize(url, &options).await?;
        let listed = self
            .client
            .list_all(url, &session, "tools/list", "tools")
            .await;
        let _ = self.client.terminate(url, &session).await;
        let mut names: Vec<String> = listed?
            .iter()
            .filter_map(|tool| tool.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        names.sort_unstable();
        Ok(names)
    }
}

#[cfg(test)]
mod tests;
