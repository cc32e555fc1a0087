//! Which protocol eras a backend speaks.

/// Which MCP protocol eras a backend speaks, as its upstream manager found out (the config's
/// per-server `protocol:` can pin it). The router and broker read it from
/// [`crate::ServerStatus::protocol`] (or [`crate::Catalog::protocol`]) to decide how a
/// request reaches the backend: a 2026-07-28 request to a backend that speaks 2026-07-28 is
/// forwarded as one; otherwise the gateway holds a 2025 session for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BackendProtocol {
    /// 2025-era only: `initialize` and sessions. Also what a backend not yet discovered (or
    /// pinned with `protocol: legacy`) counts as.
    #[default]
    Legacy,
    /// Answers 2026-07-28 requests (`server/discover`) and accepts `initialize` too.
    Both,
    /// 2026-07-28 only: it refused `initialize` (or is pinned with `protocol: modern`).
    Modern,
}

impl BackendProtocol {
    /// Answers 2026-07-28 requests without a session.
    pub fn speaks_modern(self) -> bool {
        matches!(self, Self::Both | Self::Modern)
    }

    /// Accepts `initialize` and 2025-era sessions.
    pub fn speaks_legacy(self) -> bool {
        matches!(self, Self::Legacy | Self::Both)
    }

    /// A short name for logs and status: `legacy`, `both` or `modern`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Both => "both",
            Self::Modern => "modern",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        assert!(BackendProtocol::default().speaks_legacy());
        assert!(!BackendProtocol::Legacy.speaks_modern());
        assert!(BackendProtocol::Both.speaks_modern() && BackendProtocol::Both.speaks_legacy());
        assert!(
            BackendProtocol::Modern.speaks_modern() && !BackendProtocol::Modern.speaks_legacy()
        );
    }
}
