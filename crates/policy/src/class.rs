//! Which rules of a policy apply to a caller.

use mcp_gateway_config::{Pattern, Policy, When};
use mcp_gateway_identity::Caller;
use serde_json::Value;

/// The set of a policy's rules whose `when:` a caller meets: bit `i` for rule `i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Class(pub u128);

impl Class {
    /// The rules of `policy` that apply to `caller` (`None`: an anonymous caller, which meets
    /// only rules without conditions).
    pub fn of(policy: &Policy, caller: Option<&Caller>) -> Self {
        let mut mask = 0_u128;
        for (i, rule) in policy.rules.iter().enumerate() {
            let applies = match caller {
                None => rule.when.is_empty(),
                Some(caller) => meets(&rule.when, caller),
            };
            if applies {
                mask |= 1 << i;
            }
        }
        Self(mask)
    }

    /// Whether rule `index` applies.
    pub fn has(self, index: usize) -> bool {
        index < 128 && self.0 & (1 << index) != 0
    }
}

fn meets(when: &When, caller: &Caller) -> bool {
    one(when.subjects.as_deref(), [caller.subject()])
        && one(when.client_ids.as_deref(), caller.client_id())
        && one(
            when.scopes.as_deref(),
            caller.scopes().iter().map(String::as_str),
        )
        && one(
            when.groups.as_deref(),
            caller.groups().iter().map(String::as_str),
        )
        && one(
            when.roles.as_deref(),
            caller.roles().iter().map(String::as_str),
        )
        && when.claims.iter().all(|(name, patterns)| {
            claim_values(caller.claim(name)).any(|v| patterns.iter().any(|p| p.matches(&v)))
        })
}

/// No condition holds; otherwise one of `values` matches one pattern.
fn one<'a>(patterns: Option<&[Pattern]>, values: impl IntoIterator<Item = &'a str>) -> bool {
    let Some(patterns) = patterns else {
        return true;
    };
    values
        .into_iter()
        .any(|v| patterns.iter().any(|p| p.matches(v)))
}

/// A claim's values as text: a string, a number or a boolean; an array's such elements.
/// Objects and null match nothing.
fn claim_values(value: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let items: Box<dyn Iterator<Item = &Value>> = match value {
        Some(Value::Array(items)) => Box::new(items.iter()),
        Some(v) => Box::new(std::iter::once(v)),
        None => Box::new(std::iter::empty()),
    };
    items.filter_map(scalar)
}
