//! The official TypeScript MCP SDK on both ends, through Envoy: its client
//! (`e2e/node/client.mjs`) against the gateway in front of two SDK servers with MCP
//! Tasks (`e2e/node/tasks-server.mjs`, called `ta` and `tb`) and an rmcp example
//! server. Both tasks servers number their tasks "1", "2", ... so the gateway has to
//! keep their ids apart (`ta:1`, `tb:1`); the same holds for the requests they send the
//! client while a tool runs (roots/list, URL elicitation, ping), whose ids both count
//! from 0. Each client scenario also runs against one tasks server directly, so a
//! failure through the gateway is the gateway's.
//!
//! Needs `npm ci --prefix e2e/node` (`make test` and `make e2e` run it).

use anyhow::{Context, Result};
use mcp_gateway_e2e::{Gateway, GatewayOptions, ServerKind, TasksServer, run_client};
use serde_json::{Value, json};

/// JSON-RPC "invalid params".
const INVALID_PARAMS: i64 = -32602;

/// MCP "URL elicitation required" (2025-11-25).
const URL_ELICITATION_REQUIRED: i64 = -32042;

/// The tools of a tasks server that send the client requests while they run.
const CLIENT_REQUEST_TOOLS: [&str; 7] = [
    "ask_name",
    "ask_url",
    "interview",
    "list_roots",
    "needs_url",
    "ping_client",
    "sample",
];

/// The name of the client in `e2e/node/client.mjs`, which also names its root.
const CLIENT_NAME: &str = "mcp-gateway-e2e-ts";

/// The tasks capability of a tasks server, and so of the gateway in front of one.
fn tasks_capability() -> Value {
    json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
}

/// What the `tasks` scenario should observe.
struct Expected<'a> {
    /// The tool-name prefix of each tasks server, in order (`""` directly).
    prefixes: &'a [&'a str],
    /// Per `slow_echo` tool, in name order: its task id and the text of its result.
    slow: &'a [(&'a str, &'a str)],
    /// The `wait_forever` task: its tool and task id.
    forever: (&'a str, &'a str),
}

/// `(name, taskSupport)` of each tool whose name ends with one of the tasks server's.
fn task_tools(observed: &Value) -> Vec<(String, Value)> {
    let mut tools: Vec<(String, Value)> = observed["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let name = tool["name"].as_str()?;
            (name.ends_with("slow_echo") || name.ends_with("wait_forever"))
                .then(|| (name.to_owned(), tool["taskSupport"].clone()))
        })
        .collect();
    tools.sort_by(|a, b| a.0.cmp(&b.0));
    tools
}

/// The task tools of servers with these prefixes, as `tools/list` shows them.
fn expected_task_tools(prefixes: &[&str]) -> Vec<(String, Value)> {
    let mut tools: Vec<(String, Value)> = prefixes
        .iter()
        .flat_map(|prefix| {
            [
                (format!("{prefix}slow_echo"), json!("optional")),
                (format!("{prefix}wait_forever"), json!("required")),
            ]
        })
        .collect();
    tools.sort_by(|a, b| a.0.cmp(&b.0));
    tools
}

/// `[{taskId, status}]` sorted by id.
fn sorted_tasks(tasks: &Value) -> Vec<Value> {
    let mut tasks: Vec<Value> = tasks.as_array().cloned().unwrap_or_default();
    tasks.sort_by(|a, b| a["taskId"].as_str().cmp(&b["taskId"].as_str()));
    tasks
}

