//! What the gateway keeps of a client's `initialize`, within fixed bounds.
//!
//! A session outlives the request that opened it, so whatever it keeps is memory an
//! unauthenticated client can pin. `capabilities` is kept as the client sent it (backend
//! sessions are opened with it) but only up to [`ClientLimits::capabilities_bytes`], and as
//! text: a parsed `serde_json::Value` can take ten times the bytes of its text. Of
//! `clientInfo` only `name`, `title` and `version` are kept (what a backend is told about
//! the client), up to [`ClientLimits::client_info_bytes`] once re-encoded; icons, URLs and
//! anything else are dropped.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::DeclarationError;

/// Size limits on what a session keeps of its client's `initialize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Largest `params.capabilities` accepted, in bytes as sent.
    pub capabilities_bytes: usize,
    /// Largest `clientInfo` kept (its `name`, `title` and `version`), in bytes once encoded.
    pub client_info_bytes: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            capabilities_bytes: 16 * 1024,
            client_info_bytes: 1024,
        }
    }
}

/// What a client declared in `initialize`: its capabilities (as sent) and the kept part of
/// its `clientInfo`, both bounded by [`ClientLimits`].
#[derive(Clone, Debug)]
pub struct ClientDeclaration {
    capabilities: Box<RawValue>,
    info: Box<RawValue>,
    may_be_asked: bool,
}

/// The `sampling`, `elicitation` and `roots` capabilities (present and not null).
#[derive(Deserialize)]
struct Askable<'a> {
    #[serde(borrow)]
    sampling: Option<&'a RawValue>,
    #[serde(borrow)]
    elicitation: Option<&'a RawValue>,
    #[serde(borrow)]
    roots: Option<&'a RawValue>,
}

/// The part of `clientInfo` kept.
#[derive(Deserialize, Serialize)]
struct KeptInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

const CAPABILITIES: &str = "capabilities";
const CLIENT_INFO: &str = "clientInfo";

impl ClientDeclaration {
    /// Checks and keeps `capabilities` and `clientInfo` as found in `initialize`'s params
    /// (absent means `{}`). Both must be objects; `capabilities` over its limit, or the kept
    /// fields of `clientInfo` over theirs, are refused rather than truncated.
    pub fn new(
        capabilities: Option<&RawValue>,
        client_info: Option<&RawValue>,
        limits: &ClientLimits,
    ) -> Result<Self, DeclarationError> {
        let (capabilities, may_be_asked) = match capabilities {
            None => (empty_object(), false),
            Some(raw) => {
                let size = raw.get().len();
                if size > limits.capabilities_bytes {
                    return Err(DeclarationError::TooLarge {
                        field: CAPABILITIES,
                        size,
                        limit: limits.capabilities_bytes,
                    });
                }
                let asks: Askable<'_> = object(raw, CAPABILITIES)?;
                let may_be_asked =
                    asks.sampling.is_some() || asks.elicitation.is_some() || asks.roots.is_some();
                (raw.to_owned(), may_be_asked)
            }
        };
        let info = match client_info {
            None => empty_object(),
            Some(raw) => {
                let kept: KeptInfo = object(raw, CLIENT_INFO)?;
                let text = serde_json::to_string(&kept).map_err(|e| malformed(CLIENT_INFO, e))?;
                if text.len() > limits.client_info_bytes {
                    return Err(DeclarationError::TooLarge {
                        field: CLIENT_INFO,
                        size: text.len(),
                        limit: limits.client_info_bytes,
                    });
                }
                RawValue::from_string(text).map_err(|e| malformed(CLIENT_INFO, e))?
            }
        };
        Ok(Self {
            capabilities,
            info,
            may_be_asked,
        })
    }

    /// A declaration kept earlier (by [`ClientDeclaration::new`]) and read back from a shared
    /// store: both are JSON objects already checked against the limits then in force.
    pub(crate) fn from_kept(
        capabilities: Box<RawValue>,
        info: Box<RawValue>,
    ) -> Result<Self, DeclarationError> {
        let asks: Askable<'_> = object(&capabilities, CAPABILITIES)?;
        let may_be_asked =
            asks.sampling.is_some() || asks.elicitation.is_some() || asks.roots.is_some();
        Ok(Self {
            capabilities,
            info,
            may_be_asked,
        })
    }

    /// The capabilities as the client sent them (JSON text of an object).
    pub fn capabilities(&self) -> &RawValue {
        &self.capabilities
    }

    /// The kept `clientInfo`: `name`, `title` and `version` when the client gave them.
    pub fn info(&self) -> &RawValue {
        &self.info
    }

