//! Faults under load: three gateway replicas on one real Redis behind one real Envoy
//! (`Replicas`, the shape of `make run-ha`), a real example server, and several real rmcp
//! clients calling a tool back to back. Each test kills or restarts replicas while they
//! call, then reports calls attempted and failed, and why (`--nocapture` shows it).
//!
//! Bounded: each client makes at most `MAX_CALLS_PER_CLIENT` calls and stops when the
//! scenario ends (a few seconds); everything is on loopback.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::{Result, ensure};
use rmcp::{
    ClientHandler,
    model::{ClientCapabilities, ClientConfig, Implementation},
};
use serde_json::json;
use tokio::time::{Instant, sleep, timeout};

use mcp_gateway_e2e::{
    McpClient, Replicas, ServerKind, call_text, call_tool, connect_with, json_rpc_error,
};

/// Clients calling at once, each with its own gateway session.
const CLIENTS: usize = 4;
/// Upper bound on one client's calls in one test.
const MAX_CALLS_PER_CLIENT: usize = 5_000;
/// Pause between two calls of one client: steady load that leaves the two cores of a CI
/// machine some room.
const PAUSE: Duration = Duration::from_millis(5);
/// Load before the first fault and after each one.
const SETTLE: Duration = Duration::from_secs(2);

/// One call: when it started and ended, and why it failed.
struct Call {
    started: Instant,
    ended: Instant,
    error: Option<String>,
}

/// Clients calling `calc_add` until told to stop.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<(McpClient, Vec<Call>)>>,
}

impl Load {
    async fn start(replicas: &Replicas) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let session = replicas.client().await?;
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut calls = Vec::new();
                for n in 0..MAX_CALLS_PER_CLIENT {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let a = (client * MAX_CALLS_PER_CLIENT + n) as u64;
                    let started = Instant::now();
                    let result = call_text(&session, "calc_add", json!({"a": a, "b": 1})).await;
                    let error = match result {
                        Ok(sum) if sum == (a + 1).to_string() => None,
                        Ok(sum) => Some(format!("wrong sum {sum}")),
                        Err(e) => Some(format!("{e:#}")),
                    };
                    calls.push(Call {
                        started,
                        ended: Instant::now(),
                        error,
                    });
                    sleep(PAUSE).await;
                }
                (session, calls)
            }));
        }
        Ok(Self { stop, tasks })
    }

    async fn finish(self) -> Result<(Vec<McpClient>, Vec<Call>)> {
        self.stop.store(true, Ordering::Relaxed);
        let mut sessions = Vec::new();
        let mut calls = Vec::new();
        for task in self.tasks {
            let (session, done) = task.await?;
            sessions.push(session);
            calls.extend(done);
        }
        Ok((sessions, calls))
    }
}

/// A fault's window: from just before it was caused until it had happened.
type Window = (Instant, Instant);

/// Splits failures into those of calls in flight during a fault and the others; prints
/// the figures.
fn report(what: &str, calls: &[Call], faults: &[Window]) -> (usize, Vec<String>) {
    let in_flight = |call: &Call| {
        faults
            .iter()
            .any(|(from, to)| call.started <= *to && call.ended >= *from)
    };
    let failed: Vec<&Call> = calls.iter().filter(|call| call.error.is_some()).collect();
    let (during, other): (Vec<&Call>, Vec<&Call>) = failed.iter().partition(|call| in_flight(call));
    let reasons = |calls: &[&Call]| -> Vec<String> {
        calls.iter().filter_map(|call| call.error.clone()).collect()
    };
    // A reply the client could not match to its call (id null) shows as its own timeout.
    let hung = failed
        .iter()
        .filter(|call| {
            call.error
                .as_deref()
                .is_some_and(|e| e.contains("did not answer"))
        })
        .count();
    println!(
        "{what}: {} calls attempted by {CLIENTS} clients, {} failed ({hung} by the client's \
         timeout): {} in flight during a fault {:?}, {} at other times {:?}",
        calls.len(),
        failed.len(),
        during.len(),
        reasons(&during),
        other.len(),
        reasons(&other)
    );
    (during.len(), reasons(&other))
}

/// Every session still works: a last call on each.
async fn every_session_still_works(sessions: &[McpClient]) -> Result<()> {
    for session in sessions {
        let sum = call_text(session, "calc_add", json!({"a": 40, "b": 2})).await?;
        ensure!(sum == "42", "a session was lost: {sum}");
    }
    Ok(())
}

