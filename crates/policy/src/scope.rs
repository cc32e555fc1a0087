//! What one request may see and use: the caller's [`Access`] within the endpoint's subset.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use mcp_gateway_catalog::{Catalog, ListKind, View, ViewKey};
use mcp_gateway_config::{Offering, VirtualServer};

use crate::{Access, offering};

/// The caller's access, narrowed to a virtual server's subset when the request came in on
/// one (`/v/<name>/mcp`). Every list, and anything else that names what the gateway offers
/// (`initialize`'s capabilities, `server/discover`), is filtered through [`Scope::allows`]
/// or the cached [`Scope::view`] built from it.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The caller's access under the policy.
    pub access: Access<'a>,
    /// The virtual server of the endpoint; `None` on `/mcp` (the whole catalog).
    pub subset: Option<&'a VirtualServer>,
}

impl<'a> Scope<'a> {
    /// The scope of a caller with `access` on the endpoint of `subset`.
    pub fn new(access: Access<'a>, subset: Option<&'a VirtualServer>) -> Self {
        Self { access, subset }
    }

    /// Whether the exposed `name` of `server` is listed and usable here.
    pub fn allows(&self, kind: Offering, server: &str, name: &str) -> bool {
        self.subset.is_none_or(|v| v.offers(kind, server, name))
            && self.access.check(kind, server, name).allowed
    }

    /// The key of this scope's view of the lists; `None` when nothing is filtered.
    pub fn view_key(&self) -> Option<ViewKey> {
        let Some(subset) = self.subset else {
            return self.access.view_key();
        };
        let policy = self.access.view_key();
        let mut hasher = DefaultHasher::new();
        (policy.map(|k| k.policy), subset.fingerprint).hash(&mut hasher);
        Some(ViewKey {
            policy: hasher.finish(),
            class: policy.map_or(0, |k| k.class),
        })
    }

    /// Whether requests the gateway fans out for a client here (`logging/setLevel`) may go
    /// to `server`: always on `/mcp`; on a virtual server, only to a server it names whole or
    /// one that offers something in its subset, so servers outside it are never reached.
    pub fn reaches(&self, catalog: &Catalog, server: &str) -> bool {
        let Some(subset) = self.subset else {
            return true;
        };
        if subset.servers().any(|s| s == server) {
            return true;
        }
        let view = Scope::new(Access::Unrestricted, Some(subset)).view(catalog);
        view.is_some_and(|view| {
            ListKind::ALL
                .iter()
                .any(|kind| view.list(*kind).items().any(|(s, _, _)| s == server))
        })
    }

    /// The lists as seen here, from `catalog`'s cache of views; `None`: the catalog's own.
    pub fn view(&self, catalog: &Catalog) -> Option<Arc<View>> {
        let key = self.view_key()?;
        Some(catalog.view(key, |kind, server, name| {
            self.allows(offering(kind), server, name)
        }))
    }
}

#[cfg(test)]
mod tests;
