//! What a backend sends on its GET stream, as the client must see it.

use mcp_gateway_protocol::{Kind, Message, ToClient};

/// The message to forward to the client for one backend message, or `None` to drop it.
///
/// - requests and notifications carry the gateway's ids and names ([`ToClient`]): requests
///   (sampling, elicitation, roots, ping) get an id unique within the gateway session, so the
///   client's answer can be routed back; `notifications/resources/updated` names the gateway's
///   URI; task ids are the gateway's;
/// - `list_changed` notifications are dropped: the gateway re-lists that backend itself and
///   announces changes of its aggregated lists to every session;
/// - responses never belong on a GET stream and are dropped, as is anything unparsable.
pub(crate) fn relay(server: &str, prefix: &str, data: &str) -> Option<String> {
    let msg = Message::parse(data.as_bytes()).ok()?;
    match (msg.kind(), msg.method()) {
        (Kind::Response, _) => None,
        (Kind::Notification, Some(m)) if m.ends_with("/list_changed") => None,
        _ => Some(
            ToClient { server, prefix }
                .rewrite_parsed(&msg, data, false)
                .unwrap_or_else(|| data.to_owned()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_what_the_client_must_see() {
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}}"#,
                Some(
                    r#"{"jsonrpc":"2.0","id":"calc:0","method":"sampling/createMessage","params":{}}"#,
                ),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"x","method":"roots/list"}"#,
                Some(r#"{"jsonrpc":"2.0","id":"calc:\"x\"","method":"roots/list"}"#),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///a"}}"#,
                Some(
                    r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file://c_/a"}}"#,
                ),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}"#,
                Some(
                    r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}"#,
                ),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
                None,
            ),
            (r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, None),
            ("not json", None),
        ];
        for (input, want) in cases {
            assert_eq!(relay("calc", "c_", input).as_deref(), want, "{input}");
        }
    }
}