fn assert_tasks_scenario(observed: &Value, expected: &Expected<'_>) -> Result<()> {
    // Printed only when the test fails.
    eprintln!("tasks scenario observed: {observed:#}");
    assert_eq!(
        observed["capabilities"],
        tasks_capability(),
        "capabilities.tasks"
    );
    assert_eq!(
        task_tools(observed),
        expected_task_tools(expected.prefixes),
        "execution.taskSupport passes through tools/list"
    );

    // The SDK's callToolStream: create, poll tasks/get until completed, tasks/result.
    let calls = observed["calls"].as_array().context("no calls")?;
    assert_eq!(
        calls.len(),
        expected.slow.len(),
        "one call per slow_echo tool"
    );
    for (call, (task_id, text)) in calls.iter().zip(expected.slow) {
        let tool = &call["tool"];
        assert_eq!(
            call["error"],
            Value::Null,
            "{tool}: the stream ended in an error"
        );
        assert_eq!(
            call["taskId"], *task_id,
            "{tool}: CreateTaskResult task.taskId"
        );
        assert_eq!(call["text"], *text, "{tool}: tasks/result text");
        assert_eq!(
            call["relatedTaskId"], *task_id,
            "{tool}: tasks/result _meta related-task id"
        );
        let statuses: Vec<&str> = call["statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let (last, before) = statuses
            .split_last()
            .with_context(|| format!("{tool}: no tasks/get status"))?;
        assert_eq!(*last, "completed", "{tool}: last tasks/get status");
        assert!(
            before.iter().all(|status| *status == "working"),
            "{tool}: tasks/get statuses {statuses:?}"
        );
    }

    // tasks/get and tasks/result again, by the id the call returned.
    let finished: Vec<Value> = expected
        .slow
        .iter()
        .map(|(task_id, text)| {
            json!({
                "taskId": task_id,
                "get": {"taskId": task_id, "status": "completed"},
                "result": {"text": text, "relatedTaskId": task_id},
            })
        })
        .collect();
    assert_eq!(
        observed["finished"],
        json!(finished),
        "tasks/get, tasks/result"
    );

    let (forever_tool, forever_id) = expected.forever;
    assert_eq!(
        observed["cancel"],
        json!({
            "tool": forever_tool,
            "taskId": forever_id,
            "created": "working",
            "before": "working",
            "cancelled": {"taskId": forever_id, "status": "cancelled"},
            "after": {"taskId": forever_id, "status": "cancelled"},
        }),
        "tasks/cancel"
    );

    let mut listed: Vec<Value> = expected
        .slow
        .iter()
        .map(|(task_id, _)| json!({"taskId": task_id, "status": "completed"}))
        .collect();
    listed.push(json!({"taskId": forever_id, "status": "cancelled"}));
    listed.sort_by(|a, b| a["taskId"].as_str().cmp(&b["taskId"].as_str()));
    assert_eq!(
        sorted_tasks(&observed["list"]["tasks"]),
        listed,
        "tasks/list"
    );
    assert_eq!(observed["list"]["pages"], 1, "tasks/list in one page");

    assert_eq!(
        observed["unknown"],
        json!({"get": INVALID_PARAMS, "result": INVALID_PARAMS, "cancel": INVALID_PARAMS}),
        "tasks/get, tasks/result, tasks/cancel of an unknown task id"
    );

    // Each server announces the completion of its slow task (on the GET stream).
    let notifications = observed["notifications"]
        .as_array()
        .context("no notifications")?;
    for (task_id, _) in expected.slow {
        let completed = json!({"taskId": task_id, "status": "completed"});
        assert!(
            notifications.contains(&completed),
            "no notifications/tasks/status {completed} among {notifications:?}"
        );
    }
    let known: Vec<&str> = expected
        .slow
        .iter()
        .map(|(task_id, _)| *task_id)
        .chain([forever_id])
        .collect();
    for notification in notifications {
        let task_id = notification["taskId"].as_str().unwrap_or_default();
        assert!(
            known.contains(&task_id),
            "notifications/tasks/status with an id the client was never given: {notification}"
        );
    }
    Ok(())
}

/// Two tasks servers, `ta` and `tb`.
async fn tasks_servers() -> Result<(TasksServer, TasksServer)> {
    tokio::try_join!(TasksServer::start("ta"), TasksServer::start("tb"))
}

#[tokio::test]
async fn the_client_scenario_holds_against_one_tasks_server_directly() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let observed = run_client(server.url(), "tasks", &[]).await?;
    assert_tasks_scenario(
        &observed,
        &Expected {
            prefixes: &[""],
            slow: &[("1", "ta echoes: hello slow_echo")],
            forever: ("wait_forever", "2"),
        },
    )
}

