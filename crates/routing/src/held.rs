//! Backend sessions the gateway holds for 2026-07-28 clients, which have no session of their
//! own: one per (caller, endpoint, capability class), named by a key any replica derives
//! from the request alone (the session binding of the verified caller's subject, or none with
//! auth off, and the virtual server, as for signed session ids; and the class of the
//! `clientCapabilities` it declares). Two callers or two endpoints never share one; two
//! requests of a caller on one endpoint with the same class do, as 2025 requests of one
//! gateway session do. With auth off every anonymous client is the same caller: all
//! 2026-07-28 clients of one class on one endpoint share its held backend sessions.
//!
//! The key stands where a gateway session id stands (the session store, the route's
//! metadata, Envoy's hand-off of a lost backend session); it is never sent to a client, and
//! a client presenting it as its `Mcp-Session-Id` is refused (it is no signed id).

use mcp_gateway_protocol::asks::AskClass;
use std::fmt::Write as _;

/// Every held key starts with this; minted session ids (URL-safe Base64) never hold a `.`.
const PREFIX: &str = "held.";

/// What the gateway declares for a held backend session: the class's capabilities (each
/// `{}`), and no client's `clientInfo` (the session may serve many clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The store key.
    pub key: String,
    /// The capability class of the client's declaration.
    pub class: AskClass,
}

impl Held {
    /// The held session of `binding` (the caller's session binding: subject and virtual
    /// server; `None` with auth off on `/mcp`) for a client declaring `capabilities` (JSON
    /// text).
    pub fn of(binding: Option<&str>, capabilities: &str) -> Self {
        let class = AskClass::of_json(capabilities);
        Self {
            key: key(binding, class),
            class,
        }
    }
}

/// The key of (`subject`, `class`): `held.<class>.<subject in hex>`, `subject` being a
/// session binding (`mcp_gateway_config::session_binding`).
pub fn key(subject: Option<&str>, class: AskClass) -> String {
    let subject = subject.unwrap_or_default();
    let mut key = String::with_capacity(PREFIX.len() + 2 + subject.len() * 2);
    key.push_str(PREFIX);
    key.push_str(&class.index().to_string());
    key.push('.');
    for byte in subject.bytes() {
        // Writing to a String cannot fail.
        let _ = write!(key, "{byte:02x}");
    }
    key
}

/// Whether `gateway` is a held key rather than a client's session id.
pub fn is_held(gateway: &str) -> bool {
    gateway.starts_with(PREFIX)
}

/// The subject a held key was made for (`None` for the anonymous one, or not a held key).
pub fn subject_of(gateway: &str) -> Option<String> {
    let hex = gateway.strip_prefix(PREFIX)?.split_once('.')?.1;
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Whether `gateway` is the held key of `subject` for some class.
pub fn belongs_to(gateway: &str, subject: Option<&str>) -> bool {
    AskClass::all().any(|class| key(subject, class) == gateway)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_callers_and_classes() {
        let anonymous = key(None, AskClass::NONE);
        assert_eq!(anonymous, "held.0.");
        let alice = key(Some("2:isalice"), AskClass::ALL);
        assert_eq!(alice, "held.7.323a6973616c696365");
        assert_ne!(key(Some("2:isbob"), AskClass::ALL), alice);
        assert_ne!(key(Some("2:isalice"), AskClass::NONE), alice);
        assert!(is_held(&alice) && belongs_to(&alice, Some("2:isalice")));
        assert!(!belongs_to(&alice, Some("2:isbob")) && !belongs_to(&alice, None));
        assert!(!is_held("AbCd-_12"));
        assert_eq!(subject_of(&alice).as_deref(), Some("2:isalice"));
        assert_eq!(subject_of(&anonymous), None);
        let held = Held::of(None, r#"{"roots":{}}"#);
        assert_eq!(held.key, "held.4.");
    }
}
