//! Where requests go: an `http://host:port/path` URL, resolved once.

use std::net::SocketAddr;

use hyper::header::HeaderValue;

use crate::BenchError;

/// A resolved MCP endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    url: String,
    addr: SocketAddr,
    authority: HeaderValue,
    path: String,
    authorization: Option<HeaderValue>,
}

impl Target {
    /// Parses and resolves an `http://` URL (the first resolved address is used).
    pub async fn resolve(url: &str) -> Result<Self, BenchError> {
        let parts = UrlParts::parse(url)?;
        let addr = match parts.host_port.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => tokio::net::lookup_host(&parts.host_port)
                .await?
                .next()
                .ok_or_else(|| BenchError::Url {
                    url: url.to_owned(),
                    reason: "host does not resolve".into(),
                })?,
        };
        Self::new(url, addr, &parts)
    }

    fn new(url: &str, addr: SocketAddr, parts: &UrlParts) -> Result<Self, BenchError> {
        let authority = HeaderValue::from_str(&parts.authority).map_err(|_| BenchError::Url {
            url: url.to_owned(),
            reason: "authority is not a valid Host header".into(),
        })?;
        Ok(Self {
            url: url.to_owned(),
            addr,
            authority,
            path: parts.path.clone(),
            authorization: None,
        })
    }

    /// The same target, with `Authorization: Bearer <token>` on every request sent to it.
    pub fn with_bearer(mut self, token: &str) -> Result<Self, BenchError> {
        let value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
            BenchError::Protocol("the bearer token is not a valid header value".into())
        })?;
        self.authorization = Some(value);
        Ok(self)
    }

    /// The same server, another path (e.g. `/stats`).
    pub fn with_path(&self, path: &str) -> Self {
        let url = format!(
            "http://{}{path}",
            self.authority.to_str().unwrap_or_default()
        );
        Self {
            url,
            addr: self.addr,
            authority: self.authority.clone(),
            path: path.to_owned(),
            authorization: self.authorization.clone(),
        }
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address connections go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `Host` header value.
    pub fn authority(&self) -> &HeaderValue {
        &self.authority
    }

    /// The request path (origin form).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Authorization` header every request carries, if any.
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }
}

/// An `http://` URL split into what requests need.
#[derive(Debug, PartialEq, Eq)]
struct UrlParts {
    /// As in the URL (the `Host` header).
    authority: String,
    /// `host:port` with the default port filled in, for resolving.
    host_port: String,
    /// The path and query, `/` when empty.
    path: String,
}

impl UrlParts {
    fn parse(url: &str) -> Result<Self, BenchError> {
        let invalid = |reason: &str| BenchError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid("needs a host and no user info"));
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let has_port = match authority.rfind(':') {
            Some(colon) => !authority[colon..].contains(']'),
            None => false,
        };
        let host_port = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Self {
            authority: authority.to_owned(),
            host_port,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let parts = UrlParts::parse("http://127.0.0.1:8080/mcp").expect("valid");
        assert_eq!(parts.authority, "127.0.0.1:8080");
        assert_eq!(parts.host_port, "127.0.0.1:8080");
        assert_eq!(parts.path, "/mcp");
        let parts = UrlParts::parse("http://example.com").expect("valid");
        assert_eq!(
            (parts.host_port.as_str(), parts.path.as_str()),
            ("example.com:80", "/")
        );
        let parts = UrlParts::parse("http://[::1]/b/1/mcp?x=1").expect("valid");
        assert_eq!(parts.host_port, "[::1]:80");
        assert_eq!(parts.path, "/b/1/mcp?x=1");
        assert!(UrlParts::parse("https://example.com/").is_err());
        assert!(UrlParts::parse("http:///mcp").is_err());
        assert!(UrlParts::parse("http://user@host/").is_err());
    }

    #[tokio::test]
    async fn resolves_ip_literals_and_changes_paths() {
        let target = Target::resolve("http://127.0.0.1:9/mcp")
            .await
            .expect("valid");
        assert_eq!(target.addr().port(), 9);
        let stats = target.with_path("/stats");
        assert_eq!(stats.url(), "http://127.0.0.1:9/stats");
        assert_eq!(stats.path(), "/stats");
        assert!(stats.authorization().is_none());
        let authorized = target.with_bearer("abc").expect("valid token");
        assert_eq!(
            authorized.with_path("/x").authorization(),
            Some(&HeaderValue::from_static("Bearer abc"))
        );
        assert!(
            Target::resolve("http://127.0.0.1:9/mcp")
                .await
                .expect("valid")
                .with_bearer("a\nb")
                .is_err()
        );
    }
}
