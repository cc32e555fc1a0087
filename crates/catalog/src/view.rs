//! Filtered views of the aggregated lists, one per class of callers, cached in the catalog.
//!
//! A policy gives callers that meet the same rules the same lists. The first list request of
//! such a class filters the catalog's lists once; every later one, from any caller of that
//! class, is served from the view's pre-serialised bytes, as fast as the unfiltered list. A
//! rebuilt catalog starts with no views (they are built again from the new lists on use).

use std::sync::Arc;

use mcp_gateway_protocol::asks::AskClass;

use crate::{ListKind, Listing};

/// Names one class of callers under one policy: the policy's fingerprint and the set of its
/// rules the callers meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ViewKey {
    /// Fingerprint of the policy (equal for equal policies, across reloads).
    pub policy: u64,
    /// The rules that apply, one bit each.
    pub class: u128,
}

/// The four aggregated lists as one class of callers sees them.
#[derive(Debug)]
pub struct View(pub(crate) [Listing; 4]);

impl View {
    /// One list of this view.
    pub fn list(&self, kind: ListKind) -> &Listing {
        &self.0[kind.index()]
    }
}

/// Views built so far; read without locks. Bounded: past [`Views::MAX`] classes (many policy
/// reloads, or claims that split callers finely) the cache starts again.
#[derive(Debug, Default)]
pub(crate) struct Views(papaya::HashMap<(Option<ViewKey>, Option<AskClass>), Arc<View>>);

impl Views {
    /// Most views kept per catalog.
    const MAX: usize = 1024;

    pub(crate) fn get_or_build(
        &self,
        key: (Option<ViewKey>, Option<AskClass>),
        build: impl FnOnce() -> View,
    ) -> Arc<View> {
        let map = self.0.pin();
        if let Some(view) = map.get(&key) {
            return view.clone();
        }
        if map.len() >= Self::MAX {
            map.clear();
        }
        // Two first requests of a class may both build; one view wins, both are equal.
        map.get_or_insert_with(key, || Arc::new(build())).clone()
    }

    /// Number of views built.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
