//! Property tests: parsing never panics, splicing keeps every byte outside the
//! rewritten token, error bodies round-trip their id, naming round-trips.

use mcp_gateway_protocol::{Kind, Message, ProtocolError, error_body, naming, splice_str};
use proptest::prelude::*;
use proptest::sample::select;

/// Exercises every accessor of a parsed message; must not panic either.
fn touch(body: &[u8]) {
    if let Ok(message) = Message::parse(body) {
        let _ = (message.kind(), message.method(), message.params_raw());
        if let Some(range) = message.id_range() {
            assert_eq!(
                body.get(range).map(<[u8]>::to_vec),
                message.id_raw().map(|id| id.as_bytes().to_vec())
            );
        }
        for path in [
            &["name"][..],
            &["uri"],
            &["ref", "name"],
            &[],
            &["a", "b", "c"],
        ] {
            if let Some(field) = message.param_str(path) {
                assert!(
                    body.get(field.range.clone())
                        .is_some_and(|t| t.starts_with(b"\""))
                );
            }
        }
    }
}

/// Text made of JSON's structural characters and a few literals.
fn json_ish() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\\",
        "\\u",
        "d83d",
        "\\ud83d",
        "0",
        "-1",
        "1e9",
        ".5",
        "true",
        "null",
        " ",
        "\n",
        "\"jsonrpc\"",
        "\"2.0\"",
        "\"id\"",
        "\"method\"",
        "\"params\"",
        "\"result\"",
        "\"error\"",
        "\"name\"",
        "\"tools/call\"",
        "é",
        "\u{0}",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// A valid tools/call body with a byte overwritten, inserted or removed.
fn mutated_call() -> impl Strategy<Value = Vec<u8>> {
    let body = br#"{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"w_\u0061dd","arguments":{"n":[1,{"k":null}]}}}"#;
    (0..body.len(), any::<u8>(), 0..3u8).prop_map(move |(at, byte, op)| {
        let mut out = body.to_vec();
        match op {
            0 => out[at] = byte,
            1 => out.insert(at, byte),
            _ => {
                out.remove(at);
            }
        }
        out
    })
}

/// One JSON value of the shapes found in MCP bodies, as text.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("12345678901234567890123".to_string()),
        Just("-0.5e-7".to_string()),
        Just(r#""\ud83d\ude00""#.to_string()),
        Just(r#""\u00e9\"\\\/\b\f\n\r\t""#.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(" , "))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|members| {
                // Keys are unique after decoding (the parser refuses repeats).
                let mut seen = std::collections::HashSet::new();
                let members: Vec<String> = members
                    .into_iter()
                    .filter(|(k, _)| seen.insert(serde_json::from_str::<String>(k).ok()))
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                format!("{{ {} }}", members.join(","))
            }),
        ]
    })
}

/// An object key, sometimes written with escapes.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,8}".prop_map(|k| format!("\"{k}\"")),
        Just(r#""n\u0061me""#.to_string()),
        Just(r#""name""#.to_string()),
        Just(r#""\ud83d\ude00""#.to_string()),
    ]
}

/// A JSON string token for `value`: plain, or with every character `\u`-escaped.
fn token_for(value: &str, escape_all: bool) -> String {
    if !escape_all {
        return serde_json::Value::String(value.to_string()).to_string();
    }
    let mut out = String::from("\"");
    for unit in value.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

fn whitespace() -> impl Strategy<Value = &'static str> {
    select(vec!["", " ", "\n", "\t ", "\r\n  "])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parse_never_panics_on_bytes(body in any::<Vec<u8>>()) {
        touch(&body);
    }

    #[test]
    fn parse_never_panics_on_json_ish_text(body in json_ish()) {
        touch(body.as_bytes());
    }

    #[test]
    fn parse_never_panics_on_mutated_bodies(body in mutated_call()) {
        touch(&body);
    }

    #[test]
    fn parse_accepts_any_params_value(params in json_value()) {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{params}}}"#);
        let message = Message::parse(body.as_bytes());
        prop_assert_eq!(message.as_ref().map(Message::params_raw), Ok(Some(params.as_str())));
        touch(body.as_bytes());
    }
}

