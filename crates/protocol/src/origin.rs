//! `Origin` validation (the MCP transport's defence against DNS rebinding): a browser page
//! may only reach the gateway from an allowed origin. Requests without `Origin` (non-browser
//! clients) are not affected.

/// Which `Origin` values may call the gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Only loopback origins (`http(s)://localhost`, `127.0.0.1`, `[::1]`, any port): the
    /// safe default for a gateway whose browser clients run on the same machine.
    #[default]
    Loopback,
    /// Exactly these origins (scheme://host[:port], compared case-insensitively).
    List(Vec<String>),
    /// Any origin (`*`).
    Any,
}

impl OriginPolicy {
    /// Parses `--allowed-origins`: empty for the default, `*` for any, else a comma list.
    pub fn parse(spec: &str) -> Self {
        let items: Vec<String> = spec
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            Self::Loopback
        } else if items.iter().any(|s| s == "*") {
            Self::Any
        } else {
            Self::List(items)
        }
    }

    /// Whether a request with this `Origin` value may proceed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => list
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin.trim_end_matches('/'))),
            Self::Loopback => is_loopback(origin),
        }
    }
}

fn is_loopback(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.split(':').next().unwrap_or_default(),
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let loopback = OriginPolicy::parse("");
        for ok in [
            "http://localhost:6274",
            "http://127.0.0.1",
            "https://[::1]:8443",
            "http://LOCALHOST",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://localhost.evil.example",
            "null",
            "file://",
            "http://127.0.0.2",
        ] {
            assert!(!loopback.allows(bad), "{bad}");
        }
        let list = OriginPolicy::parse("https://app.example.com, http://localhost:3000/");
        assert!(list.allows("https://APP.example.com"));
        assert!(list.allows("http://localhost:3000"));
        assert!(!list.allows("http://localhost:3001"));
        assert!(OriginPolicy::parse("*").allows("http://anything"));
    }
}