#[tokio::test]
async fn the_typescript_client_works_through_the_gateway() -> Result<()> {
    let (ta, tb) = tasks_servers().await?;
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        external: &[ta.external(), tb.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let observed = run_client(
        &gateway.mcp_url(),
        "basics",
        &[
            "calc_add",
            r#"{"a": 2, "b": 3}"#,
            "ta_slow_echo",
            r#"{"text": "plain", "delayMs": 100}"#,
        ],
    )
    .await?;
    eprintln!("basics scenario observed: {observed:#}");

    assert_eq!(observed["protocolVersion"], "2025-11-25");
    assert_eq!(observed["capabilities"]["tasks"], tasks_capability());
    let mut names: Vec<&str> = observed["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<String> = ServerKind::Calc
        .exposed_tools()
        .chain(
            expected_task_tools(&["ta_", "tb_"])
                .into_iter()
                .map(|(name, _)| name),
        )
        .chain(
            ["ta_", "tb_"]
                .into_iter()
                .flat_map(|prefix| CLIENT_REQUEST_TOOLS.map(|tool| format!("{prefix}{tool}"))),
        )
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected, "tools/list");
    assert_eq!(task_tools(&observed), expected_task_tools(&["ta_", "tb_"]));
    // A plain call of a tool that may run as a task: the server runs it to the end.
    assert_eq!(
        observed["calls"],
        json!([
            {"name": "calc_add", "text": "5", "isError": false},
            {"name": "ta_slow_echo", "text": "ta echoes: plain", "isError": false},
        ])
    );
    Ok(())
}

#[tokio::test]
async fn tasks_of_two_servers_with_the_same_ids_stay_apart() -> Result<()> {
    let (ta, tb) = tasks_servers().await?;
    let gateway = Gateway::start(GatewayOptions {
        external: &[ta.external(), tb.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let observed = run_client(&gateway.mcp_url(), "tasks", &[]).await?;
    assert_tasks_scenario(
        &observed,
        &Expected {
            prefixes: &["ta_", "tb_"],
            slow: &[
                ("ta:1", "ta echoes: hello ta_slow_echo"),
                ("tb:1", "tb echoes: hello tb_slow_echo"),
            ],
            forever: ("ta_wait_forever", "ta:2"),
        },
    )
}

#[tokio::test]
async fn resources_read_answers_with_the_uri_the_client_asked_for() -> Result<()> {
    let (ta, tb) = tasks_servers().await?;
    let gateway = Gateway::start(GatewayOptions {
        external: &[ta.external(), tb.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let observed = run_client(&gateway.mcp_url(), "resources", &[]).await?;
    eprintln!("resources scenario observed: {observed:#}");

    let mut uris: Vec<&str> = observed["uris"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    uris.sort_unstable();
    assert_eq!(uris, ["file://ta_/notes.txt", "file://tb_/notes.txt"]);
    let mut reads = observed["reads"].as_array().cloned().unwrap_or_default();
    reads.sort_by(|a, b| a["uri"].as_str().cmp(&b["uri"].as_str()));
    assert_eq!(
        reads,
        [
            json!({
                "uri": "file://ta_/notes.txt",
                "contents": [{"uri": "file://ta_/notes.txt", "text": "Notes of the ta server."}],
            }),
            json!({
                "uri": "file://tb_/notes.txt",
                "contents": [{"uri": "file://tb_/notes.txt", "text": "Notes of the tb server."}],
            }),
        ],
        "resources/read: contents[].uri is the exposed URI, the text the owner's"
    );
    Ok(())
}

/// `values` in a fixed order (by their JSON text), for comparing sets.
fn sorted(values: &Value) -> Vec<Value> {
    let mut values = values.as_array().cloned().unwrap_or_default();
    values.sort_by_key(Value::to_string);
    values
}

/// Checks the `server-requests` scenario against `servers` (`(name, tool prefix)`, in
/// prefix order), where `id(server, n)` is the id the client sees for that server's
/// `n`th request of the session (each server counts from 0).
fn assert_server_requests_scenario(
    observed: &Value,
    servers: &[(&str, &str)],
    id: impl Fn(&str, u64) -> Value,
) {
    // Printed only when the test fails.
    eprintln!("server-requests scenario observed: {observed:#}");
    let each = |expected: &dyn Fn(&str, &str) -> Value| -> Value {
        servers
            .iter()
            .map(|(server, prefix)| expected(server, prefix))
            .collect()
    };

    // roots/list of every server at once, each answered with the id it was asked by.
    assert_eq!(
        observed["roots"],
        each(&|server, prefix| json!({
            "tool": format!("{prefix}list_roots"),
            "isError": false,
            "value": [{
                "uri": format!("file:///{CLIENT_NAME}/"),
                "name": format!("{CLIENT_NAME}, asked as {}", id(server, 0)),
            }],
        })),
        "each list_roots tool got the answer to its own roots/list"
    );
    assert_eq!(
        sorted(&observed["rootsRequests"]["ids"]),
        sorted(&each(&|server, _| id(server, 0))),
        "the ids of the roots/list requests: every server's first request, told apart"
    );
    assert_eq!(
        observed["rootsRequests"]["mostPending"],
        servers.len(),
        "all roots/list requests were pending at once"
    );

    // URL elicitation, accepted; the completion notification follows.
    assert_eq!(
        observed["elicitations"],
        each(&|server, _| json!({
            "id": id(server, 1),
            "mode": "url",
            "message": format!("{server} needs your consent"),
            "url": format!("https://example.com/{server}/consent?id={server}-url-1"),
            "elicitationId": format!("{server}-url-1"),
        })),
        "elicitation/create in URL mode, as the client received it"
    );
    assert_eq!(
        observed["askUrl"],
        each(&|server, prefix| json!({
            "tool": format!("{prefix}ask_url"),
            "isError": false,
            "value": {"elicitationId": format!("{server}-url-1"), "action": "accept"},
        })),
        "the client's accept reached the server that asked"
    );
    assert_eq!(
        observed["completed"],
        each(&|server, _| json!(format!("{server}-url-1"))),
        "notifications/elicitation/complete"
    );

    // The URL-elicitation-required error, code and data intact.
    assert_eq!(
        observed["needsUrl"],
        each(&|server, prefix| json!({
            "tool": format!("{prefix}needs_url"),
            "code": URL_ELICITATION_REQUIRED,
            "data": {"elicitations": [{
                "mode": "url",
                "message": format!("{server} needs authorization"),
                "url": format!("https://example.com/{server}/authorize"),
                "elicitationId": format!("{server}-authorize"),
            }]},
        })),
        "tools/call failing with -32042"
    );

    // ping on the call's stream and on the session's GET stream, answered by the SDK.
    assert_eq!(
        observed["ping"],
        each(&|_, prefix| json!({
            "tool": format!("{prefix}ping_client"),
            "isError": false,
            "value": {"callStream": "answered", "getStream": "answered"},
        })),
        "ping_client"
    );

    let expected_requests: Vec<Value> = servers
        .iter()
        .flat_map(|(server, _)| {
            ["roots/list", "elicitation/create", "ping", "ping"]
                .into_iter()
                .zip(0..)
                .map(|(method, n)| json!({"method": method, "id": id(server, n)}))
        })
        .collect();
    assert_eq!(
        sorted(&observed["requests"]),
        sorted(&json!(expected_requests)),
        "every request the servers sent, with the ids the client saw"
    );
}

#[tokio::test]
async fn the_server_requests_scenario_holds_against_one_tasks_server_directly() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let observed = run_client(server.url(), "server-requests", &[]).await?;
    assert_server_requests_scenario(&observed, &[("ta", "")], |_, n| json!(n));
    Ok(())
}

#[tokio::test]
async fn requests_of_two_servers_to_the_client_reach_it_and_their_answers_the_asker() -> Result<()>
{
    let (ta, tb) = tasks_servers().await?;
    let gateway = Gateway::start(GatewayOptions {
        external: &[ta.external(), tb.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let observed = run_client(&gateway.mcp_url(), "server-requests", &[]).await?;
    // Both servers' first request has id 0: the client sees `"ta:0"` and `"tb:0"`.
    assert_server_requests_scenario(&observed, &[("ta", "ta_"), ("tb", "tb_")], |server, n| {
        json!(format!("{server}:{n}"))
    });
    Ok(())
}
