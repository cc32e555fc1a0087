//! Reads what Envoy's `jwt_authn` filter verified from the metadata it forwards with the
//! request headers (namespace [`JWT_AUTHN_NAMESPACE`]), for the routing core.

use envoy_types::pb::envoy::config::core::v3::Metadata;
use envoy_types::pb::google::protobuf::{Struct, Value, value};
use mcp_gateway_identity::{
    BearerToken, Caller, FAILURE_METADATA_KEY, JWT_AUTHN_NAMESPACE, PAYLOAD_METADATA_KEY,
};
use mcp_gateway_routing::Authn;
use tracing::debug;

/// The caller `jwt_authn` verified, or why there is none. `authorization` is the request's
/// header, whose token becomes the caller's.
pub(crate) fn authn(meta: Option<&Metadata>, authorization: Option<&[u8]>) -> Authn {
    let Some(fields) = meta.and_then(|m| m.filter_metadata.get(JWT_AUTHN_NAMESPACE)) else {
        return Authn::Unverified { failure: None };
    };
    // The gateway's own bootstrap writes the payload under `jwt_payload`; Envoy Gateway's
    // SecurityPolicy and Istio's RequestAuthentication under the issuer's name. Only a
    // verified payload is ever written there; the core checks that its issuer is configured.
    // A payload under an issuer's name counts only when it names that same issuer: another
    // provider on the listener (its own keys) must not vouch for a token claiming ours.
    let payload = match fields.fields.get(PAYLOAD_METADATA_KEY) {
        Some(Value {
            kind: Some(value::Kind::StructValue(payload)),
        }) => Some(payload),
        _ => fields
            .fields
            .iter()
            .filter(|(key, _)| key.as_str() != FAILURE_METADATA_KEY)
            .find_map(|(key, value)| match &value.kind {
                Some(value::Kind::StructValue(payload))
                    if string_field(payload, "iss") == Some(key.as_str()) =>
                {
                    Some(payload)
                }
                _ => None,
            }),
    };
    if let Some(payload) = payload {
        return match Caller::from_claims(to_json_object(payload)) {
            Ok(caller) => {
                let token = authorization
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(BearerToken::from_authorization);
                Authn::Verified(match token {
                    Some(token) => caller.with_token(token),
                    None => caller,
                })
            }
            Err(error) => {
                debug!(%error, "verified token is not a usable caller");
                Authn::Unverified {
                    failure: Some(error.to_string()),
                }
            }
        };
    }
    let failure = match fields.fields.get(FAILURE_METADATA_KEY) {
        Some(Value {
            kind: Some(value::Kind::StructValue(status)),
        }) => match status.fields.get("message").and_then(|v| v.kind.as_ref()) {
            Some(value::Kind::StringValue(message)) => Some(message.clone()),
            _ => None,
        },
        _ => None,
    };
    Authn::Unverified { failure }
}

fn to_json_object(fields: &Struct) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect(),
    )
}

/// A protobuf `Value` as JSON. Numbers are doubles in protobuf: integral ones come back
/// as integers (`exp`, `iat`).
fn to_json(value: &Value) -> serde_json::Value {
    match &value.kind {
        None | Some(value::Kind::NullValue(_)) => serde_json::Value::Null,
        Some(value::Kind::BoolValue(b)) => serde_json::Value::Bool(*b),
        Some(value::Kind::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(value::Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                #[allow(clippy::cast_possible_truncation)]
                serde_json::Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into)
            }
        }
        Some(value::Kind::StructValue(s)) => to_json_object(s),
        Some(value::Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.iter().map(to_json).collect())
        }
    }
}

/// The string field `key` of `payload`.
fn string_field<'a>(payload: &'a Struct, key: &str) -> Option<&'a str> {
    match payload.fields.get(key)?.kind.as_ref()? {
        value::Kind::StringValue(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use envoy_types::pb::google::protobuf::ListValue;

    use super::*;

    fn s(text: &str) -> Value {
        Value {
            kind: Some(value::Kind::StringValue(text.into())),
        }
    }

    fn object(fields: Vec<(&str, Value)>) -> Value {
        Value {
            kind: Some(value::Kind::StructValue(Struct {
                fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            })),
        }
    }

    fn metadata(key: &str, value: Value) -> Metadata {
        let Some(value::Kind::StructValue(inner)) = object(vec![(key, value)]).kind else {
            unreachable!()
        };
        Metadata {
            filter_metadata: HashMap::from([(JWT_AUTHN_NAMESPACE.to_owned(), inner)]),
            ..Default::default()
        }
    }

    #[test]
    fn a_verified_payload_is_the_caller_with_its_token() {
        let payload = object(vec![
            ("iss", s("http://issuer")),
            ("sub", s("alice")),
            (
                "exp",
                Value {
                    kind: Some(value::Kind::NumberValue(1_900_000_000.0)),
                },
            ),
            (
                "groups",
                Value {
                    kind: Some(value::Kind::ListValue(ListValue {
                        values: vec![s("ops")],
                    })),
                },
            ),
        ]);
        let meta = metadata(PAYLOAD_METADATA_KEY, payload);
        let Authn::Verified(caller) = authn(Some(&meta), Some(b"Bearer tok")) else {
            panic!("verified expected");
        };
        assert_eq!(caller.subject(), "alice");
        assert_eq!(caller.groups(), ["ops"]);
        assert_eq!(caller.claim("exp"), Some(&serde_json::json!(1_900_000_000)));
        assert_eq!(caller.token().map(BearerToken::expose), Some("tok"));
    }

    #[test]
    fn a_payload_keyed_by_its_issuer_is_read_too() {
        // As Envoy Gateway and Istio configure jwt_authn (`payload_in_metadata: <issuer>`).
        let payload = object(vec![("iss", s("https://idp")), ("sub", s("bob"))]);
        let meta = metadata("https://idp", payload);
        let Authn::Verified(caller) = authn(Some(&meta), None) else {
            panic!("verified expected");
        };
        assert_eq!(caller.subject(), "bob");
        assert!(caller.token().is_none());
    }

    /// Another provider on the listener (its own keys) verified a token claiming our issuer:
    /// stored under that provider's name, it is not a verified caller of ours.
    #[test]
    fn a_payload_under_another_name_than_its_issuer_is_not_a_caller() {
        let payload = object(vec![("iss", s("https://idp")), ("sub", s("mallory"))]);
        let meta = metadata("https://other-idp", payload);
        assert_eq!(
            authn(Some(&meta), Some(b"Bearer forged")),
            Authn::Unverified { failure: None }
        );
    }

    #[test]
    fn a_failure_carries_the_filter_message() {
        let meta = metadata(
            FAILURE_METADATA_KEY,
            object(vec![("message", s("Jwt is expired"))]),
        );
        assert_eq!(
            authn(Some(&meta), Some(b"Bearer x")),
            Authn::Unverified {
                failure: Some("Jwt is expired".into())
            }
        );
        assert_eq!(authn(None, None), Authn::Unverified { failure: None });
    }
}
