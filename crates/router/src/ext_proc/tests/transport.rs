//! The transport rules in the headers phase: path, method, repeated headers; and bodies
//! that are not a POST's are never parsed nor routed.

use super::*;

const CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add","arguments":{}}}"#;

/// The headers of an immediate response.
fn immediate_headers(resp: &ProcessingResponse) -> Vec<(String, String)> {
    match &resp.response {
        Some(Response::ImmediateResponse(r)) => r
            .headers
            .iter()
            .flat_map(|m| m.set_headers.iter())
            .filter_map(|h| h.header.as_ref())
            .map(|h| {
                (
                    h.key.clone(),
                    String::from_utf8_lossy(&h.raw_value).into_owned(),
                )
            })
            .collect(),
        other => panic!("expected an immediate response, got {other:?}"),
    }
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    for method in ["PUT", "PATCH", "OPTIONS", "HEAD"] {
        let mut req = RequestState::default();
        let resp = h
            .send(
                &mut req,
                headers(&[(":method", method), ("mcp-session-id", &gw)]),
            )
            .await;
        let (status, body) = immediate(&resp);
        assert_eq!(status, 405, "{method}");
        assert_eq!(body["error"]["code"], -32600, "{method}");
        assert!(
            immediate_headers(&resp).contains(&("allow".into(), "GET, POST, DELETE".into())),
            "{method}"
        );
    }
}

#[tokio::test]
async fn other_paths_get_404() {
    let h = Harness::new(1 << 20);
    for path in ["/", "/foo", "/MCP", "/mcp/"] {
        let mut req = RequestState::default();
        let (status, body) = immediate(&h.send(&mut req, headers(&[(":path", path)])).await);
        assert_eq!(
            (status, body["error"]["code"].as_i64()),
            (404, Some(-32600)),
            "{path}"
        );
    }
    let mut req = RequestState::default();
    let resp = h.send(&mut req, headers(&[(":path", "/mcp?x=1")])).await;
    assert!(matches!(resp.response, Some(Response::RequestHeaders(_))));
}

#[tokio::test]
async fn repeated_session_headers_get_400() {
    let h = Harness::new(1 << 20);
    let (a, b) = (h.session().await, h.session().await);
    for method in ["POST", "GET", "DELETE"] {
        let mut req = RequestState::default();
        let twice = [
            (":method", method),
            ("mcp-session-id", &a),
            ("mcp-session-id", &b),
        ];
        let (status, body) = immediate(&h.send(&mut req, headers(&twice)).await);
        assert_eq!(
            (status, body["error"]["code"].as_i64()),
            (400, Some(-32600)),
            "{method}"
        );
        let joined = format!("{a},{b}");
        let comma = [(":method", method), ("mcp-session-id", joined.as_str())];
        let (status, _) = immediate(&h.send(&mut req, headers(&comma)).await);
        assert_eq!(status, 400, "{method}");
    }
}

#[tokio::test]
async fn bodies_of_get_and_delete_are_never_routed() {
    let h = Harness::new(1 << 20);
    let gw = h.session().await;
    for method in ["DELETE", "GET"] {
        let mut req = RequestState::default();
        h.send(
            &mut req,
            headers(&[(":method", method), ("mcp-session-id", &gw)]),
        )
        .await;
        let resp = h.send(&mut req, body(CALL)).await;
        assert_eq!(
            resp,
            mutation::request_body_unchanged(),
            "{method}: the body goes on untouched, to the broker"
        );
        let resp = h.send(&mut req, body("not json")).await;
        assert_eq!(
            resp,
            mutation::request_body_unchanged(),
            "{method}: not parsed"
        );
    }
}