    /// Whether the client declared `sampling`, `elicitation` or `roots`, so that backends
    /// may send it requests.
    pub fn may_be_asked(&self) -> bool {
        self.may_be_asked
    }

    /// Bytes this declaration keeps on the heap (for accounting and tests).
    pub fn heap_bytes(&self) -> usize {
        self.capabilities.get().len() + self.info.get().len()
    }
}

impl Default for ClientDeclaration {
    /// A client that declared nothing.
    fn default() -> Self {
        Self {
            capabilities: empty_object(),
            info: empty_object(),
            may_be_asked: false,
        }
    }
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| unreachable!("`{{}}` is JSON"))
}

/// Reads `raw`, which must be a JSON object, as `T`.
fn object<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
    field: &'static str,
) -> Result<T, DeclarationError> {
    if !raw.get().starts_with('{') {
        return Err(DeclarationError::Malformed {
            field,
            problem: "must be an object".to_owned(),
        });
    }
    serde_json::from_str(raw.get()).map_err(|e| malformed(field, e))
}

fn malformed(field: &'static str, error: serde_json::Error) -> DeclarationError {
    DeclarationError::Malformed {
        field,
        problem: format!("is not valid: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("test JSON")
    }

    fn declare(
        caps: Option<&str>,
        info: Option<&str>,
    ) -> Result<ClientDeclaration, DeclarationError> {
        let caps = caps.map(raw);
        let info = info.map(raw);
        ClientDeclaration::new(caps.as_deref(), info.as_deref(), &ClientLimits::default())
    }

    #[test]
    fn keeps_capabilities_as_sent_and_only_name_title_version_of_client_info() {
        let d = declare(
            Some(r#"{"sampling":{},"experimental":{"x":[1,2]}}"#),
            Some(r#"{"name":"c","version":"1","title":"C","icons":[{"src":"data:..."}],"websiteUrl":"u"}"#),
        )
        .unwrap();
        assert_eq!(
            d.capabilities().get(),
            r#"{"sampling":{},"experimental":{"x":[1,2]}}"#
        );
        assert_eq!(d.info().get(), r#"{"name":"c","title":"C","version":"1"}"#);
        assert!(d.may_be_asked());
    }

    #[test]
    fn absent_means_empty_and_null_capabilities_do_not_ask() {
        let d = declare(None, None).unwrap();
        assert_eq!((d.capabilities().get(), d.info().get()), ("{}", "{}"));
        assert!(!d.may_be_asked());
        let d = declare(Some(r#"{"sampling":null,"tools":{}}"#), None).unwrap();
        assert!(!d.may_be_asked());
        for asked in ["sampling", "elicitation", "roots"] {
            let d = declare(Some(&format!(r#"{{"{asked}":{{}}}}"#)), None).unwrap();
            assert!(d.may_be_asked(), "{asked}");
        }
    }

    #[test]
    fn refuses_over_the_limits() {
        let limits = ClientLimits::default();
        let padding = "x".repeat(limits.capabilities_bytes);
        let caps = format!(r#"{{"experimental":{{"pad":"{padding}"}}}}"#);
        let err = declare(Some(&caps), None).unwrap_err();
        assert!(
            matches!(err, DeclarationError::TooLarge { field: "capabilities", size, limit } if size == caps.len() && limit == 16384),
            "{err:?}"
        );

        // Exactly at the limit is fine.
        let fill = limits.capabilities_bytes - r#"{"experimental":{"pad":""}}"#.len();
        let at = format!(r#"{{"experimental":{{"pad":"{}"}}}}"#, "x".repeat(fill));
        assert_eq!(at.len(), limits.capabilities_bytes);
        assert!(declare(Some(&at), None).is_ok());

        let name = "n".repeat(limits.client_info_bytes);
        let err =
            declare(None, Some(&format!(r#"{{"name":"{name}","version":"1"}}"#))).unwrap_err();
        assert!(
            matches!(
                err,
                DeclarationError::TooLarge {
                    field: "clientInfo",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("clientInfo"), "{err}");

        // Large fields that are dropped do not count.
        let icons = format!(
            r#"{{"name":"c","version":"1","icons":["{}"]}}"#,
            "i".repeat(100_000)
        );
        assert!(declare(None, Some(&icons)).is_ok());
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        for (caps, info) in [
            (Some("[]"), None),
            (Some("\"x\""), None),
            (None, Some("1")),
            (None, Some(r#"{"name":5}"#)),
            (Some(r#"{"roots":{},"roots":{}}"#), None),
        ] {
            let err = declare(caps, info).unwrap_err();
            assert!(
                matches!(err, DeclarationError::Malformed { .. }),
                "{caps:?} {info:?}: {err:?}"
            );
        }
    }
}
