//! How the router hands a verified caller to the broker on the same request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::{Caller, IdentityError};

/// The request header in which the router passes the verified claims to the broker:
/// base64url (no padding) of the claims' JSON. It is in the internal `x-mcp-` namespace,
/// which Envoy's `header_mutation` filter and the router both strip from every client request,
/// so only the router can have set it. The token is not in it: the broker takes that from
/// the same request's `Authorization` header, which `jwt_authn` verified.
pub const CALLER_HEADER: &str = "x-mcp-caller";

impl Caller {
    /// This caller's claims as the value of [`CALLER_HEADER`].
    pub fn to_forwarded(&self) -> String {
        // Serialising a map of JSON values cannot fail.
        let json = serde_json::to_vec(self.claims()).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The caller the router forwarded in [`CALLER_HEADER`].
    pub fn from_forwarded(value: &str) -> Result<Self, IdentityError> {
        let json = URL_SAFE_NO_PAD
            .decode(value.trim())
            .map_err(|_| IdentityError::MalformedHeader)?;
        let claims: Value =
            serde_json::from_slice(&json).map_err(|_| IdentityError::MalformedHeader)?;
        Self::from_claims(claims)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_every_claim() {
        let caller = Caller::from_claims(json!({
            "iss": "https://issuer.example", "sub": "alice", "scope": "a b", "n": [1, {"x": null}]
        }))
        .unwrap();
        let header = caller.to_forwarded();
        assert!(
            header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Caller::from_forwarded(&header), Ok(caller));
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(
            Caller::from_forwarded("not base64!"),
            Err(IdentityError::MalformedHeader)
        );
        assert_eq!(
            Caller::from_forwarded(&URL_SAFE_NO_PAD.encode("{")),
            Err(IdentityError::MalformedHeader)
        );
        assert_eq!(
            Caller::from_forwarded(&URL_SAFE_NO_PAD.encode(r#"{"iss":"i"}"#)),
            Err(IdentityError::MissingClaim("sub"))
        );
    }
}
