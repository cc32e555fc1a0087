use super::*;

fn head<'a>(method: &'a str, path: &'a str, headers: &[(&'a str, &'a str)]) -> Head<'a> {
    let pseudo = [(":method", method), (":path", path)];
    Head::from_pairs(
        pseudo
            .into_iter()
            .chain(headers.iter().copied())
            .map(|(name, value)| (name, value.as_bytes())),
    )
}

fn verdict(method: &str, path: &str, headers: &[(&str, &str)]) -> Result<Endpoint, TransportError> {
    check(&head(method, path, headers), &OriginPolicy::default())
}

#[test]
fn paths() {
    for path in ["/mcp", "/mcp?x=1", "/mcp?"] {
        assert_eq!(
            verdict("POST", path, &[]),
            Ok(Endpoint::Mcp(Method::Post)),
            "{path}"
        );
    }
    for path in ["/v/weather/mcp", "/v/a.b-c_d/mcp?x=1"] {
        let head = head("POST", path, &[]);
        assert_eq!(
            check(&head, &OriginPolicy::default()),
            Ok(Endpoint::Mcp(Method::Post)),
            "{path}"
        );
        assert!(head.virtual_server().is_some(), "{path}");
    }
    assert_eq!(head("GET", "/mcp", &[]).virtual_server(), None);
    assert_eq!(head("GET", "/v/w/mcp?q", &[]).virtual_server(), Some("w"));
    for path in [
        "/",
        "/foo",
        "/MCP",
        "/mcp/",
        "/mcpx",
        "/mcp/x",
        "",
        "/readyz",
        "//mcp",
        "/v//mcp",
        "/v/a/b/mcp",
        "/v/w/mcpx",
        "/v/w",
        "/v/w/",
        "/x/w/mcp",
        "/v/w/mcp/",
    ] {
        let error = verdict("POST", path, &[]).expect_err(path);
        assert_eq!(error.http_status(), 404, "{path}");
        assert_eq!(error.code(), crate::codes::INVALID_REQUEST);
    }
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource?x",
    ] {
        assert_eq!(
            verdict("GET", path, &[]),
            Ok(Endpoint::OAuthMetadata),
            "{path}"
        );
    }
    assert_eq!(verdict("GET", "/healthz", &[]), Ok(Endpoint::Health));
    for path in ["/console", "/console/", "/console/console.js", "/console?x"] {
        assert_eq!(verdict("GET", path, &[]), Ok(Endpoint::Console), "{path}");
    }
    for path in [
        "/console/api",
        "/console/api/status",
        "/console/api/status?x",
    ] {
        assert_eq!(
            verdict("GET", path, &[]),
            Ok(Endpoint::ConsoleApi),
            "{path}"
        );
    }
    assert_eq!(
        verdict("GET", "/console/apix", &[]),
        Ok(Endpoint::Console),
        "not the API"
    );
    for path in ["/consolex", "/console.html", "/mcp/console"] {
        let error = verdict("GET", path, &[]).expect_err(path);
        assert_eq!(error.http_status(), 404, "{path}");
    }
    let error = verdict("POST", "/console/api/status", &[]).expect_err("405");
    assert_eq!(error.allow(), Some("GET"));
    let error = verdict("GET", "/.well-known/oauth-protected-resourcex", &[]).expect_err("404");
    assert_eq!(error.http_status(), 404);
    let error = verdict("POST", "/.well-known/oauth-protected-resource", &[]).expect_err("405");
    assert_eq!(error.allow(), Some("GET"));
}

#[test]
fn methods() {
    assert_eq!(verdict("GET", "/mcp", &[]), Ok(Endpoint::Mcp(Method::Get)));
    assert_eq!(
        verdict("DELETE", "/mcp", &[]),
        Ok(Endpoint::Mcp(Method::Delete))
    );
    for method in [
        "PUT", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "post", "",
    ] {
        let error = verdict(method, "/mcp", &[]).expect_err(method);
        assert_eq!(error.http_status(), 405, "{method}");
        assert_eq!(error.allow(), Some("GET, POST, DELETE"), "{method}");
    }
}

