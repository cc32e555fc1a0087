//! What one caller may do under the config in force.

use std::sync::Arc;

use mcp_gateway_catalog::{Catalog, ListKind, View, ViewKey};
use mcp_gateway_config::{Config, Offering, Policy};
use mcp_gateway_identity::Caller;

use crate::Class;

/// One caller's access under one config: take it once per request.
#[derive(Clone, Copy, Debug)]
pub enum Access<'a> {
    /// No policy is configured: everything is allowed and listed.
    Unrestricted,
    /// A policy decides, for a caller of this class.
    Restricted {
        /// The policy in force.
        policy: &'a Policy,
        /// The rules that apply to the caller.
        class: Class,
    },
}

/// The decision on one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// Whether the caller may list and use it.
    pub allowed: bool,
    /// The rule that decided: the denying or allowing rule; `None` without a policy, or when
    /// no rule allows it (denied by default).
    pub rule: Option<&'a str>,
}

impl<'a> Access<'a> {
    /// The access of `caller` (`None`: anonymous) under `config`.
    pub fn of(config: &'a Config, caller: Option<&Caller>) -> Self {
        match config.policy() {
            None => Self::Unrestricted,
            Some(policy) => Self::Restricted {
                policy,
                class: Class::of(policy, caller),
            },
        }
    }

    /// May the caller use `name` (an exposed name or URI) of `server`?
    pub fn check(&self, kind: Offering, server: &str, name: &str) -> Verdict<'a> {
        let Self::Restricted { policy, class } = *self else {
            return Verdict {
                allowed: true,
                rule: None,
            };
        };
        let applying = || {
            policy
                .rules
                .iter()
                .enumerate()
                .filter(move |(i, _)| class.has(*i))
                .map(|(_, rule)| rule)
        };
        let covers = |targets: &Option<_>| {
            targets
                .as_ref()
                .is_some_and(|t: &mcp_gateway_config::Targets| t.covers(kind, server, name))
        };
        if let Some(rule) = applying().find(|rule| covers(&rule.deny)) {
            return Verdict {
                allowed: false,
                rule: Some(&rule.name),
            };
        }
        match applying().find(|rule| covers(&rule.allow)) {
            Some(rule) => Verdict {
                allowed: true,
                rule: Some(&rule.name),
            },
            None => Verdict {
                allowed: false,
                rule: None,
            },
        }
    }

    /// The key of this caller's view of the lists; `None` when lists are not filtered.
    pub fn view_key(&self) -> Option<ViewKey> {
        match self {
            Self::Unrestricted => None,
            Self::Restricted { policy, class } => Some(ViewKey {
                policy: policy.fingerprint,
                class: class.0,
            }),
        }
    }

    /// The lists as this caller may see them, from `catalog`'s cache of views (built once per
    /// class of callers); `None`: the catalog's own lists, unfiltered.
    pub fn view(&self, catalog: &Catalog) -> Option<Arc<View>> {
        let key = self.view_key()?;
        Some(catalog.view(key, |kind, server, name| {
            self.check(offering(kind), server, name).allowed
        }))
    }
}

/// What a policy calls the items of a list.
pub fn offering(kind: ListKind) -> Offering {
    match kind {
        ListKind::Tools => Offering::Tool,
        ListKind::Prompts => Offering::Prompt,
        ListKind::Resources | ListKind::ResourceTemplates => Offering::Resource,
    }
}

#[cfg(test)]
mod tests;
