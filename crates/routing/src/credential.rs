//! The credential a routed request carries to its backend, as plain data: one header the
//! data plane sets. Obtaining it (files, token endpoints, caches) is the data plane's job,
//! through [`crate::Backends::credential`]; the core only places it.

use std::fmt;

/// One header carrying a backend credential: a static secret, an exchanged or client-
/// credentials token, or the caller's own token (passthrough). `Debug` never shows the value,
/// so a plan can be logged or compared in tests without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialHeader {
    name: String,
    value: Vec<u8>,
}

impl CredentialHeader {
    /// `name: value`; `name` is lower-cased (HTTP/2 header names are).
    pub fn new(name: &str, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.to_ascii_lowercase(),
            value: value.into(),
        }
    }

    /// The header name, lower case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The header value: for the code that sends it to the backend, never for logs.
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

impl fmt::Debug for CredentialHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialHeader({}: <redacted>)", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value_and_names_are_lower_case() {
        let header = CredentialHeader::new("X-Api-Key", "s3cret-value");
        assert_eq!(header.name(), "x-api-key");
        assert_eq!(header.value(), b"s3cret-value");
        let printed = format!("{header:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert_eq!(printed, "CredentialHeader(x-api-key: <redacted>)");
    }
}
