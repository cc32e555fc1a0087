//! The client's GET stream across replicas sharing sessions through a real Redis: two
//! replicas, each behind its own Envoy (so the test knows which replica serves what), one
//! live rmcp backend. What a backend sends on its own GET stream reaches the client's stream
//! whichever replica opened that backend session, a stream resumed with `Last-Event-ID` on
//! the other replica loses nothing and repeats nothing, and a server request sent while a
//! tool runs is answered by a POST to the other replica. And a real rmcp client across three
//! replicas behind one Envoy (round robin) hears a config reload's list change once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use mcp_gateway_e2e::{
    EventStream, ExternalServer, Gateway, GatewayOptions, LiveServer, PROTOCOL_VERSION, RawClient,
    RedisServer, Replicas, SESSION_HEADER, ServerKind, SseEvent, WATCHED_URI, call_text,
    connect_with, eventually, http_client,
};
use reqwest::StatusCode;
use rmcp::{ClientHandler, RoleClient, service::NotificationContext};

const KEY: &str = "e2e-replica-streams-share-this-key";
/// The live server's watched resource as the gateway exposes it.
const EXPOSED: &str = "file://live_/watched.txt";
/// How long a relayed message may take to show on the stream.
const RELAY_WAIT: Duration = Duration::from_secs(10);
const UPDATED: &str = "notifications/resources/updated";

async fn replica(live: &LiveServer, redis: &RedisServer) -> Result<Gateway> {
    let url = live.url();
    let external = [ExternalServer {
        name: "live",
        url: &url,
    }];
    let store = redis.url();
    Gateway::start(GatewayOptions {
        external: &external,
        gateway_args: &["--session-store", &store, "--session-key", KEY],
        ..GatewayOptions::default()
    })
    .await
}

async fn subscribe(client: &RawClient, session: &str) -> Result<()> {
    let reply = client
        .request(
            Some(session),
            7,
            "resources/subscribe",
            json!({"uri": EXPOSED}),
        )
        .await?;
    reply.result().context("resources/subscribe")?;
    Ok(())
}

fn is_update(event: &SseEvent) -> bool {
    event.method().as_deref() == Some(UPDATED)
}

/// The next `notifications/resources/updated`, checked to name the gateway's URI, with the
/// events skipped before it.
async fn next_update(stream: &mut EventStream) -> Result<(SseEvent, Vec<SseEvent>)> {
    let (event, skipped) = stream
        .next_matching(RELAY_WAIT, is_update)
        .await
        .context("waiting for notifications/resources/updated")?;
    let message = event.message().context("not JSON")?;
    ensure!(
        message.pointer("/params/uri").and_then(Value::as_str) == Some(EXPOSED),
        "{message}"
    );
    Ok((event, skipped))
}

