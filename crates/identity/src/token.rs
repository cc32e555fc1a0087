use std::fmt;

/// A bearer token as the client sent it. Its `Debug` and `Display` print `<redacted>`, so a
/// token logged by mistake (in a `Caller`, an error, a span field) shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// Holds `token` (without the `Bearer ` prefix).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token from an `Authorization` header value (`Bearer <token>`, scheme matched
    /// case-insensitively); `None` for another scheme or an empty token.
    pub fn from_authorization(value: &str) -> Option<Self> {
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| Self::new(token))
    }

    /// The token itself: for code that sends it somewhere on purpose (token exchange,
    /// configured passthrough), never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl fmt::Display for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_bearer_scheme_only() {
        let t = BearerToken::from_authorization("Bearer abc.def").unwrap();
        assert_eq!(t.expose(), "abc.def");
        assert_eq!(
            BearerToken::from_authorization("bearer  x ").map(|t| t.expose().to_owned()),
            Some("x".into())
        );
        assert!(BearerToken::from_authorization("Basic YTpi").is_none());
        assert!(BearerToken::from_authorization("Bearer ").is_none());
        assert!(BearerToken::from_authorization("Bearer").is_none());
    }

    #[test]
    fn never_prints_itself() {
        let t = BearerToken::new("s3cret");
        assert_eq!(format!("{t:?} {t}"), "BearerToken(<redacted>) <redacted>");
    }
}