fn calls_after(calls: &[Call], instant: Instant) -> usize {
    calls.iter().filter(|call| call.started > instant).count()
}

#[tokio::test]
async fn kill_9_of_one_then_two_of_three_replicas_loses_no_session() -> Result<()> {
    let mut replicas = Replicas::start(3, &[ServerKind::Calc]).await?;
    let load = Load::start(&replicas).await?;
    let mut faults = Vec::new();
    for replica in [0, 1] {
        sleep(SETTLE).await;
        let from = Instant::now();
        replicas.kill(replica).await?;
        faults.push((from, Instant::now()));
    }
    sleep(SETTLE).await;
    let (sessions, calls) = load.finish().await?;

    let (during, after) = report("kill -9 of 1 then 2 of 3 replicas", &calls, &faults);
    ensure!(
        after.is_empty(),
        "calls not in flight on a killed replica failed: {after:?}"
    );
    // Each client has one call in flight at a time, so a kill fails at most one per client.
    ensure!(
        during <= CLIENTS * faults.len(),
        "{during} calls in flight failed, more than one per client per kill"
    );
    let last_kill = faults[1].1;
    // Clients whose call hung (see `report`) call nothing more for 20 s: count calls of all.
    ensure!(
        calls_after(&calls, last_kill) > 10,
        "too few calls after the second kill to tell"
    );
    every_session_still_works(&sessions).await
}

#[tokio::test]
async fn a_rolling_restart_of_every_replica_fails_no_call() -> Result<()> {
    let mut replicas = Replicas::start(3, &[ServerKind::Calc]).await?;
    let load = Load::start(&replicas).await?;
    let mut faults = Vec::new();
    sleep(SETTLE).await;
    for replica in 0..3 {
        let from = Instant::now();
        replicas.stop(replica).await?;
        replicas.restart(replica).await?;
        faults.push((from, Instant::now()));
    }
    sleep(SETTLE).await;
    let (sessions, calls) = load.finish().await?;

    let (during, after) = report("rolling restart of 3 replicas", &calls, &faults);
    ensure!(
        during == 0 && after.is_empty(),
        "a rolling restart must fail no call"
    );
    ensure!(
        calls_after(&calls, faults[2].1) > CLIENTS * 10,
        "too few calls after the restart to tell"
    );
    every_session_still_works(&sessions).await
}

/// A client that declares elicitation, so its calls take the route whose response the
/// router sees (a phase on a replica that may be gone by then).
#[derive(Clone, Default)]
struct Elicited;

impl ClientHandler for Elicited {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new("mcp-gateway-e2e-elicited", "0"),
        )
    }
}

/// How long an in-flight call may take to fail once its replica is gone (well under the
/// clients' own 20 s timeout, which is what a reply they cannot match costs them).
const PROMPT_FAILURE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_call_in_flight_when_its_replica_dies_gets_an_answer_it_can_match() -> Result<()> {
    let mut replicas = Replicas::start(1, &[ServerKind::Calc]).await?;
    let client = connect_with(&replicas.mcp_url(), Elicited).await?;
    // The backend session is open; then the server is frozen with its connections open, so
    // the next call has been routed (the router read its id) and waits at the server.
    ensure!(call_text(&client, "calc_add", json!({"a": 1, "b": 1})).await? == "2");
    let backend = replicas.backend("calc")?;
    backend.signal("STOP")?;
    let started = Instant::now();
    let in_flight = tokio::spawn(async move {
        let result = call_tool(&client, "calc_add", json!({"a": 2, "b": 2})).await;
        (client, result)
    });
    sleep(Duration::from_millis(500)).await;
    replicas.kill(0).await?;
    replicas.backend("calc")?.signal("CONT")?;

    let (_client, result) = timeout(PROMPT_FAILURE * 2, in_flight).await??;
    let elapsed = started.elapsed();
    let error = match result {
        Ok(result) => anyhow::bail!("the call succeeded without a router: {result:?}"),
        Err(error) => error,
    };
    println!("a call in flight on a dying replica: failed after {elapsed:?}: {error:#}");
    let data = json_rpc_error(&error)
        .ok_or_else(|| anyhow::anyhow!("not a JSON-RPC error matched to the call: {error:#}"))?;
    ensure!(data.code.0 == -32603, "unexpected code: {data:?}");
    ensure!(
        data.message
            .contains("replica handling this request stopped"),
        "unexpected message: {data:?}"
    );
    ensure!(elapsed < PROMPT_FAILURE, "the failure took {elapsed:?}");
    Ok(())
}
