//! The rules that turn a [`RawConfig`] into validated [`Server`]s.
//!
//! Every rule runs on every server, so one failed load reports everything that is
//! wrong with the file. Cross-server rules (unique names, unique hostnames, prefix
//! conflicts) run on whatever fields parsed, even if other fields of the same server
//! did not.

use std::net::Ipv4Addr;

use url::Url;

use crate::stdio::{self, StdioCommand};

use crate::credentials;
use crate::error::{FieldError, ServerLabel};
use crate::raw::{RawConfig, RawServer};
use crate::traffic::{self, Traffic};
use crate::{ProtocolChoice, Server};

/// Longest server name (a DNS label, so it fits in headers, metrics and hostnames).
pub const MAX_NAME_LEN: usize = 63;
/// Longest tool prefix: leaves at least 64 of the 128 characters an MCP tool name may have.
pub const MAX_PREFIX_LEN: usize = 64;
/// Longest hostname (RFC 1123).
pub const MAX_HOSTNAME_LEN: usize = 253;
/// Longest hostname label (RFC 1123).
pub const MAX_LABEL_LEN: usize = 63;

const NAME_CHARS: &str = "must start with a letter or digit and contain only A-Z a-z 0-9 _ . -";
const PREFIX_CHARS: &str = "must contain only A-Z a-z 0-9 _ . -";

/// Validates `raw`, returning the servers in file order or every broken rule.
pub(crate) fn validate(raw: RawConfig) -> Result<Vec<Server>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let checked: Vec<Checked> = raw
        .servers
        .into_iter()
        .enumerate()
        .map(|(index, server)| Checked::new(index, server, &mut errors))
        .collect();
    unique_names(&checked, &mut errors);
    unique_hostnames(&checked, &mut errors);
    prefix_conflicts(&checked, &mut errors);
    if errors.is_empty() {
        // A server is `None` only if it pushed an error, so none are skipped here.
        Ok(checked.into_iter().filter_map(|c| c.server).collect())
    } else {
        errors.sort_by_key(FieldError::index);
        Err(errors)
    }
}

/// One server after its own fields were checked: the parts that parsed, for the
/// cross-server rules, and the finished [`Server`] if every field was valid.
struct Checked {
    index: usize,
    name: Option<String>,
    enabled: bool,
    hostname: Option<String>,
    hostname_derived: bool,
    prefix: Option<String>,
    prefix_field: &'static str,
    server: Option<Server>,
}

impl Checked {
    fn new(index: usize, raw: RawServer, errors: &mut Vec<FieldError>) -> Self {
        let before = errors.len();
        let label_name = raw.name.clone().filter(|n| !n.is_empty());
        let mut report = |field: &'static str, value: Option<&str>, message: String| {
            errors.push(FieldError::new(
                index,
                label_name.clone(),
                field,
                value,
                message,
            ));
        };

        let name = match raw.name.as_deref() {
            None => {
                report("name", None, "is required".to_owned());
                None
            }
            Some(name) => match name_problem(name) {
                Some(problem) => {
                    report("name", Some(name), problem);
                    None
                }
                None => Some(name.to_owned()),
            },
        };

        let command = stdio::check(&raw, &mut report);
        let stdio = raw.command.is_some();
        let url = match raw.url.as_deref() {
            _ if stdio => command.as_ref().and_then(StdioCommand::bridge_url),
            None => {
                report("url", None, "is required".to_owned());
                None
            }
            Some(text) => match parse_url(text) {
                Ok(url) => Some(url),
                Err(problem) => {
                    report("url", Some(text), problem);
                    None
                }
            },
        };

        // An empty hostname counts as missing: writers of the upstream format emit "".
        let explicit = raw.hostname.filter(|h| !h.is_empty());
        let hostname_derived = explicit.is_none();
        let hostname = match explicit {
            Some(hostname) => Some(hostname),
            // Every bridge is on 127.0.0.1: a stdio server is routed by its name.
            None if stdio => name.clone().map(|name| name.to_ascii_lowercase()),
            None => url.as_ref().and_then(|u| u.host_str()).map(str::to_owned),
        };
        let hostname = hostname.and_then(|hostname| match hostname_problem(&hostname) {
            Some(problem) => {
                let hint = if hostname_derived {
                    " (taken from url; set hostname explicitly)"
                } else {
                    ""
                };
                report("hostname", Some(&hostname), format!("{problem}{hint}"));
                None
            }
            None => Some(hostname),
        });

        let (prefix_field, prefix) = match (raw.tool_prefix, raw.prefix) {
            (Some(_), Some(alias)) => {
                report(
                    "prefix",
                    Some(&alias),
                    "cannot be combined with toolPrefix (prefix is its alias)".to_owned(),
                );
                ("toolPrefix", None)
            }
            (Some(prefix), None) => ("toolPrefix", Some(prefix)),
            (None, Some(alias)) => ("prefix", Some(alias)),
            (None, None) => ("toolPrefix", Some(String::new())),
        };
        let prefix = prefix.and_then(|prefix| match prefix_problem(&prefix) {
            Some(problem) => {
                report(prefix_field, Some(&prefix), problem);
                None
            }
            None => Some(prefix),
        });