/// The verdict the shape rules give for a top-level object made of `members`
/// (raw key, raw value), computed independently over serde_json values.
fn oracle(members: &[(&str, &str)]) -> Result<Kind, ()> {
    use serde_json::Value;
    let mut seen = std::collections::HashMap::new();
    let mut id_text = None;
    for (key, value) in members {
        let key: String = serde_json::from_str(key).map_err(|_| ())?;
        let parsed: Value = serde_json::from_str(value).map_err(|_| ())?;
        if key == "id" {
            id_text = Some(*value);
        }
        // A repeated key, known or not, is refused.
        if seen.insert(key, parsed).is_some() {
            return Err(());
        }
    }
    if seen.get("jsonrpc") != Some(&Value::from("2.0")) {
        return Err(());
    }
    // Integers count when they fit in 64 bits (the id text is echoed, never converted).
    let is_integer_text = |text: &str| {
        !text.contains(['.', 'e', 'E'])
            && (text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok())
    };
    let id_ok =
        |id: &Value| id.is_string() || (id.is_number() && id_text.is_some_and(is_integer_text));
    let id = seen.get("id");
    let (method, result, error) = (seen.get("method"), seen.get("result"), seen.get("error"));
    match (method, result.is_some(), error.is_some()) {
        (Some(Value::String(_)), false, false) => match id {
            None => Ok(Kind::Notification),
            Some(id) if id_ok(id) => Ok(Kind::Request),
            Some(_) => Err(()),
        },
        (None, true, false) => id.filter(|id| id_ok(id)).map(|_| Kind::Response).ok_or(()),
        (None, false, true) => id
            .filter(|id| id_ok(id) || id.is_null())
            .map(|_| Kind::Response)
            .ok_or(()),
        _ => Err(()),
    }
}

/// Values a member of the envelope may take.
const VALUES: [&str; 14] = [
    r#""2.0""#,
    r#""1.0""#,
    "1",
    "-7",
    "1.5",
    "1e2",
    "12345678901234567890123",
    "null",
    "true",
    r#""tools/call""#,
    r#""p\u0069ng""#,
    "{}",
    "[]",
    r#"{"name":"a"}"#,
];

/// Any member, known or not, under a plain or escaped key.
fn member() -> impl Strategy<Value = (&'static str, &'static str)> {
    let keys = select(vec![
        r#""jsonrpc""#,
        r#""id""#,
        r#""method""#,
        r#""params""#,
        r#""result""#,
        r#""error""#,
        r#""\u0069d""#,
        r#""x""#,
    ]);
    (keys, select(VALUES.to_vec()))
}

