//! What a backend sends on its GET stream, as the client must see it.

use mcp_gateway_protocol::{Kind, Message, server_request, splice_raw, splice_str, uri};

/// The message to forward to the client for one backend message, or `None` to drop it.
///
/// - requests (sampling, elicitation, roots, ping) get an id unique within the gateway
///   session (`"<server>:<id>"`), so the client's answer can be routed back;
/// - `notifications/resources/updated` names the gateway's URI for the resource;
/// - `list_changed` notifications are dropped: the gateway re-lists that backend itself and
///   announces changes of its aggregated lists to every session;
/// - responses never belong on a GET stream and are dropped, as is anything unparsable.
pub(crate) fn relay(server: &str, prefix: &str, data: &str) -> Option<String> {
    let msg = Message::parse(data.as_bytes()).ok()?;
    match msg.kind() {
        Kind::Request => {
            let range = msg.id_range()?;
            let id = server_request::encode(server, msg.id_raw()?);
            Some(into_string(splice_raw(data.as_bytes(), range, &id)))
        }
        Kind::Notification => match msg.method()? {
            m if m.ends_with("/list_changed") => None,
            "notifications/resources/updated" => {
                let field = msg.param_str(&["uri"])?;
                let exposed = uri::expose_uri(prefix, &field.value);
                Some(into_string(splice_str(
                    data.as_bytes(),
                    field.range,
                    &exposed,
                )))
            }
            _ => Some(data.to_owned()),
        },
        Kind::Response => None,
    }
}

fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
