//! A backend's message on its way to the client, with the backend's ids and names replaced by
//! the gateway's: the one rule set for POST responses (router) and GET streams (broker).
//!
//! | in the backend's message | the client sees |
//! | --- | --- |
//! | a request's id (sampling, elicitation, roots, ping) | `"<server>:<id>"` ([`crate::server_request`]) |
//! | `notifications/resources/updated` `params.uri` | the exposed URI ([`crate::uri`]) |
//! | a task id: `result.taskId`, `result.task.taskId`, `result.tasks[].taskId`, `_meta["io.modelcontextprotocol/related-task"].taskId`, `notifications/tasks/status` `params.taskId` | `<server>:<task id>` ([`crate::tasks`]) |
//! | `result.contents[].uri` of a `resources/read` answer | the exposed URI |
//!
//! Ids and URIs that are not strings are left alone. Every rewrite splices: the message is
//! parsed once, the byte range of each string to replace is found in the body, and all other
//! bytes (key order, numbers of any size or precision, escapes, whitespace) pass as they are.
//! Task ids and read contents (rare, and nested in a result) are looked for only when the
//! text mentions them at all.

use std::ops::Range;

use crate::params::{elements, members};
use crate::splice::splice_many;
use crate::{Kind, Message, json_str, server_request, tasks, uri};

/// The backend a message came from.
#[derive(Clone, Copy, Debug)]
pub struct ToClient<'a> {
    /// Its server name.
    pub server: &'a str,
    /// Its prefix, which its resource URIs carry at the gateway.
    pub prefix: &'a str,
}

/// Replacements to splice into a body: a byte range and the JSON text that takes its place.
type Edits = Vec<(Range<usize>, String)>;

impl ToClient<'_> {
    /// `data` (one JSON-RPC message) as the client must see it; `None` when it passes as it is,
    /// including anything that is not a JSON-RPC message. `read_contents` is set for the answer
    /// to a `resources/read`, whose contents carry URIs.
    pub fn rewrite(&self, data: &str, read_contents: bool) -> Option<String> {
        let msg = Message::parse(data.as_bytes()).ok()?;
        self.rewrite_parsed(&msg, data, read_contents)
    }

    /// [`ToClient::rewrite`] for a message the caller has parsed already (`msg` is `data`'s).
    pub fn rewrite_parsed(
        &self,
        msg: &Message<'_>,
        data: &str,
        read_contents: bool,
    ) -> Option<String> {
        if msg.body().len() != data.len() {
            return None;
        }
        let mut edits = Edits::new();
        match msg.kind() {
            Kind::Request => {
                let id = server_request::encode(self.server, msg.id_raw()?);
                edits.push((msg.id_range()?, id));
            }
            Kind::Notification if msg.method() == Some("notifications/resources/updated") => {
                let field = msg.param_str(&["uri"])?;
                let exposed = uri::expose_uri(self.prefix, &field.value);
                edits.push((field.range, encoded(&exposed)));
            }
            _ => {}
        }
        let deep = data.contains("\"taskId\"") || (read_contents && data.contains("\"contents\""));
        if deep {
            let status = msg.method() == Some("notifications/tasks/status");
            self.deep_edits(msg, status, read_contents, &mut edits);
        }
        (!edits.is_empty()).then(|| splice_many(data, &mut edits))
    }

    /// Task ids and read contents, found in the parsed message's result and params.
    fn deep_edits(&self, msg: &Message<'_>, status: bool, read_contents: bool, edits: &mut Edits) {
        let body = msg.body();
        if let Some([task_id, task, list, meta, contents]) = msg
            .result_raw()
            .and_then(|r| members(r, ["taskId", "task", "tasks", "_meta", "contents"]))
        {
            self.task_id(body, task_id, edits);
            self.task_id(body, task.and_then(|t| member(t, "taskId")), edits);
            for task in list.and_then(elements).unwrap_or_default() {
                self.task_id(body, member(task, "taskId"), edits);
            }
            self.related_task(body, meta, edits);
            let contents = contents.filter(|_| read_contents).and_then(elements);
            for item in contents.unwrap_or_default() {
                self.content_uri(body, member(item, "uri"), edits);
            }
        }
        if let Some([task_id, meta]) = msg
            .params_raw()
            .and_then(|p| members(p, ["taskId", "_meta"]))
        {
            if status {
                self.task_id(body, task_id, edits);
            }
            self.related_task(body, meta, edits);
        }
    }

    /// `_meta["io.modelcontextprotocol/related-task"].taskId`, given `_meta`.
    fn related_task(&self, body: &str, meta: Option<&str>, edits: &mut Edits) {
        let related = meta.and_then(|m| member(m, tasks::RELATED_TASK));
        self.task_id(body, related.and_then(|t| member(t, "taskId")), edits);
    }

    /// A backend task id (a string token of `body`) made the gateway's.
    fn task_id(&self, body: &str, token: Option<&str>, edits: &mut Edits) {
        if let Some((range, id)) = token.and_then(|t| string_in(body, t)) {
            edits.push((range, encoded(&tasks::encode(self.server, &id))));
        }
    }

    /// A read content's URI (a string token of `body`) made the exposed one, when it differs.
    fn content_uri(&self, body: &str, token: Option<&str>, edits: &mut Edits) {
        if let Some((range, original)) = token.and_then(|t| string_in(body, t)) {
            let exposed = uri::expose_uri(self.prefix, &original);
            if exposed != original {
                edits.push((range, encoded(&exposed)));
            }
        }
    }
}