/// A top-level object: each known member present with a plausible
/// probability, a few arbitrary extra members (possibly repeating a known
/// one), in any order.
fn members() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    let value = || select(VALUES.to_vec());
    let jsonrpc = prop::option::weighted(
        0.9,
        select(vec![
            r#""2.0""#,
            r#""2.0""#,
            r#""\u0032.0""#,
            r#""1.0""#,
            "2.0",
        ]),
    );
    (
        jsonrpc,
        prop::option::weighted(0.7, value()),
        prop::option::weighted(0.6, value()),
        prop::option::weighted(0.4, value()),
        prop::option::weighted(0.3, value()),
        prop::option::weighted(0.3, value()),
        prop::collection::vec(member(), 0..3),
    )
        .prop_flat_map(|(jsonrpc, id, method, params, result, error, extra)| {
            let known = [
                (r#""jsonrpc""#, jsonrpc),
                (r#""id""#, id),
                (r#""method""#, method),
                (r#""params""#, params),
                (r#""result""#, result),
                (r#""error""#, error),
            ];
            let mut all: Vec<_> = known
                .into_iter()
                .filter_map(|(key, value)| value.map(|value| (key, value)))
                .collect();
            all.extend(extra);
            Just(all).prop_shuffle()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn shape_rules_match_an_independent_oracle(members in members()) {
        let body = format!(
            "{{{}}}",
            members.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(",")
        );
        let ours = Message::parse(body.as_bytes()).map(|m| m.kind());
        match oracle(&members) {
            Ok(kind) => prop_assert_eq!(ours, Ok(kind), "{}", body),
            Err(()) => prop_assert!(matches!(ours, Err(ProtocolError::InvalidRequest(_))), "{} -> {:?}", body, ours),
        }
    }
}

/// A tools/call body whose `params.name` sits among other members, with the
/// text before and after the name token.
fn call_body() -> impl Strategy<Value = (String, String, String, String)> {
    let other = prop_oneof![
        json_value().prop_map(|v| format!(r#""arguments":{v}"#)),
        Just(r#""_meta":{"progressToken":12345678901234567890123}"#.to_string()),
        Just(r#""unknown":{"deep":[{"\ud83d\ude00":"\ud83d\ude00"}],"n":1.0e+3}"#.to_string()),
        Just(r#""nam":"weather_decoy""#.to_string()),
    ];
    (
        prop::collection::vec(other.clone(), 0..3),
        prop::collection::vec(other, 0..3),
        any::<String>(),
        any::<bool>(),
        whitespace(),
        whitespace(),
        select(vec![
            r#""id":1,"#,
            r#""id":"a\"b","#,
            r#""id":9876543210987654321,"#,
            "",
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(head, tail, name, escape_all, ws1, ws2, id, method_first)| {
                let token = token_for(&name, escape_all);
                // Each member once: the parser refuses repeated keys.
                let mut keys = std::collections::HashSet::new();
                let mut unique = |m: &String| keys.insert(m.split(':').next().map(str::to_owned));
                let head: Vec<String> = head.into_iter().filter(&mut unique).collect();
                let tail: Vec<String> = tail.into_iter().filter(&mut unique).collect();
                let mut members: Vec<String> = head;
                let name_at = members.len();
                members.push(String::new());
                members.extend(tail);
                let before_members = members[..name_at]
                    .iter()
                    .map(|m| format!("{m},"))
                    .collect::<String>();
                let after_members = members[name_at + 1..]
                    .iter()
                    .map(|m| format!(",{m}"))
                    .collect::<String>();
                let envelope = if method_first {
                    format!(
                        r#"{{ "jsonrpc":"2.0",{id}"method":"tools/call","x":[1,2],"params":{ws1}{{"#
                    )
                } else {
                    format!(r#"{{"x":{{"y":"\u00e9"}},"params":{ws1}{{"#)
                };
                let before = format!(r#"{envelope}{before_members}"name"{ws2}:{ws2}"#);
                let closing = if method_first {
                    "}}".to_string()
                } else {
                    format!(r#"}},{id}"method":"tools/call","jsonrpc":"2.0"}}{ws1}"#)
                };
                let after = format!("{ws2}{after_members}{closing}");
                (before, token, after, name)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn splice_keeps_every_other_byte(
        (before, token, after, name) in call_body(),
        new_name in any::<String>(),
    ) {
        let body = format!("{before}{token}{after}");
        let message = Message::parse(body.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        let field = message.param_str(&["name"]).ok_or_else(|| TestCaseError::fail(body.clone()))?;
        prop_assert_eq!(&*field.value, name.as_str());
        prop_assert_eq!(field.range.clone(), before.len()..before.len() + token.len());

        let out = splice_str(body.as_bytes(), field.range.clone(), &new_name);
        prop_assert!(out.starts_with(before.as_bytes()));
        prop_assert!(out.ends_with(after.as_bytes()));
        let spliced = Message::parse(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(spliced.kind(), message.kind());
        prop_assert_eq!(spliced.id_raw(), message.id_raw());
        let new_field = spliced.param_str(&["name"]).ok_or_else(|| TestCaseError::fail("name lost"))?;
        prop_assert_eq!(&*new_field.value, new_name.as_str());
        prop_assert_eq!(new_field.range.start, field.range.start);
        prop_assert_eq!(out.len() - new_field.range.end, after.len());
    }

    #[test]
    fn error_body_round_trips_the_id(
        id in prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            Just("18446744073709551615".to_string()),
            any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
            any::<String>().prop_map(|s| token_for(&s, true)),
        ],
        code in any::<i64>(),
        message in any::<String>(),
        data in prop::option::of(json_value()),
    ) {
        let data: Option<serde_json::Value> = data.and_then(|d| serde_json::from_str(&d).ok());
        let body = error_body(Some(&id), code, &message, data.as_ref());
        let parsed = Message::parse(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.kind(), Kind::Response);
        prop_assert_eq!(parsed.id_raw(), Some(id.as_str()));
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&value["error"]["code"], &serde_json::Value::from(code));
        prop_assert_eq!(&value["error"]["message"], &serde_json::Value::from(message));
        prop_assert_eq!(value["error"].get("data"), data.as_ref());
    }

    #[test]
    fn error_body_is_json_whatever_the_id(id in any::<String>(), code in any::<i64>()) {
        let body = error_body(Some(&id), code, "m", None);
        prop_assert!(Message::parse(&body).is_ok_and(|m| m.kind() == Kind::Response));
    }

    #[test]
    fn naming_round_trips(prefix in "[A-Za-z0-9_.-]{0,20}", name in "[A-Za-z0-9_.-]{1,120}") {
        prop_assert!(naming::is_valid_prefix(&prefix));
        prop_assert!(naming::is_valid_tool_name(&name));
        let exposed = naming::expose(&prefix, &name);
        prop_assert_eq!(naming::strip(&prefix, &exposed), Some(name.as_str()));
        prop_assert_eq!(naming::is_valid_tool_name(&exposed), exposed.len() <= naming::MAX_TOOL_NAME_LEN);
    }

    #[test]
    fn naming_never_panics(prefix in any::<String>(), exposed in any::<String>()) {
        if let Some(name) = naming::strip(&prefix, &exposed) {
            prop_assert_eq!(naming::expose(&prefix, name), exposed.clone());
        }
        let _ = naming::is_valid_tool_name(&exposed);
    }
}
