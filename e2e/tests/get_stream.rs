//! Through Envoy with two backends at once, over raw HTTP: the client's one GET stream
//! carries what the backends send outside a request (log messages, resource updates),
//! numbered by the gateway and resumable with `Last-Event-ID`, and the gateway's own
//! `list_changed` announcements when its aggregated lists change.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    DEADLINE, EventStream, ExternalServer, FIRST_TOOL, Gateway, GatewayOptions, LiveServer, Mode,
    RawClient, ServerKind, SseEvent, WATCHED_URI,
};
use serde_json::{Value, json};

/// The log messages of the fixture's `test_tool_with_logging`, in order.
const LOG_MESSAGES: [&str; 3] = [
    "Tool execution started",
    "Tool processing data",
    "Tool execution completed",
];

/// How long a message the gateway should relay may take to show on the stream.
const RELAY_WAIT: Duration = Duration::from_secs(10);

/// The text of a `notifications/message` event.
fn log_text(event: &SseEvent) -> Option<String> {
    let message = event.message()?;
    if message.get("method")? != "notifications/message" {
        return None;
    }
    message.pointer("/params/data")?.as_str().map(str::to_owned)
}

/// The event's id, which must be a gateway stream id (`g<n>`).
fn gateway_id(event: &SseEvent) -> Result<&str> {
    let id = event
        .id
        .as_deref()
        .with_context(|| format!("an event without an id: {event:?}"))?;
    ensure!(
        id.strip_prefix('g')
            .is_some_and(|n| n.parse::<u64>().is_ok()),
        "{id:?} is not a gateway stream id (g<n>): {event:?}"
    );
    Ok(id)
}

/// Reads events until `count` log messages arrived; returns every event read.
async fn read_logs(stream: &mut EventStream, count: usize) -> Result<Vec<SseEvent>> {
    let mut events = Vec::new();
    let mut logs = 0;
    while logs < count {
        let event = stream
            .next_event(RELAY_WAIT)
            .await
            .with_context(|| format!("waiting for log message {} of {count}", logs + 1))?;
        if log_text(&event).is_some() {
            logs += 1;
        }
        events.push(event);
    }
    Ok(events)
}

async fn call_logging_tool(raw: &RawClient, session: &str, name: &str) -> Result<()> {
    let reply = raw.call_tool(Some(session), name, json!({})).await?;
    assert_eq!(
        reply.tool_text()?,
        "Tool with logging executed successfully",
        "{reply}"
    );
    Ok(())
}

async fn log_messages_of_both_backends_reach_the_get_stream_and_resume(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        conformance: &["a", "b"],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let mut stream = raw.open_stream(&session, None).await?;

    call_logging_tool(&raw, &session, "a_test_tool_with_logging").await?;
    call_logging_tool(&raw, &session, "b_test_tool_with_logging").await?;
    let events = read_logs(&mut stream, 2 * LOG_MESSAGES.len()).await?;

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        gateway_id(event)?;
        if let Some(text) = log_text(event) {
            *seen.entry(text).or_default() += 1;
        }
    }
    let expected: BTreeMap<String, usize> = LOG_MESSAGES
        .iter()
        .map(|text| ((*text).to_owned(), 2))
        .collect();
    assert_eq!(seen, expected, "each backend's three messages: {events:?}");
    let ids: Vec<&str> = events.iter().map(gateway_id).collect::<Result<_>>()?;
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids repeat: {ids:?}");

    // Disconnect, then resume after the first event: the rest again, the first not.
    drop(stream);
    let first = ids[0];
    let last = ids[ids.len() - 1];
    let mut resumed = raw.open_stream(&session, Some(first)).await?;
    let (end, replayed) = resumed
        .next_matching(RELAY_WAIT, |event| event.id.as_deref() == Some(last))
        .await
        .context("replaying up to the last event seen")?;
    let mut replay = replayed;
    replay.push(end);
    assert_eq!(
        replay,
        events[1..],
        "the resumed stream must replay exactly the events after {first}"
    );

    // The resumed stream is live: new messages follow with new ids.
    call_logging_tool(&raw, &session, "a_test_tool_with_logging").await?;
    let more = read_logs(&mut resumed, LOG_MESSAGES.len()).await?;
    let texts: Vec<String> = more.iter().filter_map(log_text).collect();
    assert_eq!(texts, LOG_MESSAGES, "{more:?}");
    for event in &more {
        let id = gateway_id(event)?;
        ensure!(!ids.contains(&id), "{id} was already used: {more:?}");
    }

    // One stream at a time (no message goes out twice): a second fresh GET is refused,
    // a resuming one replaces the open stream, which ends.
    let refused = raw.open_stream(&session, None).await.err();
    ensure!(
        refused
            .as_ref()
            .is_some_and(|e| format!("{e:#}").contains("409")),
        "a second GET stream must get 409: {refused:?}"
    );
    let _replacing = raw.open_stream(&session, Some(last)).await?;
    let ended = resumed.next_event(RELAY_WAIT).await;
    ensure!(
        ended
            .as_ref()
            .is_err_and(|e| format!("{e:#}").contains("ended")),
        "the replaced stream must end: {ended:?}"
    );
    Ok(())
}

