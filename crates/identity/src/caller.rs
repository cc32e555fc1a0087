use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::IdentityError;
use crate::token::BearerToken;

/// A caller whose token Envoy's `jwt_authn` filter verified.
///
/// Built only from a payload Envoy verified (signature, issuer, audience, expiry): nothing in
/// this crate decodes a token. Cloning is cheap (the claims are shared).
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    issuer: String,
    subject: String,
    client_id: Option<String>,
    scopes: Vec<String>,
    groups: Vec<String>,
    roles: Vec<String>,
    claims: Arc<Map<String, Value>>,
    token: Option<BearerToken>,
}

impl Caller {
    /// The caller whose verified payload `jwt_authn` forwarded in [`crate::PAYLOAD_HEADER`]
    /// (base64url JSON, padded or not).
    pub fn from_payload_header(value: &[u8]) -> Result<Self, IdentityError> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let trimmed = value
            .strip_suffix(b"==")
            .or_else(|| value.strip_suffix(b"="))
            .unwrap_or(value);
        let json = URL_SAFE_NO_PAD
            .decode(trimmed)
            .map_err(|_| IdentityError::MalformedPayload)?;
        let claims = serde_json::from_slice(&json).map_err(|_| IdentityError::MalformedPayload)?;
        Self::from_claims(claims)
    }

    /// The caller described by a verified JWT payload (`iss` and `sub` required).
    ///
    /// - client id: `azp`, else `client_id` (RFC 9068);
    /// - scopes: `scope` (space-separated, RFC 8693 / RFC 9068), else `scp` (string or array);
    /// - groups: `groups`; roles: `roles`, else Keycloak's `realm_access.roles`.
    pub fn from_claims(claims: Value) -> Result<Self, IdentityError> {
        let Value::Object(claims) = claims else {
            return Err(IdentityError::NotAnObject);
        };
        let issuer = required(&claims, "iss")?;
        let subject = required(&claims, "sub")?;
        let client_id = string(&claims, "azp").or_else(|| string(&claims, "client_id"));
        let scopes = match claims.get("scope") {
            Some(v @ Value::String(_)) => words(v),
            _ => claims.get("scp").map(words).unwrap_or_default(),
        };
        let groups = claims.get("groups").map(words).unwrap_or_default();
        let roles = claims
            .get("roles")
            .or_else(|| claims.get("realm_access").and_then(|r| r.get("roles")))
            .map(words)
            .unwrap_or_default();
        Ok(Self {
            issuer,
            subject,
            client_id,
            scopes,
            groups,
            roles,
            claims: Arc::new(claims),
            token: None,
        })
    }

    /// The same caller, holding the bearer token the verified payload came from (the value
    /// of `Authorization` after `Bearer `). Only credential code should ever read it back.
    pub fn with_token(mut self, token: BearerToken) -> Self {
        self.token = Some(token);
        self
    }

    /// `iss`: the issuer that signed the token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `sub`: the subject, unique within its issuer.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `azp` or `client_id`: the OAuth client the token was issued to, when named.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Granted scopes, in the token's order.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `groups`, when the token carries them.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// `roles` (or Keycloak's `realm_access.roles`), when the token carries them.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Every verified claim, for policies that match on any of them.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// One claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The bearer token, when it was attached with [`Caller::with_token`].
    pub fn token(&self) -> Option<&BearerToken> {
        self.token.as_ref()
    }

    /// What a gateway session is bound to: issuer and subject, unambiguously joined (a
    /// length prefix, so no choice of the two strings can collide with another pair).
    pub fn session_subject(&self) -> String {
        format!("{}:{}{}", self.issuer.len(), self.issuer, self.subject)
    }

    /// [`Self::session_subject`] as a header value (base64url): one per (issuer, subject),
    /// the per-caller rate limit's key.
    pub fn rate_limit_key(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.session_subject())
    }
}

