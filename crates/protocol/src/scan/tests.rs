use super::*;
use proptest::prelude::*;
use serde::de::IgnoredAny;

/// What a scan of `body` reported, or why it failed.
#[derive(Debug, Default)]
struct Seen {
    top: Vec<(String, String)>,
    params: Vec<(Option<String>, String)>,
}

impl<'a> Sink<'a> for Seen {
    fn top_member(&mut self, key: &str, value: &'a str) {
        self.top.push((key.to_owned(), value.to_owned()));
    }
    fn params_member(&mut self, key: Option<&'a str>, value: &'a str) {
        self.params.push((key.map(str::to_owned), value.to_owned()));
    }
}

fn run(body: &str) -> Result<Seen, ScanError> {
    let mut seen = Seen::default();
    scan(body, Limits::default(), &mut seen).map(|()| seen)
}

fn refused(body: &str) -> String {
    match run(body) {
        Err(ScanError::Refused(reason)) => reason,
        other => panic!("{body}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn reports_top_and_params_members() {
    let seen = run(r#" {"id" : 7, "params":{"name":"a", "n\u0061me2":[1, {"x":2}]}, "z":"s"} "#)
        .expect("valid");
    let top: Vec<_> = seen
        .top
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        top,
        [
            ("id", "7"),
            ("params", r#"{"name":"a", "n\u0061me2":[1, {"x":2}]}"#),
            ("z", r#""s""#),
        ]
    );
    assert_eq!(
        seen.params,
        [
            (Some("name".to_owned()), r#""a""#.to_owned()),
            (None, r#"[1, {"x":2}]"#.to_owned()),
        ]
    );
}

#[test]
fn refuses_duplicate_keys_at_any_depth() {
    for (body, key) in [
        (r#"{"id":1,"id":2}"#, "id"),
        (r#"{"params":{"arguments":{},"arguments":{}}}"#, "arguments"),
        (r#"{"params":{"task":{"ttl":1},"task":{"ttl":2}}}"#, "task"),
        (r#"{"params":{"_meta":{},"x":1,"_meta":{}}}"#, "_meta"),
        (r#"{"params":{"name":"a","n\u0061me":"b"}}"#, "name"),
        (r#"{"params":{"arguments":{"a":[{"b":1,"b":1}]}}}"#, "b"),
        (r#"[{"k":1,"k":2}]"#, "k"),
    ] {
        let reason = refused(body);
        assert!(
            reason.starts_with(&format!("duplicate key {key:?}")),
            "{body}: {reason}"
        );
    }
    // The same key in different objects is fine.
    run(r#"{"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]}"#).expect("no duplicates");
}

#[test]
fn large_objects_are_checked_with_a_set() {
    let keys: Vec<String> = (0..100).map(|i| format!(r#""k{i}":{i}"#)).collect();
    let body = format!("{{{}}}", keys.join(","));
    run(&body).expect("distinct keys");
    let repeated = format!(r#"{{{},"k3":0}}"#, keys.join(","));
    assert!(refused(&repeated).starts_with(r#"duplicate key "k3""#));
    let escaped = format!(r#"{{{},"k\u0039\u0039":0}}"#, keys.join(","));
    assert!(refused(&escaped).starts_with(r#"duplicate key "k99""#));
}

#[test]
fn nesting_is_limited_without_recursion() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    run(&nested(DEFAULT_MAX_DEPTH)).expect("at the limit");
    assert_eq!(
        refused(&nested(DEFAULT_MAX_DEPTH + 1)),
        "JSON nested deeper than 64 levels"
    );
    // A million levels: refused, never a stack overflow.
    let deep = format!(r#"{{"params":{{"a":{}}}}}"#, nested(1_000_000));
    assert_eq!(refused(&deep), "JSON nested deeper than 64 levels");
    let limits = Limits { max_depth: 3 };
    assert!(scan(r#"{"a":{"b":[]}}"#, limits, &mut Ignore).is_ok());
    assert!(scan(r#"{"a":{"b":[[]]}}"#, limits, &mut Ignore).is_err());
}

#[test]
fn refuses_lone_surrogates_and_huge_numbers() {
    for body in [
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00"}"#,
        r#"{"a":"x\ud800y"}"#,
        r#"{"a":"\ud800\u0041"}"#,
        r#"{"\ud800":1}"#,
    ] {
        assert!(refused(body).contains("lone UTF-16 surrogate"), "{body}");
    }
    run(r#"{"a":"\ud83d\ude00 \uD83D\uDE00"}"#).expect("a surrogate pair");
    for body in [
        "1e999",
        "-1E+400",
        "1.5e309",
        &format!("1{}", "0".repeat(309)),
    ] {
        assert!(refused(body).contains("out of range"), "{body}");
    }
    for body in [
        "1e308",
        "1e-999",
        "-0.0",
        &"9".repeat(300),
        "18446744073709551616",
    ] {
        run(body).expect(body);
    }
}

#[test]
fn syntax_errors() {
    for body in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1:2}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "tru",
        "nul",
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"a",
        "\"\u{1}\"",
        "[1 2]",
        "{} {}",
        "NaN",
        "[\"\\ud800\\u\"]",
    ] {
        assert_eq!(run(body).err(), Some(ScanError::Syntax), "{body:?}");
    }
}

/// JSON-ish text: valid JSON, near misses, duplicates, escapes.
fn jsonish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "[a-c\\\\\"/ué\\u{1}]{0,6}".prop_map(|s| format!("\"{s}\"")),
        prop::sample::select(vec![
            r#""\u0061""#,
            r#""\ud83d\ude00""#,
            r#""\n""#,
            "1e5",
            "-0",
            "1E-2",
            "0.5",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[ab]|a\\\\u0062|b", inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\" : {v}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// Whether an accepted value has a repeated key in some object (serde_json's
/// `Value` keeps the last copy, so the check compares lengths).
fn has_duplicates(text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let members = text.matches(':').count();
    count_members(&value) != members
}

fn count_members(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => {
            map.len() + map.values().map(count_members).sum::<usize>()
        }
        serde_json::Value::Array(items) => items.iter().map(count_members).sum(),
        _ => 0,
    }
}

proptest! {
    #[test]
    fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = run(text);
        }
    }

    #[test]
    fn agrees_with_serde_json(text in jsonish(), cut in 0usize..64) {
        // Whole texts and truncated ones (near misses).
        let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
        for text in [text.as_str(), text.get(..cut).unwrap_or_default()] {
            let serde = serde_json::from_str::<IgnoredAny>(text).is_ok();
            match run(text) {
                Ok(_) => prop_assert!(serde, "scan accepted what serde_json refuses: {}", text),
                Err(ScanError::Syntax) => prop_assert!(!serde, "scan refused valid JSON: {}", text),
                Err(ScanError::Refused(reason)) => {
                    prop_assert!(serde, "refused invalid JSON: {}", text);
                    prop_assert!(reason.starts_with("duplicate key"), "{}: {}", text, reason);
                    prop_assert!(has_duplicates(text), "no duplicate in {}", text);
                }
            }
        }
    }

    #[test]
    fn accepts_serde_output(text in jsonish()) {
        // serde_json's own output never repeats a key: it must always pass.
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            let written = value.to_string();
            prop_assert!(run(&written).is_ok(), "{}", written);
        }
    }
}