        let protocol = match raw.protocol.as_deref() {
            None => Some(ProtocolChoice::Auto),
            Some(text) => ProtocolChoice::parse(text).or_else(|| {
                report(
                    "protocol",
                    Some(text),
                    "must be auto, legacy or modern".to_owned(),
                );
                None
            }),
        };
        let credentials = raw
            .credentials
            .and_then(|raw| credentials::validate_server(index, raw, url.as_ref(), errors));
        let traffic = match raw.traffic {
            Some(raw) => traffic::validate(index, raw, errors),
            None => Some(Traffic::default()),
        };
        let enabled = raw.enabled.unwrap_or(true);
        let server = match (&name, url, &hostname, &prefix, traffic) {
            (Some(name), Some(url), Some(hostname), Some(prefix), Some(traffic))
                if errors.len() == before =>
            {
                Some(Server {
                    name: name.clone(),
                    url,
                    hostname: hostname.clone(),
                    enabled,
                    tool_prefix: prefix.clone(),
                    credentials,
                    traffic,
                    command,
                    protocol: protocol.unwrap_or_default(),
                })
            }
            _ => None,
        };
        Self {
            index,
            name: label_name,
            enabled,
            hostname,
            hostname_derived,
            prefix,
            prefix_field,
            server,
        }
    }

    fn label(&self) -> ServerLabel<'_> {
        ServerLabel::new(self.index, self.name.as_deref())
    }

    fn error(&self, field: &'static str, value: &str, message: String) -> FieldError {
        FieldError::new(self.index, self.name.clone(), field, Some(value), message)
    }
}

/// Names must be unique across all servers, enabled or not.
fn unique_names(checked: &[Checked], errors: &mut Vec<FieldError>) {
    for (j, later) in checked.iter().enumerate() {
        let Some(name) = &later.name else { continue };
        if let Some(first) = checked[..j].iter().find(|c| c.name.as_ref() == Some(name)) {
            let message = format!("already used by servers[{}]", first.index);
            errors.push(later.error("name", name, message));
        }
    }
}

/// Envoy routes by `:authority`, so enabled servers need distinct hostnames.
fn unique_hostnames(checked: &[Checked], errors: &mut Vec<FieldError>) {
    let enabled: Vec<&Checked> = checked.iter().filter(|c| c.enabled).collect();
    for (j, later) in enabled.iter().enumerate() {
        let Some(hostname) = &later.hostname else {
            continue;
        };
        let first = enabled[..j].iter().find(|c| {
            c.hostname
                .as_ref()
                .is_some_and(|h| h.eq_ignore_ascii_case(hostname))
        });
        if let Some(first) = first {
            let hint = if later.hostname_derived {
                " (taken from url; set hostname explicitly)"
            } else {
                ""
            };
            let message = format!("already used by enabled {}{hint}", first.label());
            errors.push(later.error("hostname", hostname, message));
        }
    }
}

/// Among enabled servers no prefix may start another, or a tool name could belong to two.
fn prefix_conflicts(checked: &[Checked], errors: &mut Vec<FieldError>) {
    let enabled: Vec<&Checked> = checked.iter().filter(|c| c.enabled).collect();
    for (j, later) in enabled.iter().enumerate() {
        let Some(prefix) = &later.prefix else {
            continue;
        };
        for first in &enabled[..j] {
            let Some(other) = &first.prefix else { continue };
            if !(prefix.starts_with(other.as_str()) || other.starts_with(prefix.as_str())) {
                continue;
            }
            let why = if prefix.is_empty() || other.is_empty() {
                "an empty prefix is only allowed on the single enabled server"
            } else if prefix == other {
                "the prefixes are equal"
            } else {
                "one is a prefix of the other"
            };
            let message = format!(
                "conflicts with {} {} {other:?}: {why}",
                first.label(),
                first.prefix_field
            );
            errors.push(
                later
                    .error(later.prefix_field, prefix, message)
                    .continuing(),
            );
        }
    }
}

pub(crate) fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("must not be empty".to_owned()),
        Some(first) if !first.is_ascii_alphanumeric() => return Some(NAME_CHARS.to_owned()),
        Some(_) => {}
    }
    if !chars.all(is_token_char) {
        return Some(NAME_CHARS.to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "must be at most {MAX_NAME_LEN} characters (has {})",
            name.len()
        ));
    }
    None
}

fn prefix_problem(prefix: &str) -> Option<String> {
    if !prefix.chars().all(is_token_char) {
        return Some(PREFIX_CHARS.to_owned());
    }
    if prefix.len() > MAX_PREFIX_LEN {
        return Some(format!(
            "must be at most {MAX_PREFIX_LEN} characters (has {})",
            prefix.len()
        ));
    }
    None
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host".to_owned());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment (#...)".to_owned());
    }
    Ok(url)
}

/// Checks an RFC 1123 DNS hostname or an IPv4 address, with no port.
pub(crate) fn hostname_problem(hostname: &str) -> Option<String> {
    if hostname.is_empty() {
        return Some("must not be empty".to_owned());
    }
    if hostname.starts_with('[') {
        return Some("must be a DNS hostname or an IPv4 address, not IPv6".to_owned());
    }
    if hostname.contains(':') {
        return Some("must not include a port".to_owned());
    }
    if hostname.parse::<Ipv4Addr>().is_ok() {
        return None;
    }
    if hostname.len() > MAX_HOSTNAME_LEN {
        return Some(format!(
            "must be at most {MAX_HOSTNAME_LEN} characters (has {})",
            hostname.len()
        ));
    }
    let mut all_numeric = true;
    for label in hostname.split('.') {
        if label.is_empty() {
            return Some(
                "must not have an empty label (leading, trailing or double dot)".to_owned(),
            );
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Some("must contain only letters, digits, hyphens and dots".to_owned());
        }
        if label.len() > MAX_LABEL_LEN {
            return Some(format!(
                "label {label:?} must be at most {MAX_LABEL_LEN} characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "label {label:?} must not start or end with a hyphen"
            ));
        }
        all_numeric &= label.chars().all(|c| c.is_ascii_digit());
    }
    if all_numeric {
        return Some("is all digits but not a valid IPv4 address".to_owned());
    }
    None
}

#[cfg(test)]
mod tests;
