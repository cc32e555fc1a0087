use mcp_gateway_config::Config;
use serde_json::json;

use super::*;

fn auth(scopes: &str) -> Auth {
    Config::from_yaml(&format!(
        "servers: []
auth:
  resource: http://gw:8888/mcp
  requiredScopes: [{scopes}]
  issuers: [{{issuer: 'http://idp', jwksUri: 'http://idp/jwks'}}]
"
    ))
    .unwrap()
    .auth()
    .unwrap()
    .clone()
}

fn caller(scope: &str) -> Caller {
    Caller::from_claims(json!({"iss": "http://idp", "sub": "alice", "scope": scope})).unwrap()
}

fn refused(result: Result<Caller, RouteError>) -> (u16, String) {
    let error = result.expect_err("refused");
    let RouteError::Denied { challenge, .. } = &error else {
        panic!("denial expected, got {error:?}");
    };
    (error.http_status(), challenge.clone())
}

const METADATA: &str =
    r#"resource_metadata="http://gw:8888/.well-known/oauth-protected-resource/mcp""#;

#[test]
fn a_verified_caller_with_the_scopes_passes() {
    let ok = authenticate(&auth("mcp"), Authn::Verified(caller("openid mcp")), true);
    assert_eq!(ok.map(|c| c.subject().to_owned()), Ok("alice".to_owned()));
    assert!(authenticate(&auth(""), Authn::Verified(caller("")), true).is_ok());
}

#[test]
fn no_token_is_401_naming_the_metadata() {
    let (status, challenge) = refused(authenticate(
        &auth(""),
        Authn::Unverified { failure: None },
        false,
    ));
    assert_eq!(status, 401);
    assert_eq!(challenge, format!("Bearer {METADATA}"));
    // A data plane that says nothing is refused the same way.
    assert_eq!(
        refused(authenticate(&auth(""), Authn::Unknown, false)).0,
        401
    );
}

#[test]
fn a_bad_token_is_401_invalid_token_with_the_reason() {
    let (status, challenge) = refused(authenticate(
        &auth(""),
        Authn::Unverified {
            failure: Some("Jwt is expired".into()),
        },
        true,
    ));
    assert_eq!(status, 401);
    assert_eq!(
        challenge,
        format!(r#"Bearer error="invalid_token", error_description="Jwt is expired", {METADATA}"#)
    );
}

#[test]
fn a_missing_scope_is_403_naming_it() {
    let (status, challenge) = refused(authenticate(
        &auth("mcp, admin"),
        Authn::Verified(caller("mcp")),
        true,
    ));
    assert_eq!(status, 403);
    assert_eq!(
        challenge,
        format!(r#"Bearer error="insufficient_scope", scope="mcp admin", {METADATA}"#)
    );
}

#[test]
fn a_caller_of_an_untrusted_issuer_is_401() {
    let stranger =
        Caller::from_claims(json!({"iss": "http://other", "sub": "eve", "scope": "mcp"})).unwrap();
    let (status, challenge) = refused(authenticate(&auth(""), Authn::Verified(stranger), true));
    assert_eq!(status, 401);
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}

#[test]
fn unreachable_issuer_keys_are_503() {
    let (status, _) = refused(authenticate(
        &auth(""),
        Authn::Unverified {
            failure: Some(KEYS_UNAVAILABLE.into()),
        },
        true,
    ));
    assert_eq!(status, 503);
}
