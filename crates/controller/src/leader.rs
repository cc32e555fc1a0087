//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas can run and
//! only one reconciles.
//!
//! Same rules as client-go: a Lease held by someone else is taken over only after
//! its record (resourceVersion) has stayed unchanged for a whole lease duration as
//! measured by *our* clock, so clock skew between nodes does not matter. Writes use
//! the resourceVersion read just before, so two candidates cannot both win. A
//! leader that cannot renew within the renew deadline stops leading; on shutdown
//! it releases the Lease so a standby takes over at once.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::error::Error;

/// Name of the Lease unless configured otherwise.
pub const DEFAULT_LEASE_NAME: &str = "mcp-gateway-controller";

/// How the election runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSettings {
    /// Lease name.
    pub name: String,
    /// Lease namespace.
    pub namespace: String,
    /// This replica's identity (`holderIdentity`), unique among candidates.
    pub identity: String,
    /// How long a holder's claim lasts without renewal.
    pub lease_duration: Duration,
    /// Time between renewals (and between attempts while not leading).
    pub renew_every: Duration,
    /// A leader that has not renewed for this long stops leading.
    pub renew_deadline: Duration,
}

impl LeaseSettings {
    /// 15 s lease, renewed every 5 s, given up after 10 s without renewal.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            name: DEFAULT_LEASE_NAME.to_owned(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
        }
    }
}

/// This replica's identity: `POD_NAME`, else the host name, else one made from the
/// process id.
pub fn default_identity() -> String {
    let from_env = |key| {
        std::env::var(key)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    from_env("POD_NAME")
        .or_else(|| from_env("HOSTNAME"))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| format!("mcp-gateway-controller-{}", std::process::id()))
}

/// One candidate in the election.
pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// resourceVersion of the foreign record last seen, and when we first saw it.
    observed: Option<(String, Instant)>,
    /// The Lease as we last wrote it while holding it.
    held: Option<Lease>,
    /// When we last acquired or renewed.
    renewed_at: Option<Instant>,
}

impl LeaderElector {
    /// A candidate using `client`.
    pub fn new(client: Client, settings: LeaseSettings) -> Self {
        Self {
            api: Api::namespaced(client, &settings.namespace),
            settings,
            observed: None,
            held: None,
            renewed_at: None,
        }
    }

    /// One attempt to acquire or renew. `Ok(true)`: we hold the Lease now.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, Error> {
        let now = Instant::now();
        let name = self.settings.name.clone();
        let Some(mut lease) = self.api.get_opt(&name).await.map_err(|e| self.error(e))? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.claim(None, false)),
            };
            return self.write(self.api.create(&PostParams::default(), &lease).await, now);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let ours = holder == Some(self.settings.identity.as_str());
        if holder.is_some() && !ours {
            self.held = None;
            self.renewed_at = None;
            let version = lease.resource_version().unwrap_or_default();
            let first_seen = match &self.observed {
                Some((seen, at)) if *seen == version => *at,
                _ => {
                    self.observed = Some((version, now));
                    now
                }
            };
            let duration = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.settings.lease_duration, Duration::from_secs);
            if now.duration_since(first_seen) < duration {
                return Ok(false);
            }
            info!(lease = %name, previous = holder.unwrap_or_default(), "Lease expired; taking over");
        }
        lease.spec = Some(self.claim(Some(spec), ours));
        self.write(
            self.api
                .replace(&name, &PostParams::default(), &lease)
                .await,
            now,
        )
    }

    /// Gives the Lease up if we hold it, so another candidate need not wait for it
    /// to expire.
    pub async fn release(&mut self) -> Result<(), Error> {
        self.renewed_at = None;
        let Some(mut lease) = self.held.take() else {
            return Ok(());
        };
        let mut spec = lease.spec.take().unwrap_or_default();
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            // Someone else changed it since: it is not ours to release any more.
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_not_found() => {
                Ok(())
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// Campaigns until `cancel`, publishing whether we lead on `leading`, then
    /// releases the Lease.
    pub async fn run(mut self, leading: watch::Sender<bool>, cancel: CancellationToken) {
        loop {
            let attempt =
                tokio::time::timeout(self.settings.renew_every, self.try_acquire_or_renew());
            let lead = tokio::select! {
                _ = cancel.cancelled() => break,
                result = attempt => match result {
                    Ok(Ok(held)) => held,
                    Ok(Err(e)) => {
                        warn!(error = %e, "leader election attempt failed");
                        self.within_deadline()
                    }
                    Err(_) => {
                        warn!(lease = %self.settings.name, "leader election attempt timed out");
                        self.within_deadline()
                    }
                },
            };
            leading.send_if_modified(|current| {
                let changed = *current != lead;
                if changed {
                    info!(identity = %self.settings.identity, leading = lead, "leadership changed");
                }
                *current = lead;
                changed
            });
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(self.settings.renew_every) => {}
            }
        }
        leading.send_replace(false);
        if let Err(e) = self.release().await {
            warn!(error = %e, "releasing the leader Lease failed; it expires on its own");
        }
    }

    /// Whether a leader whose last renewals failed may still lead.
    fn within_deadline(&self) -> bool {
        self.renewed_at
            .is_some_and(|at| at.elapsed() < self.settings.renew_deadline)
    }

    /// Our claim: renewing keeps `acquireTime` and the transition count.
    fn claim(&self, previous: Option<LeaseSpec>, renewing: bool) -> LeaseSpec {
        let previous = previous.unwrap_or_default();
        let now = MicroTime(Timestamp::now());
        let seconds = i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let (acquire_time, transitions) = if renewing {
            (previous.acquire_time.clone(), previous.lease_transitions)
        } else {
            let count = previous.lease_transitions.map(|t| t.saturating_add(1));
            (Some(now.clone()), Some(count.unwrap_or(0)))
        };
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(seconds),
            acquire_time,
            renew_time: Some(now),
            lease_transitions: transitions,
            ..previous
        }
    }

    /// Records the outcome of a create or replace; losing a race is not an error.
    fn write(&mut self, result: Result<Lease, kube::Error>, now: Instant) -> Result<bool, Error> {
        match result {
            Ok(lease) => {
                self.held = Some(lease);
                self.renewed_at = Some(now);
                self.observed = None;
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_already_exists() => {
                self.held = None;
                self.renewed_at = None;
                Ok(false)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, error: kube::Error) -> Error {
        Error::Lease {
            namespace: self.settings.namespace.clone(),
            name: self.settings.name.clone(),
            error,
        }
    }
}

#[cfg(test)]
mod tests;
