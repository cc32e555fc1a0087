//! The methods MCP defines that a client may send: a bounded set, so that what comes from a
//! client's own text (metric labels, span names) never grows with it.

/// The methods a client may send (2025-11-25 and 2026-07-28).
const KNOWN: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "subscriptions/listen",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/result",
    "tasks/cancel",
    "tasks/list",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// `name` as a `'static` string when MCP defines it; `None` for anything else.
pub fn known(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|known| **known == name).copied()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_mcp_methods_are_known() {
        assert_eq!(super::known("tools/call"), Some("tools/call"));
        assert_eq!(super::known("tools/call2"), None);
        assert_eq!(super::known(""), None);
    }
}
