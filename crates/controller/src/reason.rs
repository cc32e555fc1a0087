//! Why an `MCPServer` or one of its targets is or is not published.

use std::fmt;

/// The `reason` of the `Ready` condition and of each target's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// In the gateway config.
    Published,
    /// The target is not a `gateway.networking.k8s.io` `HTTPRoute`, or a field of the
    /// target or the resulting entry breaks a config rule.
    Invalid,
    /// The named HTTPRoute does not exist.
    RouteNotFound,
    /// The HTTPRoute has no exact (non-wildcard) hostname.
    NoHostname,
    /// The HTTPRoute has no Service backend.
    NoBackend,
    /// The Service the route points to does not exist.
    ServiceNotFound,
    /// The Service has no port matching the route's backend port.
    PortNotFound,
    /// A tool prefix overlaps one already published (or another target's).
    PrefixConflict,
    /// A hostname is already published by another server.
    HostnameConflict,
}

impl Reason {
    /// Every reason, for metrics that report a value for each.
    pub const ALL: [Reason; 9] = [
        Reason::Published,
        Reason::Invalid,
        Reason::RouteNotFound,
        Reason::NoHostname,
        Reason::NoBackend,
        Reason::ServiceNotFound,
        Reason::PortNotFound,
        Reason::PrefixConflict,
        Reason::HostnameConflict,
    ];

    /// The CamelCase form written to status.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Published => "Published",
            Reason::Invalid => "Invalid",
            Reason::RouteNotFound => "RouteNotFound",
            Reason::NoHostname => "NoHostname",
            Reason::NoBackend => "NoBackend",
            Reason::ServiceNotFound => "ServiceNotFound",
            Reason::PortNotFound => "PortNotFound",
            Reason::PrefixConflict => "PrefixConflict",
            Reason::HostnameConflict => "HostnameConflict",
        }
    }

    /// Whether this reason means "published".
    pub fn is_ready(self) -> bool {
        self == Reason::Published
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason with a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Machine-readable reason.
    pub reason: Reason,
    /// What exactly is wrong, naming the objects involved.
    pub message: String,
}

impl Problem {
    /// A problem with this reason and message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}
