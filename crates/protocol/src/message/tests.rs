use super::*;
use crate::{codes, splice_str};

fn parse(body: &str) -> Result<Message<'_>, ProtocolError> {
    Message::parse(body.as_bytes())
}

fn invalid_request(body: &str) -> String {
    match parse(body) {
        Err(ProtocolError::InvalidRequest(message)) => message,
        other => panic!("{body}: expected InvalidRequest, got {other:?}"),
    }
}

fn not_json(body: &[u8]) -> String {
    match Message::parse(body) {
        Err(ProtocolError::NotJson(message)) => message,
        other => panic!("{body:?}: expected NotJson, got {other:?}"),
    }
}

#[test]
fn kinds() {
    let cases = [
        (r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, Kind::Request),
        (
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            Kind::Notification,
        ),
        (r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, Kind::Response),
        (
            r#"{"jsonrpc":"2.0","id":"s-1","result":null}"#,
            Kind::Response,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}"#,
            Kind::Response,
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"x"}}"#,
            Kind::Response,
        ),
        (
            " \r\n\t{\"method\":\"m\",\"jsonrpc\":\"2.0\"} \n",
            Kind::Notification,
        ),
    ];
    for (body, kind) in cases {
        assert_eq!(parse(body).map(|m| m.kind()), Ok(kind), "{body}");
    }
}

#[test]
fn shape_rules() {
    let cases = [
        (
            "[]",
            "JSON-RPC batches are not supported (removed in MCP 2025-06-18)",
        ),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            "JSON-RPC batches are not supported (removed in MCP 2025-06-18)",
        ),
        (
            "12",
            "a JSON-RPC message must be a JSON object, got an integer",
        ),
        (
            " \"x\" ",
            "a JSON-RPC message must be a JSON object, got a string",
        ),
        ("null", "a JSON-RPC message must be a JSON object, got null"),
        (
            r#"{"id":1,"method":"ping"}"#,
            "missing `jsonrpc` member; it must be \"2.0\"",
        ),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            "`jsonrpc` must be \"2.0\", got \"1.0\"",
        ),
        (
            r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#,
            "`jsonrpc` must be \"2.0\", got 2.0",
        ),
        (
            r#"{"jsonrpc":"2.0 ","id":1,"method":"ping"}"#,
            "`jsonrpc` must be \"2.0\", got \"2.0 \"",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            "`method` must be a string, got an integer",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":null}"#,
            "`method` must be a string, got null",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"\ud800"}"#,
            r"string with a lone UTF-16 surrogate (\ud800) is not valid Unicode",
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            "`id` must be a string or an integer, got null",
        ),
        (
            r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
            "`id` must be a string or an integer, got a boolean",
        ),
        (
            r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            "`id` must be a string or an integer, got an object",
        ),
        (
            r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
            "`id` must be a string or an integer, got an array",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            "`id` must be a string or an integer, got a non-integer number",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1e3,"method":"ping"}"#,
            "`id` must be a string or an integer, got a non-integer number",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1}"#,
            "a message needs `method` (request or notification) or `result`/`error` (response)",
        ),
        (
            r#"{"jsonrpc":"2.0"}"#,
            "a message needs `method` (request or notification) or `result`/`error` (response)",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"m","result":{}}"#,
            "a message cannot have both `method` and `result`/`error`",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"m","error":{}}"#,
            "a message cannot have both `method` and `result`/`error`",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
            "a response must have exactly one of `result` and `error`, not both",
        ),
        (
            r#"{"jsonrpc":"2.0","result":{}}"#,
            "a response must have an `id`",
        ),
        (
            r#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"}}"#,
            "a response must have an `id`",
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            "`id` must be a string or an integer, got null",
        ),
        (
            r#"{"jsonrpc":"2.0","id":false,"error":{}}"#,
            "`id` must be a string or an integer, got a boolean",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}"#,
            r#"duplicate key "id": parsers disagree on which copy counts"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#,
            r#"duplicate key "method": parsers disagree on which copy counts"#,
        ),
        (
            r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"a"}"#,
            r#"duplicate key "jsonrpc": parsers disagree on which copy counts"#,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"a","params":{},"p\u0061rams":{}}"#,
            r#"duplicate key "params": parsers disagree on which copy counts"#,
        ),
    ];
    for (body, message) in cases {
        assert_eq!(invalid_request(body), message, "{body}");
    }
}

#[test]
fn invalid_request_maps_to_its_code() {
    let err = parse("[]").expect_err("batch");
    assert_eq!(err.code(), codes::INVALID_REQUEST);
    let err = Message::parse(b"{").expect_err("truncated");
    assert_eq!(err.code(), codes::PARSE_ERROR);
}

