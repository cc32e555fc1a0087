//! MCP protocol versions the gateway speaks.

/// Supported versions, newest first.
pub const SUPPORTED: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// The version a request without `MCP-Protocol-Version` is assumed to speak (per the spec).
pub const DEFAULT_ASSUMED: &str = "2025-03-26";

/// The version the gateway answers with: the client's when supported, else the newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED.iter().copied().find(|v| *v == r))
        .unwrap_or(SUPPORTED[0])
}

/// True when `version` is one the gateway speaks.
pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("2024-11-05")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
        assert!(!is_supported("1999-01-01"));
    }
}
