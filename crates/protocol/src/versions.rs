//! MCP protocol versions the gateway speaks.

/// Versions negotiated with `initialize` (the 2025 era), newest first.
pub const SUPPORTED: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// Versions without `initialize` or sessions (the 2026 era: each request names its version
/// in `_meta`; see [`crate::modern`]), newest first.
pub const MODERN: &[&str] = &["2026-07-28"];

/// Every version the gateway speaks, newest first: what an unsupported-version answer and
/// `server/discover` list.
pub const ALL: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];

/// The version a request without `MCP-Protocol-Version` is assumed to speak (per the spec).
pub const DEFAULT_ASSUMED: &str = "2025-03-26";

/// The version the gateway answers with: the client's when supported, else the newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED.iter().copied().find(|v| *v == r))
        .unwrap_or(SUPPORTED[0])
}

/// True when `version` is one the gateway negotiates with `initialize`.
pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

/// True when `version` is a 2026-era one the gateway speaks.
pub fn is_modern(version: &str) -> bool {
    MODERN.contains(&version)
}

/// True when `version` is any the gateway speaks.
pub fn is_known(version: &str) -> bool {
    is_supported(version) || is_modern(version)
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
        assert!(
            !is_supported("2026-07-28"),
            "not negotiated with initialize"
        );
        assert!(is_known("2026-07-28") && is_modern("2026-07-28"));
        assert!(SUPPORTED.iter().chain(MODERN).all(|v| ALL.contains(v)));
        assert_eq!(ALL.len(), SUPPORTED.len() + MODERN.len());
    }
}
