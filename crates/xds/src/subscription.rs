//! What one ADS stream has asked for and been sent: the state-of-the-world protocol
//! as a pure state machine, so it is tested without gRPC.
//!
//! Per resource type: the first request gets the current resources; a request that
//! carries the last nonce is an ACK (nothing to send unless the resource names
//! changed) or, with `error_detail`, a NACK (logged once per rejected version);
//! a request carrying an older nonce is stale and ignored. A config change sends
//! every subscribed type whose resources changed, clusters before the `jwt_authn` filter
//! config (ECDS) and routes, so neither names a cluster Envoy has not seen.

use std::hash::{DefaultHasher, Hash, Hasher};

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use mcp_gateway_config::Config;
use prost::Name;
use tracing::{debug, error};

use crate::auth::{JWT_AUTHN_FILTER, jwt_authn_extension};
use crate::resources::{ROUTE_CONFIG_NAME, resources, to_any};

/// A resource type this server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cluster,
    /// Extension configs (ECDS): the `jwt_authn` filter's.
    Extension,
    Route,
}

impl Kind {
    /// Push order on a config change: clusters before the filter config and routes that
    /// name them.
    const ALL: [Self; 3] = [Self::Cluster, Self::Extension, Self::Route];

    fn from_type_url(type_url: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.type_url() == type_url)
    }

    pub(crate) fn type_url(self) -> String {
        match self {
            Self::Cluster => Cluster::type_url(),
            Self::Extension => TypedExtensionConfig::type_url(),
            Self::Route => RouteConfiguration::type_url(),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The encoded resources of one config, with a version per type.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    sets: [ResourceSet; 3],
}

#[derive(Debug, Clone)]
struct ResourceSet {
    version: String,
    resources: Vec<Any>,
}

impl ResourceSet {
    /// The version is a hash of the encoded resources: equal content, equal version,
    /// so a config change that leaves a type untouched sends nothing for it.
    fn new(resources: Vec<Any>) -> Self {
        let mut hasher = DefaultHasher::new();
        for any in &resources {
            any.type_url.hash(&mut hasher);
            any.value.hash(&mut hasher);
        }
        Self {
            version: format!("{:016x}", hasher.finish()),
            resources,
        }
    }
}

impl Snapshot {
    pub(crate) fn new(cfg: &Config) -> Self {
        let built = resources(cfg);
        Self {
            sets: [
                ResourceSet::new(built.clusters.iter().map(to_any).collect()),
                ResourceSet::new(vec![to_any(&jwt_authn_extension(cfg))]),
                ResourceSet::new(vec![to_any(&built.routes)]),
            ],
        }
    }

    fn set(&self, kind: Kind) -> &ResourceSet {
        &self.sets[kind.index()]
    }

    #[cfg(test)]
    pub(crate) fn version(&self, kind: Kind) -> &str {
        &self.set(kind).version
    }
}

/// One stream's subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    watches: [Option<Watch>; 3],
    sent_responses: u64,
}

#[derive(Debug, Default)]
struct Watch {
    names: Vec<String>,
    sent: Option<Sent>,
    /// The last version whose rejection was logged, so a NACK is logged once.
    nack_logged: Option<String>,
}

#[derive(Debug)]
struct Sent {
    version: String,
    nonce: String,
}

impl Subscriptions {
    /// Handles one request from Envoy; returns the response to send, if any.
    pub(crate) fn on_request(
        &mut self,
        request: &DiscoveryRequest,
        snapshot: &Snapshot,
    ) -> Option<DiscoveryResponse> {
        let Some(kind) = Kind::from_type_url(&request.type_url) else {
            debug!(type_url = %request.type_url, "ignoring a resource type this server does not serve");
            return None;
        };
        let watch = self.watches[kind.index()].get_or_insert_with(Watch::default);
        if let Some(sent) = &watch.sent {
            if request.response_nonce != sent.nonce {
                if !request.response_nonce.is_empty() {
                    debug!(?kind, nonce = %request.response_nonce, "ignoring a stale request");
                    return None;
                }
            } else if let Some(status) = &request.error_detail {
                if watch.nack_logged.as_deref() != Some(sent.version.as_str()) {
                    error!(
                        ?kind,
                        version = %sent.version,
                        code = status.code,
                        detail = %status.message,
                        "Envoy rejected the configuration; it keeps the last version it accepted"
                    );
                    watch.nack_logged = Some(sent.version.clone());
                }
                return None;
            } else if request.resource_names == watch.names {
                return None;
            }
        }
        watch.names.clone_from(&request.resource_names);
        self.respond(kind, snapshot)
    }

    /// Handles a new config: the responses to send, clusters first.
    pub(crate) fn on_config(&mut self, snapshot: &Snapshot) -> Vec<DiscoveryResponse> {
        let mut responses = Vec::new();
        for kind in Kind::ALL {
            let Some(watch) = &self.watches[kind.index()] else {
                continue;
            };
            let current = snapshot.set(kind).version.as_str();
            if watch
                .sent
                .as_ref()
                .is_some_and(|sent| sent.version == current)
            {
                continue;
            }
            responses.extend(self.respond(kind, snapshot));
        }
        responses
    }

    fn respond(&mut self, kind: Kind, snapshot: &Snapshot) -> Option<DiscoveryResponse> {
        let watch = self.watches[kind.index()].as_mut()?;
        if kind == Kind::Route
            && !watch.names.is_empty()
            && !watch.names.iter().any(|name| name == ROUTE_CONFIG_NAME)
        {
            debug!(names = ?watch.names, "Envoy asked for no route table this server has");
            return None;
        }
        if kind == Kind::Extension && !watch.names.iter().any(|name| name == JWT_AUTHN_FILTER) {
            debug!(names = ?watch.names, "Envoy asked for no extension config this server has");
            return None;
        }
        self.sent_responses += 1;
        let set = snapshot.set(kind);
        let nonce = self.sent_responses.to_string();
        watch.sent = Some(Sent {
            version: set.version.clone(),
            nonce: nonce.clone(),
        });
        debug!(?kind, version = %set.version, resources = set.resources.len(), "sending resources");
        Some(DiscoveryResponse {
            version_info: set.version.clone(),
            resources: set.resources.clone(),
            type_url: kind.type_url(),
            nonce,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests;