#[test]
fn not_json_keeps_serde_json_positions() {
    assert_eq!(
        not_json(b""),
        "EOF while parsing a value at line 1 column 0"
    );
    assert_eq!(
        not_json(b"{\"jsonrpc\":\"2.0\",}"),
        "trailing comma at line 1 column 18"
    );
    assert_eq!(
        not_json(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"} x"),
        "trailing characters at line 1 column 39"
    );
    assert_eq!(
        not_json(b"[1,2"),
        "EOF while parsing a list at line 1 column 4"
    );
    assert_eq!(not_json(b"[1] x"), "trailing characters at line 1 column 5");
    assert_eq!(
        not_json(b"nul"),
        "EOF while parsing a value at line 1 column 3"
    );
    assert_eq!(
        not_json(b"{\"a\":\"\n\"}"),
        "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 6"
    );
    assert!(
        not_json(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}")
            .contains("not valid UTF-8 (invalid byte at offset 34)")
    );
    assert!(not_json(b"\xef\xbb\xbf{}").starts_with("expected value"));
    assert!(not_json(b"{\"jsonrpc\":\"2.0\",\"unknown\":[1,}").starts_with("expected value"));
}

#[test]
fn deep_nesting_is_handled_without_recursion() {
    let depth = 100_000;
    let deep_array = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(
        invalid_request(&deep_array),
        "JSON nested deeper than 64 levels"
    );
    let limits = Limits {
        max_depth: 2 * depth,
    };
    let parse = |body: &'static str| Message::parse_with(body.as_bytes(), limits);
    let deep_array: &'static str = deep_array.leak();
    let message = parse(deep_array).map_err(|e| e.to_string());
    assert_eq!(message.as_ref().map(Message::kind), Ok(Kind::Request));
    assert!(message.is_ok_and(|m| m.param_str(&["name"]).is_none()));

    let deep_object = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}1{}}}"#,
        r#"{"a":"#.repeat(depth),
        "}".repeat(depth)
    );
    let message = parse(deep_object.leak()).map_err(|e| e.to_string());
    let name = message.map(|m| m.try_param_str(&["a", "a", "a"]).map_err(|e| e.to_string()));
    assert_eq!(
        name,
        Ok(Err(
            "invalid params: `params.a.a.a` must be a string, got an object".into()
        ))
    );
    let unterminated = &deep_array[..deep_array.len() - 1];
    let error = parse(unterminated).map(|m| m.kind());
    assert!(
        matches!(&error, Err(ProtocolError::NotJson(m)) if m.starts_with("EOF while parsing an object")),
        "{error:?}"
    );
}

