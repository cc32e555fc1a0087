//! The echo server and the load generator in one process, against each other for about a
//! second: sessions open, calls succeed in both loop modes, and the backend's counters agree
//! with what the load generator sent.

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway_bench::echo::{EchoOptions, EchoServer, EchoStats};
use mcp_gateway_bench::loadgen::{
    Batch, Call, ClosedLoop, Conn, OpenLoop, Session, Target, get, open_sessions, run_batch,
    run_closed, run_open,
};
use tokio::sync::oneshot;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn stats(target: &Target) -> EchoStats {
    let stats = target.with_path("/stats");
    let mut conn = Conn::open(stats.addr()).await.expect("connect");
    let reply = conn.send(get(&stats)).await.expect("stats");
    serde_json::from_slice(&reply.body).expect("stats JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_drives_the_echo_server() {
    let options = EchoOptions {
        tools: 3,
        ..EchoOptions::default()
    };
    let server = EchoServer::bind("127.0.0.1:0".parse().expect("addr"), options)
        .await
        .expect("bind");
    let url = server.url(0);
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        stopped.await.ok();
    }));
    let target = Target::resolve(&url).await.expect("target");

    let opened = open_sessions(&target, 8, 4, TIMEOUT).await;
    assert_eq!(opened.sessions.len(), 8, "{:?}", opened.run.summary());
    let sessions: Arc<[Session]> = opened.sessions.into();
    let call = Call::tool("echo", r#"{"text":"hi"}"#).expect("call");

    let closed = ClosedLoop {
        concurrency: 4,
        duration: Duration::from_millis(500),
        timeout: TIMEOUT,
    };
    let closed = run_closed(&target, sessions.clone(), &call, closed)
        .await
        .expect("closed loop")
        .summary();
    assert!(closed.errors.is_empty(), "{closed:?}");
    assert!(closed.ok > 100, "{closed:?}");

    let open = OpenLoop {
        rate: 400.0,
        duration: Duration::from_millis(500),
        timeout: TIMEOUT,
        max_connections: 16,
    };
    let open = run_open(&target, sessions.clone(), &call, open)
        .await
        .expect("open loop")
        .summary();
    assert_eq!((open.ok, open.requests), (200, 200), "{open:?}");
    assert!(open.send_lag_us.is_some());
    assert!(
        open.latency_us.p50 > 0.0 && open.latency_us.p50 < 100_000.0,
        "{open:?}"
    );

    // An unknown tool is an error the load generator reports by its JSON-RPC code.
    let unknown = Call::tool("nope", "{}").expect("call");
    let batch = Batch {
        concurrency: 2,
        timeout: TIMEOUT,
        together: false,
        prime: false,
    };
    let work = sessions
        .iter()
        .map(|s| (s.clone(), unknown.clone()))
        .collect();
    let failed = run_batch(&target, work, batch).await.summary();
    assert_eq!(failed.errors.get("rpc_-32602"), Some(&8), "{failed:?}");

    // Every session's first calls released together, each on its own primed connection.
    let together = Batch {
        together: true,
        prime: true,
        ..batch
    };
    let work = sessions.iter().map(|s| (s.clone(), call.clone())).collect();
    let storm = run_batch(&target, work, together).await.summary();
    assert_eq!((storm.ok, storm.requests), (8, 8), "{storm:?}");

    let counted = stats(&target).await.total;
    assert_eq!(counted.initialize, 8);
    assert_eq!(counted.sessions, 8);
    assert_eq!(counted.rejected, 0);
    assert_eq!(counted.tools_call, closed.requests + open.requests + 8 + 8);
    assert_eq!(counted.tools_list, 8);

    stop.send(()).ok();
    serving.await.expect("join").expect("serve");
}