/// The raw value of one member of a raw object, when it is an object and has it.
fn member<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    members(object, [key]).and_then(|[value]| value)
}

/// A string token's place in `body` and its decoded value; `None` when it is not a string.
fn string_in<'a>(body: &str, token: &'a str) -> Option<(Range<usize>, std::borrow::Cow<'a, str>)> {
    let value = json_str::decode(token)?;
    Some((json_str::range_in(body, token)?, value))
}

/// `value` as a JSON string token.
fn encoded(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + 2);
    json_str::encode_into(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const CALC: ToClient<'static> = ToClient {
        server: "calc",
        prefix: "c_",
    };

    fn rewritten(data: &str, read: bool) -> Option<Value> {
        CALC.rewrite(data, read)
            .map(|s| serde_json::from_str(&s).expect("JSON"))
    }

    #[test]
    fn server_requests_and_resource_updates_are_spliced() {
        let request = r#"{"jsonrpc":"2.0","id":0,"method":"roots/list"}"#;
        assert_eq!(
            CALC.rewrite(request, false).as_deref(),
            Some(r#"{"jsonrpc":"2.0","id":"calc:0","method":"roots/list"}"#)
        );
        let updated = r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///a"}}"#;
        assert_eq!(
            CALC.rewrite(updated, false).as_deref(),
            Some(
                r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file://c_/a"}}"#
            )
        );
    }

    #[test]
    fn task_ids_everywhere_they_appear() {
        let created =
            r#"{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"7","status":"working"}}}"#;
        assert_eq!(
            rewritten(created, false).expect("changed")["result"]["task"]["taskId"],
            "calc:7"
        );
        let got = r#"{"jsonrpc":"2.0","id":1,"result":{"taskId":"7","status":"completed"}}"#;
        assert_eq!(
            rewritten(got, false).expect("changed")["result"]["taskId"],
            "calc:7"
        );
        let listed =
            r#"{"jsonrpc":"2.0","id":1,"result":{"tasks":[{"taskId":"1"},{"taskId":"2"}]}}"#;
        assert_eq!(
            rewritten(listed, false).expect("changed")["result"]["tasks"],
            json!([{"taskId":"calc:1"},{"taskId":"calc:2"}])
        );
        let result = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"7"}}}}"#;
        assert_eq!(
            rewritten(result, false).expect("changed")["result"]["_meta"][tasks::RELATED_TASK]["taskId"],
            "calc:7"
        );
        let status = r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"7","status":"completed"}}"#;
        assert_eq!(
            rewritten(status, false).expect("changed")["params"]["taskId"],
            "calc:7"
        );
        // An elicitation that belongs to a task: both its id and its task are the gateway's.
        let ask = r#"{"jsonrpc":"2.0","id":3,"method":"elicitation/create","params":{"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"7"}}}}"#;
        let ask = rewritten(ask, false).expect("changed");
        assert_eq!(ask["id"], "calc:3");
        assert_eq!(
            ask["params"]["_meta"][tasks::RELATED_TASK]["taskId"],
            "calc:7"
        );
    }

    #[test]
    fn a_client_task_id_in_a_server_request_is_not_the_backends() {
        // A server polling a task the client runs names the client's id: only the request id
        // changes.
        let poll = r#"{"jsonrpc":"2.0","id":4,"method":"tasks/get","params":{"taskId":"c1"}}"#;
        assert_eq!(
            CALC.rewrite(poll, false).as_deref(),
            Some(
                r#"{"jsonrpc":"2.0","id":"calc:4","method":"tasks/get","params":{"taskId":"c1"}}"#
            )
        );
    }

    #[test]
    fn read_contents_only_when_asked() {
        let read =
            r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"file:///a","text":"x"}]}}"#;
        assert_eq!(CALC.rewrite(read, false), None);
        assert_eq!(
            rewritten(read, true).expect("changed")["result"]["contents"][0]["uri"],
            "file://c_/a"
        );
    }

    /// `data` rewritten must equal `want` byte for byte: only the rewritten strings change.
    fn exact(data: &str, read: bool, want: &str) {
        assert_eq!(CALC.rewrite(data, read).as_deref(), Some(want), "{data}");
    }

    #[test]
    fn read_contents_are_spliced_keeping_every_other_byte() {
        // Keys out of order, a big integer, a float with a trailing zero, nested objects,
        // whitespace and escapes: all kept; only `uri` changes.
        let read = concat!(
            r#"{"result":{"contents":[{"text":"a\"b\u00e9","uri":"file:\/\/\/a\u0020b","n":12345678901234567890,"f":1.10,"_meta":{"z":1,"a":{"y":2.50,"b":[1e2]}}},"#,
            r#" {"uri" : "file:///c", "blob":"AAA="}],"zeta":true,"alpha":null},"id":2,"jsonrpc":"2.0"}"#
        );
        let want = concat!(
            r#"{"result":{"contents":[{"text":"a\"b\u00e9","uri":"file://c_/a b","n":12345678901234567890,"f":1.10,"_meta":{"z":1,"a":{"y":2.50,"b":[1e2]}}},"#,
            r#" {"uri" : "file://c_/c", "blob":"AAA="}],"zeta":true,"alpha":null},"id":2,"jsonrpc":"2.0"}"#
        );
        exact(read, true, want);
        // A URI with a quote and a backslash is encoded back as a JSON string.
        exact(
            r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"x:\"q\\","z":0.1}]}}"#,
            true,
            r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"x:c_\"q\\","z":0.1}]}}"#,
        );
    }

    #[test]
    fn task_ids_are_spliced_keeping_every_other_byte() {
        exact(
            r#"{"id":1,"result":{"z":18446744073709551616,"task":{"status":"working","taskId":"7","ttl":1.10}},"jsonrpc":"2.0"}"#,
            false,
            r#"{"id":1,"result":{"z":18446744073709551616,"task":{"status":"working","taskId":"calc:7","ttl":1.10}},"jsonrpc":"2.0"}"#,
        );
        exact(
            r#"{"jsonrpc":"2.0","id":1,"result":{"tasks":[{"taskId":"1","b":2.0},{"taskId":"t\u00e9"}],"nextCursor":null}}"#,
            false,
            r#"{"jsonrpc":"2.0","id":1,"result":{"tasks":[{"taskId":"calc:1","b":2.0},{"taskId":"calc:té"}],"nextCursor":null}}"#,
        );
        // A server request: its id and its related task both change, nothing else.
        exact(
            r#"{"params":{"x":1.10,"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"7"},"a":1}},"id":3,"method":"elicitation/create","jsonrpc":"2.0"}"#,
            false,
            r#"{"params":{"x":1.10,"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"calc:7"},"a":1}},"id":"calc:3","method":"elicitation/create","jsonrpc":"2.0"}"#,
        );
        exact(
            r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"status":"completed","taskId":"7","n":12345678901234567890}}"#,
            false,
            r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"status":"completed","taskId":"calc:7","n":12345678901234567890}}"#,
        );
    }

    #[test]
    fn odd_shapes_pass_without_a_panic() {
        for data in [
            r#"{"jsonrpc":"2.0","id":2,"result":{"contents":{"uri":"file:///a"}}}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[1,"x",null,{"uri":7}]}}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"file:///a"}]"#,
            r#"{"jsonrpc":"2.0","id":2,"result":[{"contents":[{"uri":"file:///a"}]}]}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"task":"x","tasks":{"taskId":"1"},"_meta":[]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"tasks":[{"taskId":"1"},{"taskId":"1","taskId":"2"}]}}"#,
        ] {
            assert_eq!(CALC.rewrite(data, true), None, "{data}");
        }
    }

    #[test]
    fn everything_else_passes() {
        for data in [
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"taskId"}]}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"taskId":7}}"#,
            "not json",
            "",
        ] {
            assert_eq!(CALC.rewrite(data, true), None, "{data}");
        }
    }
}
