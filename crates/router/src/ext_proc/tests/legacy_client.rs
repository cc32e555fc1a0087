//! 2025 clients (with a gateway session) calling a backend that speaks only MCP 2026-07-28:
//! no backend session, the session's envelope spliced into `_meta`, the 2026-07-28 headers;
//! a client that can be asked is handed to the broker.

use mcp_gateway_catalog::BackendProtocol;

use super::*;

/// Marks calc as a 2026-07-28-only backend offering `add`.
fn modern_calc(h: &Harness) {
    let mut offer = ServerOffer::tools("calc_", vec![json!({"name": "add"})]);
    offer.protocol = BackendProtocol::Modern;
    h.catalog.update("calc", offer);
}

#[tokio::test]
async fn a_2025_call_to_a_2026_backend_carries_the_sessions_envelope() {
    let h = Harness::new(1 << 20);
    modern_calc(&h);
    let gw = h.session().await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let sent = r#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"calc_add","arguments":{"z":18446744073709551617,"a":1.50},"_meta":{"progressToken":"p"}}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let c = common(&resp);
    let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
    assert_eq!(set[":authority"], "calc.mcp.local");
    assert_eq!(set["mcp-protocol-version"], "2026-07-28");
    assert_eq!(set["mcp-method"], "tools/call");
    assert_eq!(set["mcp-name"], "add");
    assert!(!set.contains_key("mcp-session-id"), "no backend session");
    assert!(removed(c).contains(&"mcp-session-id".to_owned()));
    assert!(
        !set.contains_key("x-mcp-observe"),
        "a client that cannot be asked keeps the fast path"
    );
    let expected = r#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"add","arguments":{"z":18446744073709551617,"a":1.50},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":"p"}}}"#;
    assert_eq!(new_body(c), expected);
    assert_eq!(set["content-length"], expected.len().to_string());
}

#[tokio::test]
async fn a_2025_client_that_can_be_asked_is_handed_to_the_broker() {
    let h = Harness::new(1 << 20);
    modern_calc(&h);
    let gw = h.session_with(json!({"elicitation": {}})).await;
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let sent = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add"}}"#;
    let resp = h.send(&mut req, body(sent)).await;
    let c = common(&resp);
    let set: std::collections::HashMap<_, _> = set_headers(c).into_iter().collect();
    assert_eq!(set["x-mcp-relay-server"], "calc");
    assert_eq!(set["x-mcp-method"], "tools/call");
    assert_eq!(set["x-mcp-toolname"], "add");
    assert!(!set.contains_key(":authority"), "the broker's route");
    assert!(!set.contains_key("x-mcp-servername"));
    assert!(c.clear_route_cache);
    assert_eq!(
        new_body(c),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}},"name":"add"}}"#
    );
}
