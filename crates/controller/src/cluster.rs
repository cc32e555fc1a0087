//! One consistent snapshot of the objects a reconcile reads.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;

use crate::crd::MCPServer;
use crate::route::HTTPRoute;
use crate::virtual_server::MCPVirtualServer;

/// The `MCPServer`s, `MCPVirtualServer`s, `HTTPRoute`s and `Service`s seen at one moment.
///
/// `MCPServer`s are kept oldest first (then by namespace and name), so that when two
/// conflict the one created later is the one refused, and output order is stable.
#[derive(Debug, Default, Clone)]
pub struct Cluster {
    servers: Vec<Arc<MCPServer>>,
    virtual_servers: Vec<Arc<MCPVirtualServer>>,
    routes: HashMap<(String, String), Arc<HTTPRoute>>,
    services: HashMap<(String, String), Arc<Service>>,
}

impl Cluster {
    /// A snapshot of these objects. Cluster-scoped (namespace-less) objects are ignored.
    pub fn new(
        servers: impl IntoIterator<Item = Arc<MCPServer>>,
        routes: impl IntoIterator<Item = Arc<HTTPRoute>>,
        services: impl IntoIterator<Item = Arc<Service>>,
    ) -> Self {
        Self {
            servers: oldest_first(servers),
            virtual_servers: Vec::new(),
            routes: by_key(routes),
            services: by_key(services),
        }
    }

    /// This snapshot with these `MCPVirtualServer`s (kept oldest first, as servers are).
    pub fn with_virtual_servers(
        mut self,
        virtual_servers: impl IntoIterator<Item = Arc<MCPVirtualServer>>,
    ) -> Self {
        self.virtual_servers = oldest_first(virtual_servers);
        self
    }

    /// Every `MCPVirtualServer`, oldest first.
    pub fn virtual_servers(&self) -> &[Arc<MCPVirtualServer>] {
        &self.virtual_servers
    }

    /// Every `MCPServer`, oldest first.
    pub fn servers(&self) -> &[Arc<MCPServer>] {
        &self.servers
    }

    /// The HTTPRoute `namespace/name`.
    pub fn route(&self, namespace: &str, name: &str) -> Option<&HTTPRoute> {
        lookup(&self.routes, namespace, name)
    }

    /// The Service `namespace/name`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        lookup(&self.services, namespace, name)
    }
}

/// Namespaced objects, oldest first, then by namespace and name.
fn oldest_first<K: ResourceExt>(objects: impl IntoIterator<Item = Arc<K>>) -> Vec<Arc<K>> {
    let mut objects: Vec<Arc<K>> = objects
        .into_iter()
        .filter(|o| o.namespace().is_some())
        .collect();
    objects.sort_by(|a, b| {
        let created = |o: &K| o.meta().creation_timestamp.as_ref().map(|t| t.0);
        created(a)
            .cmp(&created(b))
            .then_with(|| a.namespace().cmp(&b.namespace()))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    objects
}

fn by_key<K: ResourceExt>(
    objects: impl IntoIterator<Item = Arc<K>>,
) -> HashMap<(String, String), Arc<K>> {
    objects
        .into_iter()
        .filter_map(|o| Some(((o.namespace()?, o.name_any()), o)))
        .collect()
}

fn lookup<'a, K>(
    map: &'a HashMap<(String, String), Arc<K>>,
    namespace: &str,
    name: &str,
) -> Option<&'a K> {
    map.get(&(namespace.to_owned(), name.to_owned()))
        .map(Arc::as_ref)
}
