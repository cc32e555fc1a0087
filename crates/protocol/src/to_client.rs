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
//! Ids and URIs that are not strings are left alone. The common cases splice bytes; task ids
//! and read contents (rare, and nested anywhere in a result) are rewritten on a parsed value,
//! only when the text mentions them at all.

use serde_json::Value;

use crate::{Kind, Message, server_request, splice_raw, splice_str, tasks, uri};

/// The backend a message came from.
#[derive(Clone, Copy, Debug)]
pub struct ToClient<'a> {
    /// Its server name.
    pub server: &'a str,
    /// Its prefix, which its resource URIs carry at the gateway.
    pub prefix: &'a str,
}

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
        let spliced = match msg.kind() {
            Kind::Request => {
                let id = server_request::encode(self.server, msg.id_raw()?);
                Some(splice_raw(data.as_bytes(), msg.id_range()?, &id))
            }
            Kind::Notification if msg.method() == Some("notifications/resources/updated") => {
                let field = msg.param_str(&["uri"])?;
                let exposed = uri::expose_uri(self.prefix, &field.value);
                Some(splice_str(data.as_bytes(), field.range, &exposed))
            }
            _ => None,
        };
        let status = msg.method() == Some("notifications/tasks/status");
        let text = match &spliced {
            Some(bytes) => std::str::from_utf8(bytes).ok()?,
            None => data,
        };
        let deep = text.contains("\"taskId\"") || (read_contents && text.contains("\"contents\""));
        if deep && let Some(rewritten) = self.rewrite_value(text, status, read_contents) {
            return Some(rewritten);
        }
        spliced.and_then(|bytes| String::from_utf8(bytes).ok())
    }

    /// Task ids and read contents, on the parsed message; `None` when nothing changed.
    fn rewrite_value(&self, text: &str, status: bool, read_contents: bool) -> Option<String> {
        let mut value: Value = serde_json::from_str(text).ok()?;
        let mut changed = false;
        if let Some(result) = value.get_mut("result") {
            changed |= self.task_id(result.get_mut("taskId"));
            changed |= self.task_id(result.pointer_mut("/task/taskId"));
            if let Some(list) = result.get_mut("tasks").and_then(Value::as_array_mut) {
                for task in list {
                    changed |= self.task_id(task.get_mut("taskId"));
                }
            }
            changed |= self.related_task(result);
            if read_contents
                && let Some(contents) = result.get_mut("contents").and_then(Value::as_array_mut)
            {
                for item in contents {
                    if let Some(Value::String(u)) = item.get_mut("uri") {
                        let exposed = uri::expose_uri(self.prefix, u);
                        changed |= exposed != *u;
                        *u = exposed;
                    }
                }
            }
        }
        if let Some(params) = value.get_mut("params") {
            if status {
                changed |= self.task_id(params.get_mut("taskId"));
            }
            changed |= self.related_task(params);
        }
        changed.then(|| value.to_string())
    }

    fn related_task(&self, holder: &mut Value) -> bool {
        let id = holder
            .get_mut("_meta")
            .and_then(|m| m.get_mut(tasks::RELATED_TASK))
            .and_then(|t| t.get_mut("taskId"));
        self.task_id(id)
    }

    fn task_id(&self, id: Option<&mut Value>) -> bool {
        match id {
            Some(Value::String(id)) => {
                *id = tasks::encode(self.server, id);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
