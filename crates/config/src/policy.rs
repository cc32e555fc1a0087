//! The `policy:` section: which callers may list and use which tools, prompts and resources.
//!
//! ```yaml
//! policy:
//!   rules:
//!     - name: admins                 # required, unique: named in audit lines
//!       when:                        # every condition given must hold; none: every caller
//!         subjects: [alice]          # `sub`
//!         clientIds: [alice]         # `azp` / `client_id`
//!         scopes: [mcp:admin]        # one of the granted scopes
//!         groups: [ops]              # one of `groups`
//!         roles: [admin]             # one of `roles` (or `realm_access.roles`)
//!         claims: {tenant: [acme]}   # any claim: a string, or an array holding one
//!       allow:
//!         servers: ["*"]             # default: every server
//!         tools: ["calc_*"]          # exposed names; absent: none of that kind ...
//!         prompts: ["*"]             # ... unless no kind is named: then all of them
//!         resources: ["calc://*"]    # exposed URIs (and URI templates)
//!       deny:                        # same shape; a matching deny beats every allow
//!         tools: [calc_divide]
//! ```
//!
//! Every value is a pattern where `*` matches any run of characters. With a policy, what no
//! matching rule allows is denied; without one (no `policy:` key), everything is allowed.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

mod pattern;

pub use pattern::Pattern;

/// Most rules a policy may have: a caller's set of matching rules is one 128-bit mask.
pub const MAX_RULES: usize = 128;

/// `policy:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPolicy {
    /// The rules, in file order.
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

/// One entry of `policy.rules` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRule {
    /// Unique rule name. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which callers the rule applies to; absent: every caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<RawWhen>,
    /// What the rule grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<RawTargets>,
    /// What the rule refuses, whatever any rule allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<RawTargets>,
}

/// `when:` as written: lists of patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawWhen {
    /// Patterns on `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<String>>,
    /// Patterns on the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ids: Option<Vec<String>>,
    /// Patterns on granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Patterns on groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Patterns on roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Patterns on any claim, by claim name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, Vec<String>>,
}

/// `allow:` or `deny:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawTargets {
    /// Server names; absent: every server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<String>>,
    /// Exposed tool names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Exposed prompt names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<String>>,
    /// Exposed resource URIs and URI templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
}

/// What a policy rule can name: the three kinds of things a server offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offering {
    /// A tool, by exposed name.
    Tool,
    /// A prompt, by exposed name.
    Prompt,
    /// A resource or URI template, by exposed URI.
    Resource,
}

impl Offering {
    /// The word audit lines and errors use: `tool`, `prompt`, `resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
        }
    }
}

/// The validated policy. Holding one means: at least one rule, at most [`MAX_RULES`], names
/// unique and non-empty, every pattern non-empty, every rule allows or denies something.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// A hash of the rules: equal policies (across reloads too) have equal fingerprints, so
    /// views cached for one serve the other.
    pub fingerprint: u64,
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// Conditions on the caller, all of which must hold.
    pub when: When,
    /// What it grants.
    pub allow: Option<Targets>,
    /// What it refuses.
    pub deny: Option<Targets>,
}

/// Conditions on a caller. `None`: no condition on that attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct When {
    /// `sub` matches one.
    pub subjects: Option<Vec<Pattern>>,
    /// The client id matches one.
    pub client_ids: Option<Vec<Pattern>>,
    /// Some granted scope matches one.
    pub scopes: Option<Vec<Pattern>>,
    /// Some group matches one.
    pub groups: Option<Vec<Pattern>>,
    /// Some role matches one.
    pub roles: Option<Vec<Pattern>>,
    /// Per claim name: the claim (a string, or an array's strings) matches one.
    pub claims: Vec<(String, Vec<Pattern>)>,
}

impl When {
    /// True when the rule applies to every caller, anonymous ones included.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_none()
            && self.client_ids.is_none()
            && self.scopes.is_none()
            && self.groups.is_none()
            && self.roles.is_none()
            && self.claims.is_empty()
    }
}

/// What an `allow:` or `deny:` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Targets {
    /// Server names; `None`: every server.
    pub servers: Option<Vec<Pattern>>,
    /// Per kind (tool, prompt, resource); `None` everywhere: everything of the servers.
    pub names: [Option<Vec<Pattern>>; 3],
}

impl Targets {
    /// Whether these targets name `name`, an exposed `kind` of `server`.
    pub fn covers(&self, kind: Offering, server: &str, name: &str) -> bool {
        if !any_matches(self.servers.as_deref(), server) {
            return false;
        }
        if self.names.iter().all(Option::is_none) {
            return true;
        }
        self.names[kind as usize]
            .as_deref()
            .is_some_and(|patterns| patterns.iter().any(|p| p.matches(name)))
    }
}

/// `None` (no condition) matches; otherwise one pattern must.
fn any_matches(patterns: Option<&[Pattern]>, value: &str) -> bool {
    patterns.is_none_or(|patterns| patterns.iter().any(|p| p.matches(value)))
}

