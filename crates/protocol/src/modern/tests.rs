use super::*;
use crate::codes;

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":{}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}}"#;

fn call(name: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}},{META}}}}}"#
    )
}

fn headers<'a>(method: &'a str, name: Option<&'a str>) -> Mirrored<'a> {
    Mirrored {
        version: Some("2026-07-28"),
        method: Some(method),
        name,
    }
}

fn checked(body: &str, h: Mirrored<'_>) -> Result<bool, TransportError> {
    let msg = Message::parse(body.as_bytes()).expect("JSON-RPC");
    check(&msg, h).map(|e| e.is_some())
}

#[test]
fn a_matching_request_is_modern_with_its_envelope() {
    let body = call("calc_add");
    let msg = Message::parse(body.as_bytes()).unwrap();
    let envelope = check(&msg, headers("tools/call", Some("calc_add")))
        .unwrap()
        .expect("modern");
    assert_eq!(envelope.version, "2026-07-28");
    assert_eq!(envelope.capabilities, r#"{"roots":{}}"#);
    assert_eq!(envelope.client_info, Some(r#"{"name":"c","version":"1"}"#));
    let list = format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{{META}}}}}"#);
    assert_eq!(checked(&list, headers("tools/list", None)), Ok(true));
}

#[test]
fn a_2025_request_is_not_modern() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}"#;
    let old = Mirrored {
        version: Some("2025-11-25"),
        ..Mirrored::default()
    };
    assert_eq!(checked(body, old), Ok(false));
    assert_eq!(checked(body, Mirrored::default()), Ok(false));
    let no_params = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    assert_eq!(checked(no_params, Mirrored::default()), Ok(false));
}

#[test]
fn mismatched_or_missing_headers_are_header_mismatch() {
    let body = call("calc_add");
    let cases = [
        headers("tools/list", Some("calc_add")),
        headers("tools/call", Some("calc_sub")),
        headers("tools/call", None),
        Mirrored {
            method: None,
            ..headers("tools/call", Some("calc_add"))
        },
        Mirrored {
            version: None,
            ..headers("tools/call", Some("calc_add"))
        },
        headers("tools/call", Some("=?base64?!!!?=")),
    ];
    for h in cases {
        let error = checked(&body, h).unwrap_err();
        assert_eq!(error.code(), codes::HEADER_MISMATCH, "{h:?}");
        assert_eq!(error.http_status(), 400);
    }
}

#[test]
fn envelope_faults_are_invalid_params_or_unsupported_version() {
    let header_only = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let error = checked(header_only, headers("tools/list", None)).unwrap_err();
    assert_eq!(error.code(), codes::INVALID_PARAMS);
    let no_caps = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    let error = checked(no_caps, headers("tools/list", None)).unwrap_err();
    assert_eq!(error.code(), codes::INVALID_PARAMS);
    let not_text = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":7}}}"#;
    let error = checked(not_text, headers("tools/list", None)).unwrap_err();
    assert_eq!(error.code(), codes::INVALID_PARAMS);
    let future = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let future_header = Mirrored {
        version: Some("2099-01-01"),
        ..headers("tools/list", None)
    };
    let error = checked(future, future_header).unwrap_err();
    assert_eq!(error.code(), codes::UNSUPPORTED_PROTOCOL_VERSION);
    // With the header naming a version the gateway does speak, the mismatch comes first.
    let error = checked(future, headers("tools/list", None)).unwrap_err();
    assert_eq!(error.code(), codes::HEADER_MISMATCH);
    assert_eq!(error.http_status(), 400);
    let error = checked(future, future_header).unwrap_err();
    let data = error.data().expect("data");
    assert_eq!(data["requested"], "2099-01-01");
    assert_eq!(data["supported"][0], "2026-07-28");
}

#[test]
fn names_are_compared_decoded() {
    let body = call("caf\\u00e9");
    let encoded = encode_header_value("café");
    assert_eq!(encoded, "=?base64?Y2Fmw6k=?=");
    assert_eq!(
        checked(&body, headers("tools/call", Some(&encoded))),
        Ok(true)
    );
    for plain in ["us-west1", "a b"] {
        assert_eq!(encode_header_value(plain), plain);
    }
    for odd in [" padded ", "", "line1\nline2", "=?base64?literal?="] {
        let encoded = encode_header_value(odd);
        assert!(encoded.starts_with("=?base64?"), "{odd:?}");
        assert_eq!(decode_header_value(&encoded).as_deref(), Some(odd));
    }
}

#[test]
fn stamps_are_added_first_and_keep_every_other_byte() {
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"12345678901234567890"}],"z":1,"a":2}}"#;
    let out = stamp_result(answer, Stamp::Complete).expect("stamped");
    assert_eq!(
        out,
        r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","content":[{"type":"text","text":"12345678901234567890"}],"z":1,"a":2}}"#
    );
    let empty = r#"{"jsonrpc":"2.0","id":1,"result":{ }}"#;
    let out = stamp_result(empty, Stamp::Cacheable).expect("stamped");
    assert_eq!(
        out,
        r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","ttlMs":0,"cacheScope":"private" }}"#
    );
    let hinted =
        r#"{"jsonrpc":"2.0","id":1,"result":{"contents":[],"ttlMs":5,"cacheScope":"public"}}"#;
    let out = stamp_result(hinted, Stamp::Cacheable).expect("stamped");
    assert!(
        out.contains(r#"{"resultType":"complete","contents":[],"ttlMs":5,"#),
        "{out}"
    );
    let done = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required"}}"#;
    assert_eq!(stamp_result(done, Stamp::Complete), None);
    let error = r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}"#;
    assert_eq!(stamp_result(error, Stamp::Complete), None);
    let nested = r#"{"jsonrpc":"2.0","id":1,"result":{"x":{"resultType":"no"}}}"#;
    assert!(stamp_result(nested, Stamp::Complete).is_some());
    assert_eq!(stamp_result("not json", Stamp::Complete), None);
}

#[test]
fn the_envelope_is_taken_out_of_meta_for_a_2025_backend() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"progressToken":12345678901234567890,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"z":{"b":1,"a":2}}}}"#;
    let msg = Message::parse(body.as_bytes()).unwrap();
    let (range, meta) = without_envelope(&msg).expect("a _meta");
    assert_eq!(
        meta,
        r#"{"progressToken":12345678901234567890,"z":{"b":1,"a":2}}"#
    );
    let out = crate::splice_raw(body.as_bytes(), range, &meta);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"progressToken":12345678901234567890,"z":{"b":1,"a":2}}}}"#
    );
    let only = call("a");
    let msg = Message::parse(only.as_bytes()).unwrap();
    assert_eq!(without_envelope(&msg).expect("a _meta").1, "{}");
    let none = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    assert_eq!(
        without_envelope(&Message::parse(none.as_bytes()).unwrap()),
        None
    );
}

#[test]
fn methods_2026_removed_are_not_found() {
    for method in REMOVED_METHODS {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{"uri":"a://b","level":"info",{META}}}}}"#
        );
        let error = checked(&body, headers(method, None)).expect_err(method);
        assert_eq!(error, TransportError::RemovedMethod((*method).to_owned()));
        assert_eq!(
            (error.http_status(), error.code()),
            (404, codes::METHOD_NOT_FOUND)
        );
    }
    // The same methods of a 2025 session are served as ever.
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    assert_eq!(checked(ping, Mirrored::default()), Ok(false));
}