/// The number `n` of a gateway stream id `g<n>`.
fn number(event: &SseEvent) -> Result<u64> {
    let id = event.id.as_deref().context("an event without an id")?;
    id.strip_prefix('g')
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("{id:?} is not a gateway stream id"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_session_opened_through_another_replica_reaches_the_stream() -> Result<()> {
    let redis = RedisServer::start().await?;
    let live = LiveServer::start().await?;
    let (a, b) = tokio::try_join!(replica(&live, &redis), replica(&live, &redis))?;
    let (a, b) = (a.raw()?, b.raw()?);

    let session = a.initialize().await?;
    let mut stream = a.open_stream(&session, None).await?;
    // B's router opens the backend session; A holds the client's stream.
    subscribe(&b, &session).await?;
    ensure!(live.touch(WATCHED_URI).await == 1, "one session subscribed");
    next_update(&mut stream).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_on_another_replica_loses_nothing_and_repeats_nothing() -> Result<()> {
    let redis = RedisServer::start().await?;
    let live = LiveServer::start().await?;
    let (a, b) = tokio::try_join!(replica(&live, &redis), replica(&live, &redis))?;
    let (a, b) = (a.raw()?, b.raw()?);

    let session = a.initialize().await?;
    subscribe(&a, &session).await?;
    let mut stream = a.open_stream(&session, None).await?;
    ensure!(live.touch(WATCHED_URI).await == 1);
    let (first, _) = next_update(&mut stream).await?;
    let first_id = first.id.clone().context("no id")?;

    // The client goes away; two updates happen while it is gone; it comes back on B.
    drop(stream);
    for _ in 0..2 {
        ensure!(live.touch(WATCHED_URI).await == 1);
    }
    let mut resumed = b.open_stream(&session, Some(&first_id)).await?;
    let mut seen = vec![number(&first)?];
    for _ in 0..2 {
        let (update, _) = next_update(&mut resumed)
            .await
            .context("an update made while the client was away")?;
        seen.push(number(&update)?);
    }

    // The resumed stream is live: a list change and one more update, each once.
    live.add_tool("later").await?;
    let (changed, _) = resumed
        .next_matching(RELAY_WAIT, |event| {
            event.method().as_deref() == Some("notifications/tools/list_changed")
        })
        .await
        .context("waiting for tools/list_changed on the resumed stream")?;
    seen.push(number(&changed)?);
    ensure!(live.touch(WATCHED_URI).await == 1);
    let (last, skipped) = next_update(&mut resumed).await?;
    ensure!(
        skipped.iter().all(|event| !is_update(event)
            && event.method().as_deref() != Some("notifications/tools/list_changed")),
        "an event came twice: {skipped:?}"
    );
    seen.push(number(&last)?);
    ensure!(
        seen.windows(2).all(|pair| pair[0] < pair[1]),
        "ids must grow, none repeated: {seen:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_request_during_a_call_is_answered_through_another_replica() -> Result<()> {
    let redis = RedisServer::start().await?;
    let store = redis.url();
    let args = ["--session-store", store.as_str(), "--session-key", KEY];
    // A starts the conformance fixture `a`; B routes to that same backend.
    let a = Gateway::start(GatewayOptions {
        conformance: &["a"],
        gateway_args: &args,
        ..GatewayOptions::default()
    })
    .await?;
    let url = a.backend("a")?.url();
    let b = Gateway::start(GatewayOptions {
        external: &[ExternalServer {
            name: "a",
            url: &url,
        }],
        gateway_args: &args,
        ..GatewayOptions::default()
    })
    .await?;
    let (raw_a, raw_b) = (a.raw()?, b.raw()?);

    let init = raw_a
        .request(
            None,
            0,
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"sampling": {}},
                "clientInfo": {"name": "mcp-gateway-e2e", "version": "0"},
            }),
        )
        .await?;
    let session = init.session_id().context("no session id")?.to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    raw_a.post(Some(&session), initialized.to_string()).await?;

    // The call runs through A; its answer is an event stream that carries the question.
    let call = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "a_test_sampling", "arguments": {"prompt": "from a"}},
    });
    let response = http_client()?
        .post(a.mcp_url())
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SESSION_HEADER, &session)
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .body(call.to_string())
        .send()
        .await?;
    ensure!(response.status() == StatusCode::OK, "{}", response.status());
    let mut events = EventStream::new(response);
    let (asked, _) = events
        .next_matching(RELAY_WAIT, |event| {
            event.method().as_deref() == Some("sampling/createMessage")
        })
        .await
        .context("waiting for sampling/createMessage")?;
    let id = asked.message().context("not JSON")?["id"].clone();
    ensure!(
        id.as_str().is_some_and(|id| id.starts_with("a:")),
        "a gateway id naming the server: {id}"
    );

    // The answer goes to B, which routes it to A's backend session from Redis.
    let answer = json!({
        "jsonrpc": "2.0", "id": id,
        "result": {
            "role": "assistant",
            "content": {"type": "text", "text": "reply to from a"},
            "model": "e2e", "stopReason": "endTurn",
        },
    });
    let posted = raw_b.post(Some(&session), answer.to_string()).await?;
    ensure!(posted.status == StatusCode::ACCEPTED, "{posted}");
    let (result, _) = events
        .next_matching(RELAY_WAIT, |event| {
            event.message().is_some_and(|m| m["id"] == json!(1))
        })
        .await
        .context("waiting for the call's result")?;
    let message = result.message().context("not JSON")?;
    ensure!(
        message
            .pointer("/result/content/0/text")
            .and_then(Value::as_str)
            == Some("LLM response: reply to from a"),
        "{message}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_relaying_replica_dies_the_other_resumes_the_backend_stream_where_it_was()
-> Result<()> {
    let redis = RedisServer::start().await?;
    let live = LiveServer::start().await?;
    let (mut a, b) = tokio::try_join!(replica(&live, &redis), replica(&live, &redis))?;
    let (raw_a, raw_b) = (a.raw()?, b.raw()?);

    let session = raw_a.initialize().await?;
    subscribe(&raw_a, &session).await?;
    let mut stream = raw_a.open_stream(&session, None).await?;
    ensure!(live.touch(WATCHED_URI).await == 1);
    let (first, _) = next_update(&mut stream).await?;
    let first_id = first.id.clone().context("no id")?;

    // A dies with the backend's stream; two updates wait at the backend meanwhile.
    a.kill_gateway().await?;
    drop(stream);
    for _ in 0..2 {
        live.touch(WATCHED_URI).await;
    }
    // B takes the backend's stream over once A's lease runs out, from where A was.
    let mut resumed = raw_b.open_stream(&session, Some(&first_id)).await?;
    let takeover = Duration::from_secs(30);
    let mut updates = Vec::new();
    while updates.len() < 2 {
        let (update, _) = resumed
            .next_matching(takeover, is_update)
            .await
            .context("an update sent while no replica read the backend's stream")?;
        updates.push(update);
    }
    // Then a list change: no other update may come before it (the first, seen on A, again).
    live.add_tool("later").await?;
    let (_, before) = resumed
        .next_matching(RELAY_WAIT, |event| {
            event.method().as_deref() == Some("notifications/tools/list_changed")
        })
        .await
        .context("waiting for tools/list_changed")?;
    ensure!(
        !before.iter().any(is_update),
        "an update came again after the takeover: {before:?}"
    );
    let mut seen = vec![number(&first)?];
    for update in &updates {
        seen.push(number(update)?);
    }
    ensure!(seen.windows(2).all(|p| p[0] < p[1]), "{seen:?}");
    Ok(())
}

/// An rmcp client handler that counts `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct ListChanges(Arc<AtomicUsize>);

impl ClientHandler for ListChanges {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rmcp_client_across_three_replicas_hears_a_reload_once() -> Result<()> {
    let replicas = Replicas::start(3, &[ServerKind::Calc, ServerKind::Text]).await?;
    let changes = ListChanges::default();
    let client = connect_with(&replicas.mcp_url(), changes.clone()).await?;
    // Calls go round robin over the replicas; the client's GET stream is on one of them.
    for _ in 0..6 {
        let sum = call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?;
        ensure!(sum == "5", "{sum}");
    }

    // Every replica reloads the config without `text`; the stream hears it once.
    let calc = replicas.backend("calc")?;
    let yaml = format!(
        "servers:\n  - name: calc\n    url: {}\n    hostname: {}\n    enabled: true\n    toolPrefix: {}\n",
        calc.url(),
        ServerKind::Calc.hostname(),
        ServerKind::Calc.tool_prefix(),
    );
    let path = replicas.config_path();
    let staged = path.with_extension("new");
    std::fs::write(&staged, yaml)?;
    std::fs::rename(&staged, path)?;
    eventually("tools/list_changed on the client's stream", || {
        let heard = changes.0.load(Ordering::SeqCst);
        async move {
            ensure!(heard >= 1, "none yet");
            Ok(())
        }
    })
    .await?;
    // Each replica notices the change within its discovery interval (500 ms): give them all
    // that time several times over, then count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let heard = changes.0.load(Ordering::SeqCst);
    ensure!(heard == 1, "one reload, {heard} announcements");
    let sum = call_text(&client, "calc_add", json!({"a": 1, "b": 1})).await?;
    ensure!(sum == "2", "{sum}");
    client.cancel().await?;
    Ok(())
}
