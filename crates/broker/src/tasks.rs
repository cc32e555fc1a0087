//! `tasks/list` (MCP 2025-11-25): the tasks of every backend the client's session has used.
//!
//! A task lives in the backend session that created it, so only backends the session has
//! opened and that declared `tasks.list` are asked. Each backend's pages are followed to the
//! end and its task ids become the gateway's (`<server>:<task id>`, see
//! `mcp_gateway_protocol::tasks`), which `tasks/get|result|cancel` route back by.

use mcp_gateway_identity::Caller;
use mcp_gateway_protocol::tasks as task_ids;
use serde_json::{Value, json};
use tracing::debug;

use crate::{BrokerError, BrokerState};

/// Most pages read from one backend, against a backend that never stops paging.
const MAX_PAGES: usize = 100;

/// The `result` of `tasks/list`: every task, in one page. A backend that cannot be reached is
/// left out (its tasks cannot be acted on through it either). Requests carry `caller`'s
/// credential.
pub(crate) async fn list(
    state: &BrokerState,
    session: &str,
    caller: Option<&Caller>,
) -> Result<String, BrokerError> {
    let config = state.config.load();
    let catalog = state.catalog.load();
    let mut all = Vec::new();
    for server in config.enabled_servers() {
        let lists = catalog
            .server(&server.name)
            .is_some_and(|s| s.capabilities.pointer("/tasks/list").is_some());
        if !lists {
            continue;
        }
        let backend = match state.sessions().lookup(session, &server.name).await {
            Ok(Some((_, Some(backend)))) => backend,
            Ok(_) => continue,
            Err(e) => return Err(e.into()),
        };
        let upstream = match state.caller_upstream(server, caller).await {
            Ok(upstream) => upstream,
            Err(e) => {
                debug!(server = %server.name, error = %e, "tasks/list failed");
                continue;
            }
        };
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map(|c| json!({ "cursor": c }));
            let page = match upstream
                .request(&server.url, &backend, "tasks/list", params)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    debug!(server = %server.name, error = %e, "tasks/list failed");
                    break;
                }
            };
            if let Some(Value::Array(tasks)) = page.get("tasks") {
                all.extend(tasks.iter().cloned().map(|mut task| {
                    if let Some(Value::String(id)) = task.get_mut("taskId") {
                        *id = task_ids::encode(&server.name, id);
                    }
                    task
                }));
            }
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
    }
    Ok(json!({ "tasks": all }).to_string())
}