async fn adding_a_server_announces_the_changed_tool_list(mode: Mode) -> Result<()> {
    let mut gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc],
        conformance: &["a"],
        ..GatewayOptions::default()
    })
    .await?;
    gateway.add_backend(ServerKind::Text).await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let mut stream = raw.open_stream(&session, None).await?;
    let before = raw.tool_names(&session).await?;
    ensure!(
        !before.iter().any(|name| name.starts_with("text_")),
        "{before:?}"
    );

    gateway.write_config(&gateway.config_yaml_of(&["a", "calc", "text"])?)?;
    let (changed, _) = stream
        .next_matching(DEADLINE, |event| {
            event.method().as_deref() == Some("notifications/tools/list_changed")
        })
        .await
        .context("waiting for tools/list_changed after adding text")?;
    gateway_id(&changed)?;

    // The announcement follows the change: the very next list has text's tools.
    let after = raw.tool_names(&session).await?;
    for tool in ServerKind::Text.exposed_tools() {
        ensure!(after.contains(&tool), "{tool} missing from {after:?}");
    }
    ensure!(after.is_superset(&before), "{before:?} -> {after:?}");
    let reply = raw
        .call_tool(Some(&session), "text_upper", json!({"text": "abc"}))
        .await?;
    assert_eq!(reply.tool_text()?, "ABC");
    Ok(())
}

async fn a_backend_announcing_new_tools_is_relisted_at_once(mode: Mode) -> Result<()> {
    let live = LiveServer::start().await?;
    let url = live.url();
    let gateway = Gateway::start(GatewayOptions {
        mode,
        conformance: &["a"],
        external: &[ExternalServer {
            name: "live",
            url: &url,
        }],
        // Only the backend's announcement can make the gateway re-list in time.
        discovery_interval: Some("1h"),
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let mut stream = raw.open_stream(&session, None).await?;
    let before = raw.tool_names(&session).await?;
    ensure!(before.contains(&format!("live_{FIRST_TOOL}")), "{before:?}");

    let told = live.add_tool("goodbye").await?;
    ensure!(told > 0, "the live server has no session to tell");
    let (changed, _) = stream
        .next_matching(RELAY_WAIT, |event| {
            event.method().as_deref() == Some("notifications/tools/list_changed")
        })
        .await
        .context("waiting for tools/list_changed after the backend announced a new tool")?;
    gateway_id(&changed)?;

    let after = raw.tool_names(&session).await?;
    ensure!(after.contains("live_goodbye"), "{after:?}");
    ensure!(after.is_superset(&before), "{before:?} -> {after:?}");
    let reply = raw
        .call_tool(Some(&session), "live_goodbye", json!({}))
        .await?;
    assert_eq!(reply.tool_text()?, "goodbye ran");
    Ok(())
}

async fn resource_updates_name_the_gateway_uri(mode: Mode) -> Result<()> {
    let live = LiveServer::start().await?;
    let url = live.url();
    let gateway = Gateway::start(GatewayOptions {
        mode,
        conformance: &["a"],
        external: &[ExternalServer {
            name: "live",
            url: &url,
        }],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let mut stream = raw.open_stream(&session, None).await?;

    let exposed = "file://live_/watched.txt";
    let listed = raw
        .request(Some(&session), 3, "resources/list", json!({}))
        .await?;
    let uris: Vec<&str> = listed
        .result()?
        .get("resources")
        .and_then(Value::as_array)
        .with_context(|| format!("no resources in {listed}"))?
        .iter()
        .filter_map(|resource| resource.get("uri").and_then(Value::as_str))
        .collect();
    ensure!(uris.contains(&exposed), "{uris:?}");

    // Both backends have a subscribable resource; only the live one changes.
    for uri in [exposed, "test://a_watched-resource"] {
        let reply = raw
            .request(
                Some(&session),
                4,
                "resources/subscribe",
                json!({"uri": uri}),
            )
            .await?;
        reply
            .result()
            .with_context(|| format!("resources/subscribe {uri}"))?;
    }
    assert_eq!(live.subscribed_uris(), [WATCHED_URI]);

    let told = live.touch(WATCHED_URI).await;
    assert_eq!(told, 1, "one session subscribed");
    let (updated, skipped) = stream
        .next_matching(RELAY_WAIT, |event| {
            event.method().as_deref() == Some("notifications/resources/updated")
        })
        .await
        .context("waiting for notifications/resources/updated")?;
    gateway_id(&updated)?;
    let message = updated.message().context("not JSON")?;
    assert_eq!(
        message.pointer("/params/uri").and_then(Value::as_str),
        Some(exposed),
        "{message}"
    );
    ensure!(
        skipped
            .iter()
            .all(|event| event.method().as_deref() != Some("notifications/resources/updated")),
        "{skipped:?}"
    );
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    multi_thread:
    log_messages_of_both_backends_reach_the_get_stream_and_resume,
    adding_a_server_announces_the_changed_tool_list,
    a_backend_announcing_new_tools_is_relisted_at_once,
    resource_updates_name_the_gateway_uri,
);
