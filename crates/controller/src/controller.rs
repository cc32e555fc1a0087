//! The running controller: watch caches, leader election, the debounced reconcile
//! loop, and the health and metrics listeners.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Service;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::cluster::Cluster;
use crate::context::{Context, Settings};
use crate::crd::MCPServer;
use crate::discovery::{Discovery, DiscoverySettings};
use crate::error::Error;
use crate::health::{self, Health};
use crate::leader::{LeaderElector, LeaseSettings};
use crate::metrics::{self, Metrics};
use crate::reconcile::reconcile;
use crate::route::HTTPRoute;
use crate::virtual_server::MCPVirtualServer;

/// Everything the controller is configured with.
#[derive(Clone, Debug)]
pub struct ControllerOptions {
    /// Output ConfigMap and Service addressing.
    pub settings: Settings,
    /// Where `/healthz` and `/readyz` are served.
    pub health_address: SocketAddr,
    /// Where `/metrics` is served.
    pub metrics_address: SocketAddr,
    /// Leader election; `None` reconciles unconditionally (single replica only).
    pub leader_election: Option<LeaseSettings>,
    /// Delay between a change and the reconcile it triggers; changes arriving
    /// meanwhile are folded into that same reconcile.
    pub debounce: Duration,
    /// Full reconcile this often even without changes; the ConfigMap is rewritten
    /// then, repairing manual edits.
    pub resync: Duration,
    /// First delay before retrying a failed reconcile; doubles up to [`MAX_RETRY`].
    pub retry: Duration,
    /// Listing the published servers' tools for their status; `None` leaves
    /// `discoveredTools` out.
    pub discovery: Option<DiscoverySettings>,
}

/// Longest delay between retries of a failing reconcile.
pub const MAX_RETRY: Duration = Duration::from_secs(60);

impl ControllerOptions {
    /// Defaults: health on :8081, metrics on :8082, 500 ms debounce, 5 min resync,
    /// tool discovery every 60 s.
    pub fn new(settings: Settings, leader_election: Option<LeaseSettings>) -> Self {
        Self {
            settings,
            health_address: SocketAddr::from(([0, 0, 0, 0], 8081)),
            metrics_address: SocketAddr::from(([0, 0, 0, 0], 8082)),
            leader_election,
            debounce: Duration::from_millis(500),
            resync: Duration::from_secs(300),
            retry: Duration::from_secs(2),
            discovery: Some(DiscoverySettings::default()),
        }
    }
}

/// A controller whose listeners are bound; [`Controller::run`] starts it.
pub struct Controller {
    client: Client,
    options: ControllerOptions,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    health_listener: TcpListener,
    metrics_listener: TcpListener,
    discovery: Option<Arc<Discovery>>,
}

impl Controller {
    /// Connects with the default client (kubeconfig, or the in-cluster service
    /// account) and binds the listeners.
    pub async fn connect(options: ControllerOptions) -> Result<Self, Error> {
        // kube's rustls uses the process-wide provider; ring is the one we build.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::try_default().await.map_err(Error::Connect)?;
        Self::bind(client, options).await
    }

    /// Binds the health and metrics listeners for `client`.
    pub async fn bind(client: Client, options: ControllerOptions) -> Result<Self, Error> {
        let health_listener = listen("health", options.health_address).await?;
        let metrics_listener = listen("metrics", options.metrics_address).await?;
        let discovery = match &options.discovery {
            Some(settings) => Some(Arc::new(
                Discovery::new(settings).map_err(Error::Discovery)?,
            )),
            None => None,
        };
        Ok(Self {
            client,
            options,
            health: Arc::new(Health::default()),
            metrics: Arc::new(Metrics::new()),
            health_listener,
            metrics_listener,
            discovery,
        })
    }

    /// The bound health and metrics addresses.
    pub fn local_addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (
            self.health_listener.local_addr().ok(),
            self.metrics_listener.local_addr().ok(),
        )
    }

    /// Runs until `cancel`: watches, campaigns for leadership if configured, and
    /// reconciles while leading.
    pub async fn run(self, cancel: CancellationToken) -> Result<(), Error> {
        let Controller {
            client,
            options,
            health,
            metrics,
            health_listener,
            metrics_listener,
            discovery,
        } = self;
        let health_server = axum::serve(health_listener, health::router(health.clone()))
            .with_graceful_shutdown(cancel.clone().cancelled_owned());
        let metrics_server = axum::serve(metrics_listener, metrics::router(metrics.clone()))
            .with_graceful_shutdown(cancel.clone().cancelled_owned());

        let trigger = Arc::new(Notify::new());
        let stores = Stores {
            servers: spawn_watch(Api::all(client.clone()), &trigger, &cancel),
            virtual_servers: spawn_watch(Api::all(client.clone()), &trigger, &cancel),
            routes: spawn_watch(Api::all(client.clone()), &trigger, &cancel),
            services: spawn_watch(Api::all(client.clone()), &trigger, &cancel),
        };
        let (leading_tx, leading) = watch::channel(false);
        match options.leader_election.clone() {
            Some(lease) => {
                let elector = LeaderElector::new(client.clone(), lease);
                tokio::spawn(elector.run(leading_tx.clone(), cancel.clone()));
            }
            None => {
                leading_tx.send_replace(true);
            }
        }
        let mut ctx = Context::new(client, options.settings.clone(), metrics);
        if let Some(discovery) = discovery {
            tokio::spawn(discover(
                discovery.clone(),
                leading.clone(),
                trigger.clone(),
                cancel.clone(),
            ));
            ctx = ctx.with_discovery(discovery);
        }
        let work = Loop {
            ctx,
            stores,
            health,
            leading,
            trigger,
            options,
        };
        let (health_result, metrics_result, ()) =
            tokio::join!(health_server, metrics_server, work.run(cancel.clone()));
        drop(leading_tx);
        health_result.map_err(|error| Error::Serve {
            what: "health",
            error,
        })?;
        metrics_result.map_err(|error| Error::Serve {
            what: "metrics",
            error,
        })
    }
}

