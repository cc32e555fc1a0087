//! A credential ready to be sent: one header, its value marked sensitive.

use std::fmt;

use reqwest::header::{HeaderName, HeaderValue};

/// One header carrying a backend credential. `Debug` never shows the value, and the value is
/// marked sensitive (HTTP/2 HPACK never indexes it).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    name: HeaderName,
    value: HeaderValue,
}

impl Credential {
    /// `name: value`, the value marked sensitive.
    pub fn new(name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        Self { name, value }
    }

    /// The header name (lower case).
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The header value: for code that sends it to the backend, never for logs.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({}: <redacted>)", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let c = Credential::new(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert_eq!(format!("{c:?}"), "Credential(authorization: <redacted>)");
        assert!(c.value().is_sensitive());
    }
}
