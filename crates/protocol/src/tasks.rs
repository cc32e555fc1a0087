//! Task ids (MCP 2025-11-25 tasks), made unique within a gateway session.
//!
//! Each backend names its own tasks, and two backends may both hand out task `1`. The client
//! sees `<server>:<backend task id>`; a `tasks/get`, `tasks/result` or `tasks/cancel` with such
//! an id is routed to `<server>` with the backend's id restored. Server names cannot contain
//! `:`, so the first `:` splits the two unambiguously (the backend's id may contain `:`).

/// The `_meta` key that ties a message to the task it belongs to.
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// The gateway's id for `server`'s task `task_id`.
pub fn encode(server: &str, task_id: &str) -> String {
    let mut out = String::with_capacity(server.len() + task_id.len() + 1);
    out.push_str(server);
    out.push(':');
    out.push_str(task_id);
    out
}

/// The server and the backend's task id behind a gateway task id; `None` when it is not one
/// of the gateway's.
pub fn decode(gateway_id: &str) -> Option<(&str, &str)> {
    let (server, task_id) = gateway_id.split_once(':')?;
    (!server.is_empty() && !task_id.is_empty()).then_some((server, task_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_ids() {
        for (server, id) in [("a", "1"), ("calc", "f3b0:9c"), ("x.y-z", "task 7")] {
            assert_eq!(decode(&encode(server, id)), Some((server, id)));
        }
        for foreign in ["", "1", ":1", "a:", "nocolon"] {
            assert_eq!(decode(foreign), None, "{foreign}");
        }
        assert_ne!(encode("a", "1"), encode("b", "1"));
    }
}
