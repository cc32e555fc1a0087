//! Who is calling, as Envoy's `jwt_authn` filter found it, and the gateway's answer to a
//! caller it cannot accept (401, 403 or 503 with `WWW-Authenticate`).
//!
//! The data plane reads the filter's metadata and hands the core an [`Authn`] with
//! [`crate::RequestContext::set_authn`] before the request's headers phase. Nothing here
//! decodes a token.

use mcp_gateway_config::Auth;
use mcp_gateway_identity::Caller;

use crate::RouteError;

/// What `jwt_authn` found for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Authn {
    /// The data plane did not say (it reads no `jwt_authn` metadata): with auth on, every
    /// request is refused.
    #[default]
    Unknown,
    /// A token was verified: this is the caller.
    Verified(Caller),
    /// No token was verified; `failure` is why one failed (`jwt_authn`'s message), when one
    /// was presented.
    Unverified {
        /// The filter's reason, e.g. `Jwt is expired`.
        failure: Option<String>,
    },
}

/// `jwt_authn`'s message when the issuer's keys could not be fetched (the issuer is down):
/// the caller's token is not at fault, so the answer is 503, not 401.
const KEYS_UNAVAILABLE: &str = "Jwks remote fetch is failed";

/// Why a caller is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No token, or one that failed verification: 401.
    Unauthenticated {
        /// Whether the request carried `Authorization` (then `error="invalid_token"`).
        token_given: bool,
        /// The filter's reason, for `error_description`.
        reason: Option<String>,
    },
    /// The token lacks a required scope: 403.
    InsufficientScope,
    /// The issuer's keys could not be fetched: 503.
    KeysUnavailable,
}

/// The caller of a request to the MCP endpoint under `auth`, or why it is refused.
pub(crate) fn authenticate(
    auth: &Auth,
    authn: Authn,
    token_given: bool,
) -> Result<Caller, RouteError> {
    let denial = match authn {
        // A payload from an issuer this config does not trust (a filter configured apart
        // from the gateway, e.g. another SecurityPolicy) is no caller of this gateway.
        Authn::Verified(caller) if !auth.issuers.iter().any(|i| i.issuer == caller.issuer()) => {
            Denial::Unauthenticated {
                token_given,
                reason: Some(format!("issuer {:?} is not trusted", caller.issuer())),
            }
        }
        Authn::Verified(caller) => {
            if auth.required_scopes.iter().all(|s| caller.has_scope(s)) {
                return Ok(caller);
            }
            Denial::InsufficientScope
        }
        Authn::Unverified { failure } if failure.as_deref() == Some(KEYS_UNAVAILABLE) => {
            Denial::KeysUnavailable
        }
        Authn::Unverified { failure } => Denial::Unauthenticated {
            token_given,
            reason: failure.filter(|_| token_given),
        },
        Authn::Unknown => Denial::Unauthenticated {
            token_given,
            reason: None,
        },
    };
    Err(RouteError::Denied {
        challenge: challenge(auth, &denial),
        denial,
    })
}

/// The `WWW-Authenticate` value for `denial`.
fn challenge(auth: &Auth, denial: &Denial) -> String {
    match denial {
        Denial::Unauthenticated {
            token_given: true,
            reason,
        } => auth.challenge(Some("invalid_token"), reason.as_deref()),
        Denial::InsufficientScope => auth.challenge(Some("insufficient_scope"), None),
        Denial::Unauthenticated { .. } | Denial::KeysUnavailable => auth.challenge(None, None),
    }
}

#[cfg(test)]
mod tests;