#[test]
fn ids_are_kept_as_sent() {
    let cases = [
        (r#"{"jsonrpc":"2.0","id":7,"method":"m"}"#, "7"),
        (r#"{"jsonrpc":"2.0","id":-0,"method":"m"}"#, "-0"),
        (
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}"#,
            "18446744073709551615",
        ),
        (
            r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"m"}"#,
            "-9223372036854775808",
        ),
        (r#"{"jsonrpc":"2.0","id":"abc","method":"m"}"#, r#""abc""#),
        (
            r#"{"jsonrpc":"2.0","id":  "a\"b\u00e9" ,"method":"m"}"#,
            r#""a\"b\u00e9""#,
        ),
        (r#"{"jsonrpc":"2.0","id":"","method":"m"}"#, r#""""#),
        (r#"{"jsonrpc":"2.0","id":null,"error":{}}"#, "null"),
    ];
    for (body, id) in cases {
        let message = parse(body).expect(body);
        assert_eq!(message.id_raw(), Some(id), "{body}");
        let range = message.id_range().expect("id range");
        assert_eq!(body.get(range), Some(id));
    }
    let notification = parse(r#"{"jsonrpc":"2.0","method":"m"}"#).expect("notification");
    assert_eq!(notification.id_raw(), None);
    assert_eq!(notification.id_range(), None);
}

#[test]
fn method_and_jsonrpc_escapes_are_decoded() {
    let message =
        parse(r#"{"jsonrpc":"\u0032.0","id":1,"method":"tools\/c\u0061ll"}"#).expect("escaped");
    assert_eq!(message.method(), Some("tools/call"));
    let message = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#).expect("plain");
    assert!(matches!(message.method, Some(Cow::Borrowed("tools/call"))));
    let message = parse(r#"{"jsonrpc":"2.0","id":1,"result":{"method":"x"}}"#).expect("response");
    assert_eq!(message.method(), None);
}

#[test]
fn escaped_member_names_count_as_the_member() {
    let message =
        parse(r#"{"jsonrpc":"2.0","\u0069d":3,"m\u0065thod":"ping"}"#).expect("escaped keys");
    assert_eq!(message.kind(), Kind::Request);
    assert_eq!(message.id_raw(), Some("3"));
    assert_eq!(message.method(), Some("ping"));
}

#[test]
fn unknown_members_are_ignored_unless_repeated() {
    let body = r#"{"x":1,"jsonrpc":"2.0","y":[{}],"id":1,"method":"m","_meta":null}"#;
    assert_eq!(parse(body).map(|m| m.kind()), Ok(Kind::Request));
    let body = r#"{"x":1,"jsonrpc":"2.0","x":[{}],"id":1,"method":"m"}"#;
    assert!(invalid_request(body).starts_with(r#"duplicate key "x""#));
}

#[test]
fn duplicate_keys_anywhere_are_refused() {
    for (body, key) in [
        (r#"{"params":{"name":"a","name":"b"}}"#, "name"),
        (r#"{"params":{"name":"a","n\u0061me":"b"}}"#, "name"),
        (
            r#"{"params":{"name":"t","arguments":{},"arguments":{"x":1}}}"#,
            "arguments",
        ),
        (
            r#"{"params":{"name":"t","task":{},"task":{"ttl":1}}}"#,
            "task",
        ),
        (r#"{"params":{"_meta":{},"name":"t","_meta":{}}}"#, "_meta"),
        (
            r#"{"params":{"name":"t","arguments":{"a":{"b":[{"c":1,"c":2}]}}}}"#,
            "c",
        ),
    ] {
        let body = body.replacen('{', r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","#, 1);
        let message = invalid_request(&body);
        assert!(
            message.starts_with(&format!("duplicate key {key:?}")),
            "{body}: {message}"
        );
    }
}

#[test]
fn ids_beyond_64_bits_are_refused() {
    for id in [
        "18446744073709551616",
        "-9223372036854775809",
        "1180591620717411303424",
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"m"}}"#);
        let message = invalid_request(&body);
        assert!(message.contains("does not fit in 64 bits"), "{message}");
    }
}

#[test]
fn values_backends_choke_on_are_refused() {
    for (params, reason) in [
        (r#"{"a":"\ud800"}"#, r"lone UTF-16 surrogate (\ud800)"),
        (r#"{"name":"\udc00"}"#, r"lone UTF-16 surrogate (\udc00)"),
        (r#"{"a":1e999}"#, "number 1e999 is out of range"),
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{params}}}"#);
        let message = invalid_request(&body);
        assert!(message.contains(reason), "{body}: {message}");
    }
}

#[test]
fn raw_views() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"m","params": {"a" : [1, 2]} }"#;
    let message = parse(body).expect("request");
    assert_eq!(message.params_raw(), Some(r#"{"a" : [1, 2]}"#));
    assert_eq!(message.result_raw(), None);
    assert_eq!(message.body(), body);
    let message = parse(r#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#).expect("error");
    assert_eq!(message.error_raw(), Some(r#"{"code":1}"#));
    let message = parse(r#"{"jsonrpc":"2.0","id":1,"result":[ ]}"#).expect("result");
    assert_eq!(message.result_raw(), Some("[ ]"));
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather_add","arguments":{"a":1}}}"#;

#[test]
fn param_str_paths() {
    let cases = [
        (CALL, &["name"][..], "weather_add"),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"weather+file:///a b"}}"#,
            &["uri"][..],
            "weather+file:///a b",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"weather_p"},"argument":{"name":"city","value":"B"}}}"#,
            &["ref", "name"][..],
            "weather_p",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"inner"},"name":"outer"}}"#,
            &["name"][..],
            "outer",
        ),
    ];
    for (body, path, value) in cases {
        let message = parse(body).expect(body);
        let field = message.param_str(path).expect(body);
        assert_eq!(field.value, value, "{body}");
        let token = body.get(field.range.clone()).expect("range in body");
        assert_eq!(
            serde_json::from_str::<String>(token).ok().as_deref(),
            Some(value)
        );
    }
}

#[test]
fn escaped_names_are_decoded_and_the_range_covers_the_escapes() {
    let body =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\u0077eather_add"}}"#;
    let message = parse(body).expect("request");
    let field = message.param_str(&["name"]).expect("name");
    assert_eq!(field.value, "weather_add");
    assert_eq!(body.get(field.range.clone()), Some(r#""\u0077eather_add""#));
    let out = splice_str(body.as_bytes(), field.range, "add");
    assert_eq!(
        out,
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}"#
    );
}

#[test]
fn plain_names_are_borrowed() {
    let message = parse(CALL).expect("request");
    let field = message.param_str(&["name"]).expect("name");
    assert!(matches!(field.value, Cow::Borrowed("weather_add")));
}

#[test]
fn try_param_str_explains_failures() {
    let cases = [
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            "`params` is missing",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#,
            "`params.name` is missing",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}"#,
            "`params` must be an object, got null",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
            "`params.name` must be a string, got an integer",
        ),
    ];
    for (body, message) in cases {
        let parsed = parse(body).expect(body);
        assert_eq!(
            parsed.try_param_str(&["name"]),
            Err(ProtocolError::InvalidParams(message.into())),
            "{body}"
        );
        assert_eq!(parsed.param_str(&["name"]), None);
    }
    let parsed = parse(CALL).expect("request");
    assert_eq!(
        parsed
            .try_param_str(&["arguments", "a"])
            .map_err(|e| e.code()),
        Err(codes::INVALID_PARAMS)
    );
}