async fn listen(what: &'static str, address: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address)
        .await
        .map_err(|error| Error::Bind {
            what,
            address,
            error,
        })
}

/// The watch caches of the four kinds a reconcile reads.
struct Stores {
    servers: Store<MCPServer>,
    virtual_servers: Store<MCPVirtualServer>,
    routes: Store<HTTPRoute>,
    services: Store<Service>,
}

impl Stores {
    /// Waits for every cache's first full list; `false` if a watch ended first.
    async fn synced(&self) -> bool {
        let (a, b, c, d) = tokio::join!(
            self.servers.wait_until_ready(),
            self.routes.wait_until_ready(),
            self.services.wait_until_ready(),
            self.virtual_servers.wait_until_ready()
        );
        a.is_ok() && b.is_ok() && c.is_ok() && d.is_ok()
    }

    fn snapshot(&self) -> Cluster {
        Cluster::new(
            self.servers.state(),
            self.routes.state(),
            self.services.state(),
        )
        .with_virtual_servers(self.virtual_servers.state())
    }
}

/// Starts a cluster-wide watch of `K` into a cache; every event pulls `trigger`.
fn spawn_watch<K>(api: Api<K>, trigger: &Arc<Notify>, cancel: &CancellationToken) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store::<K>();
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut K| {
            // Not read by the controller; dropping them keeps the caches small.
            object.managed_fields_mut().clear();
            object
                .annotations_mut()
                .remove("kubectl.kubernetes.io/last-applied-configuration");
        })
        .reflect(writer);
    let trigger = trigger.clone();
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                event = stream.next() => match event {
                    Some(Ok(_)) => trigger.notify_one(),
                    Some(Err(e)) => warn!(kind = %kind, error = %e, "watch failed; retrying with backoff"),
                    None => break,
                },
            }
        }
    });
    reader
}

/// While leading, lists the published servers' tools every interval, and at once when
/// a server is new; pulls `trigger` when any server's tools changed, so the next
/// reconcile writes them into its status.
async fn discover(
    discovery: Arc<Discovery>,
    mut leading: watch::Receiver<bool>,
    trigger: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        if *leading.borrow_and_update() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                changed = discovery.refresh() => if changed { trigger.notify_one() },
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = sleep(discovery.interval()) => {}
            _ = discovery.woken() => {}
            changed = leading.changed() => if changed.is_err() { return },
        }
    }
}

/// The reconcile loop's state.
struct Loop {
    ctx: Context,
    stores: Stores,
    health: Arc<Health>,
    leading: watch::Receiver<bool>,
    trigger: Arc<Notify>,
    options: ControllerOptions,
}

impl Loop {
    async fn run(mut self, cancel: CancellationToken) {
        tokio::select! {
            _ = cancel.cancelled() => return,
            synced = self.stores.synced() => if !synced {
                error!("a watch stopped before its first list; not reconciling");
                return;
            },
        }
        self.health.set_ready(true);
        info!("watch caches synced");
        let mut resync_at = Instant::now() + self.options.resync;
        let mut retry_at: Option<Instant> = None;
        let mut backoff = self.options.retry;
        let mut was_leading = false;
        let mut wake = true;
        loop {
            if !wake {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = self.trigger.notified() => {}
                    changed = self.leading.changed() => if changed.is_err() { return },
                    _ = sleep_until(resync_at) => {
                        resync_at = Instant::now() + self.options.resync;
                        self.ctx.set_applied(None);
                    }
                    _ = sleep_until(retry_at.unwrap_or(resync_at)), if retry_at.is_some() => {}
                }
            }
            wake = false;
            let leading = *self.leading.borrow_and_update();
            self.ctx.metrics.set_leader(leading);
            if leading && !was_leading {
                // Another replica may have written the ConfigMap meanwhile.
                self.ctx.set_applied(None);
            }
            was_leading = leading;
            if !leading {
                retry_at = None;
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = sleep(self.options.debounce) => {}
            }
            let cluster = self.stores.snapshot();
            let started = Instant::now();
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                lost = self.leading.wait_for(|leading| !*leading) => {
                    if lost.is_err() {
                        return;
                    }
                    warn!("lost leadership during a reconcile; abandoning it");
                    continue;
                }
                result = reconcile(&self.ctx, &cluster, Timestamp::now()) => result,
            };
            self.ctx
                .metrics
                .reconciled(started.elapsed(), result.as_ref().map(|_| ()));
            match result {
                Ok(summary) => {
                    debug!(
                        published = summary.published,
                        ready = summary.ready,
                        not_ready = summary.not_ready,
                        configmap_applied = summary.configmap_applied,
                        status_patches = summary.status_patches,
                        "reconciled"
                    );
                    retry_at = None;
                    backoff = self.options.retry;
                }
                Err(e) => {
                    error!(error = %e, retry_in = ?backoff, "reconcile failed");
                    retry_at = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(MAX_RETRY);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
