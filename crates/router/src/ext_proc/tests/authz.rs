//! The policy refuses calls before any backend is touched.

use super::*;

/// `CONFIG` with a policy that lets anonymous callers use `tools` only.
fn with_policy(tools: &str) -> String {
    format!("{CONFIG}policy:\n  rules:\n    - name: anonymous\n      allow: {{tools: [{tools}]}}\n")
}

/// The answer to `calc_add` called with id 9, when no backend session is open: a call that
/// got past the policy tries to open one at an address nothing listens on, and says so.
async fn call_add(h: &Harness) -> (i32, Value) {
    let gw = h.session().await;
    h.sessions
        .remove_backend(&gw, "calc")
        .await
        .expect("remove backend");
    let mut req = RequestState::default();
    h.send(
        &mut req,
        headers(&[(":method", "POST"), ("mcp-session-id", &gw)]),
    )
    .await;
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"calc_add"}}"#;
    immediate(&h.send(&mut req, body(call)).await)
}

#[tokio::test]
async fn calls_the_policy_does_not_allow_are_refused_with_403_and_the_id() {
    let h = Harness::with_config(1 << 20, &with_policy("calc_sub"));
    let (status, err) = call_add(&h).await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["id"], 9);
    assert_eq!(err["error"]["code"], -32600);
    assert_eq!(
        err["error"]["message"],
        r#"not allowed to use tool "calc_add""#
    );
}

#[tokio::test]
async fn calls_the_policy_allows_go_on_to_the_backend() {
    let h = Harness::with_config(1 << 20, &with_policy("calc_*"));
    let (status, err) = call_add(&h).await;
    assert_eq!(status, 200, "{err}");
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("MCP server 'calc' is unavailable"),
        "{message}"
    );
}