#[test]
fn headers_we_act_on_appear_once() {
    for name in SINGLE {
        let twice = [(name, "a"), (name, "b")];
        assert_eq!(
            verdict("POST", "/mcp", &twice),
            Err(TransportError::Repeated(name))
        );
    }
    for name in NO_COMMA {
        let joined = [(name, "a,b")];
        assert_eq!(
            verdict("POST", "/mcp", &joined),
            Err(TransportError::Repeated(name))
        );
    }
    // Event ids are opaque: a comma is part of the one value.
    assert_eq!(
        verdict("GET", "/mcp", &[(LAST_EVENT_ID, "a,b")]),
        Ok(Endpoint::Mcp(Method::Get))
    );
    // Other headers may repeat.
    let accept = [
        ("accept", "application/json"),
        ("accept", "text/event-stream"),
    ];
    assert_eq!(
        verdict("POST", "/mcp", &accept),
        Ok(Endpoint::Mcp(Method::Post))
    );
    let not_text = Head::from_pairs([
        (":method", &b"POST"[..]),
        (":path", b"/mcp"),
        (SESSION_ID, b"\xff"),
    ]);
    assert_eq!(
        check(&not_text, &OriginPolicy::default()),
        Err(TransportError::NotText(SESSION_ID))
    );
}

#[test]
fn origin_and_version() {
    let error = verdict("POST", "/mcp", &[(ORIGIN, "http://evil.example")]).expect_err("origin");
    assert_eq!(error.http_status(), 403);
    let ok = [
        (ORIGIN, "http://localhost:6274"),
        (PROTOCOL_VERSION, "2025-06-18"),
    ];
    assert_eq!(
        verdict("POST", "/mcp", &ok),
        Ok(Endpoint::Mcp(Method::Post))
    );
    let error = verdict("POST", "/mcp", &[(PROTOCOL_VERSION, "1999-01-01")]).expect_err("v");
    assert_eq!(error.http_status(), 400);
    assert!(
        error
            .to_string()
            .contains("supported: 2026-07-28, 2025-11-25"),
        "{error}"
    );
    // A 2026-07-28 request passes the head's rules; its body is checked against its headers
    // (modern::check).
    let modern = [
        (PROTOCOL_VERSION, "2026-07-28"),
        ("mcp-method", "tools/list"),
    ];
    assert_eq!(
        verdict("POST", "/mcp", &modern),
        Ok(Endpoint::Mcp(Method::Post))
    );
    let twice = [("mcp-name", "a"), ("mcp-name", "b")];
    assert_eq!(
        verdict("POST", "/mcp", &twice),
        Err(TransportError::Repeated("mcp-name"))
    );
    // The metadata is public: no MCP header rules.
    let public = [
        (ORIGIN, "http://evil.example"),
        (SESSION_ID, "a"),
        (SESSION_ID, "b"),
    ];
    assert_eq!(
        verdict("GET", "/.well-known/oauth-protected-resource", &public),
        Ok(Endpoint::OAuthMetadata)
    );
}

#[test]
fn the_console_api_obeys_the_origin_policy_as_mcp_does() {
    // A DNS-rebinding page must not read the status: its Origin is refused as on /mcp.
    let evil = [(ORIGIN, "http://evil.example")];
    let error = verdict("GET", "/console/api/status", &evil).expect_err("origin");
    assert_eq!(error.http_status(), 403);
    let local = [(ORIGIN, "http://localhost:8888")];
    assert_eq!(
        verdict("GET", "/console/api/status", &local),
        Ok(Endpoint::ConsoleApi)
    );
    // The page and its script hold no data: any origin may load them.
    assert_eq!(verdict("GET", "/console", &evil), Ok(Endpoint::Console));
}

#[test]
fn accessors_and_builders() {
    let h = Head::default()
        .with_method("GET")
        .with_path("/mcp")
        .tap_push(SESSION_ID, "s1")
        .tap_push(LAST_EVENT_ID, "g3");
    assert_eq!(h.session_id(), Some("s1"));
    assert_eq!(h.last_event_id(), Some("g3"));
    assert_eq!(
        check(&h, &OriginPolicy::Any),
        Ok(Endpoint::Mcp(Method::Get))
    );
    let long = "/x".repeat(200);
    let error = verdict("POST", &long, &[]).expect_err("404");
    assert!(error.to_string().len() < 200, "{error}");
}

trait TapPush<'a> {
    fn tap_push(self, name: &str, value: &'a str) -> Self;
}

impl<'a> TapPush<'a> for Head<'a> {
    fn tap_push(mut self, name: &str, value: &'a str) -> Self {
        self.push(name, value.as_bytes());
        self
    }
}

#[test]
fn authority_comes_from_authority_or_host() {
    assert_eq!(head("GET", "/mcp", &[]).authority(), None);
    assert_eq!(
        head("GET", "/mcp", &[(":authority", "a.example:8888")]).authority(),
        Some("a.example:8888")
    );
    assert_eq!(
        head("GET", "/mcp", &[("host", "b.example")]).authority(),
        Some("b.example")
    );
    assert_eq!(
        head(
            "GET",
            "/mcp",
            &[(":authority", "a.example"), ("host", "b.example")]
        )
        .authority(),
        Some("a.example")
    );
}