impl fmt::Debug for Caller {
    // Claims are left out (they may carry personal data); the token prints redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("groups", &self.groups)
            .field("roles", &self.roles)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

fn string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn required(claims: &Map<String, Value>, name: &'static str) -> Result<String, IdentityError> {
    string(claims, name).ok_or(IdentityError::MissingClaim(name))
}

/// A space-separated string or an array of strings, as a list (other values: empty).
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_same_subject_at_two_issuers_is_two_rate_limit_keys() {
        let at = |iss: &str| {
            Caller::from_claims(json!({"iss": iss, "sub": "alice"}))
                .expect("caller")
                .rate_limit_key()
        };
        assert_ne!(at("https://a.example"), at("https://b.example"));
        assert_eq!(at("https://a.example"), at("https://a.example"));
        assert!(
            at("https://a.example")
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn a_forwarded_payload_is_read_padded_or_not() {
        use base64::Engine;
        use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
        let payload = br#"{"iss":"https://idp.example","sub":"alice?","scope":"mcp"}"#;
        for encoded in [URL_SAFE.encode(payload), URL_SAFE_NO_PAD.encode(payload)] {
            let caller = Caller::from_payload_header(encoded.as_bytes()).expect(&encoded);
            assert_eq!(caller.subject(), "alice?");
            assert!(caller.has_scope("mcp"));
        }
        for bad in [&b"not base64!"[..], b"bm90IGpzb24", b""] {
            assert!(Caller::from_payload_header(bad).is_err());
        }
    }

    #[test]
    fn reads_the_usual_claims() {
        let caller = Caller::from_claims(json!({
            "iss": "http://127.0.0.1:8890",
            "sub": "alice",
            "azp": "alice-app",
            "client_id": "ignored-when-azp",
            "aud": "http://127.0.0.1:8888/mcp",
            "scope": "mcp:tools  openid",
            "groups": ["admins", 7, "ops"],
            "realm_access": {"roles": ["reader"]},
            "exp": 1_900_000_000u64,
        }))
        .unwrap();
        assert_eq!(caller.issuer(), "http://127.0.0.1:8890");
        assert_eq!(caller.subject(), "alice");
        assert_eq!(caller.client_id(), Some("alice-app"));
        assert_eq!(caller.scopes(), ["mcp:tools", "openid"]);
        assert!(caller.has_scope("openid"));
        assert!(!caller.has_scope("mcp"));
        assert_eq!(caller.groups(), ["admins", "ops"]);
        assert_eq!(caller.roles(), ["reader"]);
        assert_eq!(caller.claim("exp"), Some(&json!(1_900_000_000u64)));
        assert!(caller.token().is_none());
    }

    #[test]
    fn falls_back_to_client_id_scp_and_roles() {
        let caller = Caller::from_claims(json!({
            "iss": "i", "sub": "s", "client_id": "bob", "scp": ["a", "b"], "roles": "x y"
        }))
        .unwrap();
        assert_eq!(caller.client_id(), Some("bob"));
        assert_eq!(caller.scopes(), ["a", "b"]);
        assert_eq!(caller.roles(), ["x", "y"]);
        assert!(caller.groups().is_empty());

        let caller = Caller::from_claims(json!({"iss": "i", "sub": "s", "scp": "c d"})).unwrap();
        assert_eq!(caller.scopes(), ["c", "d"]);
        assert_eq!(caller.client_id(), None);
    }

    #[test]
    fn refuses_payloads_without_issuer_or_subject() {
        assert_eq!(
            Caller::from_claims(json!(["iss"])),
            Err(IdentityError::NotAnObject)
        );
        assert_eq!(
            Caller::from_claims(json!({"sub": "s"})),
            Err(IdentityError::MissingClaim("iss"))
        );
        assert_eq!(
            Caller::from_claims(json!({"iss": "i", "sub": ""})),
            Err(IdentityError::MissingClaim("sub"))
        );
        assert_eq!(
            Caller::from_claims(json!({"iss": "i", "sub": 42})),
            Err(IdentityError::MissingClaim("sub"))
        );
    }

    #[test]
    fn session_subject_separates_issuer_from_subject() {
        let a = Caller::from_claims(json!({"iss": "ab", "sub": "c"})).unwrap();
        let b = Caller::from_claims(json!({"iss": "a", "sub": "bc"})).unwrap();
        assert_ne!(a.session_subject(), b.session_subject());
        assert_eq!(a.session_subject(), "2:abc");
    }

    #[test]
    fn debug_never_prints_the_token_or_claims() {
        let caller = Caller::from_claims(json!({"iss": "i", "sub": "s", "email": "a@b.c"}))
            .unwrap()
            .with_token(BearerToken::new("eyJhbGciOiJSUzI1NiJ9.secret.sig"));
        let printed = format!("{caller:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(!printed.contains("a@b.c"), "{printed}");
        assert!(printed.contains("redacted"), "{printed}");
        assert_eq!(
            caller.token().map(BearerToken::expose),
            Some("eyJhbGciOiJSUzI1NiJ9.secret.sig")
        );
    }
}