impl From<&Policy> for RawPolicy {
    fn from(policy: &Policy) -> Self {
        let texts = |list: &Option<Vec<Pattern>>| {
            list.as_ref()
                .map(|l| l.iter().map(|p| p.as_str().to_owned()).collect())
        };
        let targets = |t: &Targets| RawTargets {
            servers: texts(&t.servers),
            tools: texts(&t.names[0]),
            prompts: texts(&t.names[1]),
            resources: texts(&t.names[2]),
        };
        let rules = policy
            .rules
            .iter()
            .map(|rule| RawRule {
                name: Some(rule.name.clone()),
                when: (!rule.when.is_empty()).then(|| RawWhen {
                    subjects: texts(&rule.when.subjects),
                    client_ids: texts(&rule.when.client_ids),
                    scopes: texts(&rule.when.scopes),
                    groups: texts(&rule.when.groups),
                    roles: texts(&rule.when.roles),
                    claims: rule
                        .when
                        .claims
                        .iter()
                        .map(|(k, v)| (k.clone(), v.iter().map(|p| p.as_str().into()).collect()))
                        .collect(),
                }),
                allow: rule.allow.as_ref().map(targets),
                deny: rule.deny.as_ref().map(targets),
            })
            .collect();
        Self { rules }
    }
}

/// Validates `policy:`, pushing every broken rule to `errors`.
pub(crate) fn validate(raw: RawPolicy, errors: &mut Vec<FieldError>) -> Option<Policy> {
    let before = errors.len();
    if raw.rules.is_empty() {
        errors.push(FieldError::at(
            "policy.rules".into(),
            None,
            "must list at least one rule (remove `policy:` to allow everything)".into(),
        ));
    }
    if raw.rules.len() > MAX_RULES {
        errors.push(FieldError::at(
            "policy.rules".into(),
            None,
            format!(
                "has {} rules; at most {MAX_RULES} are allowed",
                raw.rules.len()
            ),
        ));
    }
    let mut rules = Vec::with_capacity(raw.rules.len());
    let mut names: Vec<String> = Vec::new();
    for (i, rule) in raw.rules.into_iter().enumerate() {
        let at = |field: &str| format!("policy.rules[{i}].{field}");
        let name = match rule.name {
            Some(name) if !name.trim().is_empty() => {
                if names.contains(&name) {
                    errors.push(FieldError::at(
                        at("name"),
                        Some(&name),
                        "is used twice".into(),
                    ));
                }
                names.push(name.clone());
                name
            }
            other => {
                errors.push(FieldError::at(
                    at("name"),
                    other.as_deref(),
                    "is required".into(),
                ));
                String::new()
            }
        };
        let when = rule
            .when
            .map(|w| when(w, &at("when"), errors))
            .unwrap_or_default();
        if rule.allow.is_none() && rule.deny.is_none() {
            errors.push(FieldError::at(
                format!("policy.rules[{i}]"),
                None,
                "needs `allow:` or `deny:`".into(),
            ));
        }
        let allow = rule.allow.map(|t| targets(t, &at("allow"), errors));
        let deny = rule.deny.map(|t| targets(t, &at("deny"), errors));
        rules.push(Rule {
            name,
            when,
            allow,
            deny,
        });
    }
    if errors.len() > before {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    rules.hash(&mut hasher);
    Some(Policy {
        rules,
        fingerprint: hasher.finish(),
    })
}

fn when(raw: RawWhen, at: &str, errors: &mut Vec<FieldError>) -> When {
    let mut list = |field: &str, values: Option<Vec<String>>| {
        values.map(|v| patterns(v, &format!("{at}.{field}"), errors))
    };
    let mut when = When {
        subjects: list("subjects", raw.subjects),
        client_ids: list("clientIds", raw.client_ids),
        scopes: list("scopes", raw.scopes),
        groups: list("groups", raw.groups),
        roles: list("roles", raw.roles),
        claims: Vec::new(),
    };
    for (claim, values) in raw.claims {
        if claim.is_empty() {
            errors.push(FieldError::at(
                format!("{at}.claims"),
                Some(""),
                "a claim name is empty".into(),
            ));
        }
        let path = format!("{at}.claims.{claim}");
        when.claims.push((claim, patterns(values, &path, errors)));
    }
    when
}

fn targets(raw: RawTargets, at: &str, errors: &mut Vec<FieldError>) -> Targets {
    let mut list = |field: &str, values: Option<Vec<String>>| {
        values.map(|v| patterns(v, &format!("{at}.{field}"), errors))
    };
    let servers = list("servers", raw.servers);
    let names = [
        list("tools", raw.tools),
        list("prompts", raw.prompts),
        list("resources", raw.resources),
    ];
    if servers.is_none() && names.iter().all(Option::is_none) {
        errors.push(FieldError::at(
            at.to_owned(),
            None,
            "names nothing: give servers, tools, prompts or resources".into(),
        ));
    }
    Targets { servers, names }
}

fn patterns(values: Vec<String>, at: &str, errors: &mut Vec<FieldError>) -> Vec<Pattern> {
    if values.is_empty() {
        errors.push(FieldError::at(
            at.to_owned(),
            None,
            "is empty (leave it out to put no condition)".into(),
        ));
    }
    values
        .into_iter()
        .enumerate()
        .filter_map(|(j, text)| match Pattern::new(&text) {
            Ok(pattern) => Some(pattern),
            Err(problem) => {
                errors.push(FieldError::at(
                    format!("{at}[{j}]"),
                    Some(&text),
                    problem.into(),
                ));
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
