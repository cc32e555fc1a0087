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
            "`method` is not a valid Unicode string",
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
            "member `id` appears more than once",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#,
            "member `method` appears more than once",
        ),
        (
            r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"a"}"#,
            "member `jsonrpc` appears more than once",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"a","params":{},"p\u0061rams":{}}"#,
            "member `params` appears more than once",
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
    let message = parse(&deep_array).map_err(|e| e.to_string());
    assert_eq!(message.as_ref().map(Message::kind), Ok(Kind::Request));
    assert!(message.is_ok_and(|m| m.param_str(&["name"]).is_none()));

    let deep_object = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{}1{}}}"#,
        r#"{"a":"#.repeat(depth),
        "}".repeat(depth)
    );
    let message = parse(&deep_object).map_err(|e| e.to_string());
    let name = message.map(|m| m.try_param_str(&["a", "a", "a"]).map_err(|e| e.to_string()));
    assert_eq!(
        name,
        Ok(Err(
            "invalid params: `params.a.a.a` must be a string, got an object".into()
        ))
    );
    let unterminated = &deep_array[..deep_array.len() - 1];
    assert!(not_json(unterminated.as_bytes()).starts_with("EOF while parsing an object"));
}

#[test]
fn ids_are_kept_as_sent() {
    let cases = [
        (r#"{"jsonrpc":"2.0","id":7,"method":"m"}"#, "7"),
        (r#"{"jsonrpc":"2.0","id":-0,"method":"m"}"#, "-0"),
        (
            r#"{"jsonrpc":"2.0","id":12345678901234567890123,"method":"m"}"#,
            "12345678901234567890123",
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
fn unknown_members_are_ignored_even_when_repeated() {
    let body = r#"{"x":1,"jsonrpc":"2.0","x":[{}],"id":1,"method":"m","_meta":null}"#;
    assert_eq!(parse(body).map(|m| m.kind()), Ok(Kind::Request));
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
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\udc00"}}"#,
            "`params.name` is not a valid Unicode string",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            "`params.name` appears more than once",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","n\u0061me":"b"}}"#,
            "`params.name` appears more than once",
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
