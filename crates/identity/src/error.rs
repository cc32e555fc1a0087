use thiserror::Error;

/// Why verified claims could not become a [`crate::Caller`].
///
/// These only happen when the payload Envoy verified lacks what a caller needs (or when a
/// forwarded caller header was altered); they are answered like a missing token (401).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// The verified payload is not a JSON object.
    #[error("verified token payload is not a JSON object")]
    NotAnObject,
    /// A claim every caller needs (`iss`, `sub`) is absent, empty or not a string.
    #[error("verified token has no usable `{0}` claim")]
    MissingClaim(&'static str),
    /// `jwt_authn`'s forwarded payload header is not base64url-encoded JSON.
    #[error("forwarded token payload is malformed")]
    MalformedPayload,
    /// A forwarded caller header is not base64url-encoded JSON.
    #[error("forwarded caller header is malformed")]
    MalformedHeader,
}
