//! Discovery across replicas sharing a real Redis: one replica lists a backend and the
//! others take its published listing, so three replicas put about one replica's listing
//! load on the backend; when the listing replica dies another takes over, and the
//! backend's tools and changes still reach every replica's catalog. While Redis is down
//! every replica lists for itself.

use std::time::Duration;

use anyhow::{Result, ensure};

use mcp_gateway_e2e::{
    ExternalServer, FIRST_TOOL, Gateway, GatewayOptions, LiveServer, RedisServer, eventually,
    http_client,
};

const KEY: &str = "e2e-replica-discovery-share-this-key";
/// Each replica's `--discovery-interval`.
const INTERVAL: &str = "250ms";
/// How long the backend's `tools/list` requests are counted: many discovery intervals.
const WINDOW: Duration = Duration::from_secs(4);

async fn replica(live: &LiveServer, redis: &RedisServer) -> Result<Gateway> {
    let url = live.url();
    let external = [ExternalServer {
        name: "live",
        url: &url,
    }];
    let store = redis.url();
    Gateway::start(GatewayOptions {
        external: &external,
        discovery_interval: Some(INTERVAL),
        gateway_args: &["--session-store", &store, "--session-key", KEY],
        ..GatewayOptions::default()
    })
    .await
}

/// The backend's `tools/list` requests over [`WINDOW`].
async fn listed_in_window(live: &LiveServer) -> u64 {
    let before = live.tools_listed();
    tokio::time::sleep(WINDOW).await;
    live.tools_listed() - before
}

fn exposed(tool: &str) -> String {
    format!("live_{tool}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_list_a_backend_about_as_often_as_one() -> Result<()> {
    let live = LiveServer::start().await?;
    let redis = RedisServer::start().await?;
    let first = replica(&live, &redis).await?;
    first
        .wait_for_tools("the live server's tool", |names| {
            names.contains(&exposed(FIRST_TOOL))
        })
        .await?;
    let alone = listed_in_window(&live).await;
    ensure!(
        alone > 0,
        "one replica did not list the backend in {WINDOW:?}"
    );

    let mut others = Vec::new();
    for _ in 0..2 {
        let gateway = replica(&live, &redis).await?;
        gateway
            .wait_for_tools("the live server's tool", |names| {
                names.contains(&exposed(FIRST_TOOL))
            })
            .await?;
        others.push(gateway);
    }
    let three = listed_in_window(&live).await;
    // Each replica listing for itself makes this about 3 x `alone`.
    ensure!(
        three * 2 < alone * 3,
        "three replicas listed the backend {three} times in {WINDOW:?}, one alone {alone} times"
    );

    // A change on the backend reaches every replica's catalog.
    live.add_tool("second").await?;
    for gateway in std::iter::once(&first).chain(&others) {
        gateway
            .wait_for_tools("the added tool", |names| names.contains(&exposed("second")))
            .await?;
    }

    // The listing replica (the first, alone at first) dies without giving its lease up:
    // another takes over, keeps the tools listed and sees the next change.
    let mut first = first;
    first.kill_gateway().await?;
    live.add_tool("third").await?;
    for gateway in &others {
        gateway
            .wait_for_tools("every tool after the lister died", |names| {
                [FIRST_TOOL, "second", "third"]
                    .iter()
                    .all(|tool| names.contains(&exposed(tool)))
            })
            .await?;
    }
    let after = listed_in_window(&live).await;
    ensure!(after > 0, "nobody lists the backend after the lister died");
    ensure!(
        after * 2 < alone * 3,
        "two replicas listed the backend {after} times in {WINDOW:?}, one alone {alone} times"
    );
    Ok(())
}

/// Successful listings of the live server by `gateway` so far, from its `/metrics`.
async fn listings(gateway: &Gateway) -> Result<f64> {
    let text = http_client()?
        .get(gateway.admin_url("/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let series = "mcp_gateway_discovery_listings_total{server=\"live\",result=\"ok\"} ";
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix(series)?.parse().ok())
        .unwrap_or_default())
}

/// Which of `a` and `b` listed the backend during a second.
async fn who_lists(a: &Gateway, b: &Gateway) -> Result<(bool, bool)> {
    let before = (listings(a).await?, listings(b).await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok((listings(a).await? > before.0, listings(b).await? > before.1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_every_replica_lists_for_itself() -> Result<()> {
    let live = LiveServer::start().await?;
    let mut redis = RedisServer::start().await?;
    let a = replica(&live, &redis).await?;
    a.wait_for_tools("the live server's tool", |names| {
        names.contains(&exposed(FIRST_TOOL))
    })
    .await?;
    let b = replica(&live, &redis).await?;
    b.wait_for_tools("the live server's tool", |names| {
        names.contains(&exposed(FIRST_TOOL))
    })
    .await?;
    let (by_a, by_b) = who_lists(&a, &b).await?;
    ensure!(
        by_a && !by_b,
        "listing: first replica {by_a}, second {by_b}"
    );

    redis.stop();
    eventually("both replicas to list while Redis is down", || async {
        let (by_a, by_b) = who_lists(&a, &b).await?;
        ensure!(by_a && by_b, "listing: first replica {by_a}, second {by_b}");
        Ok(())
    })
    .await?;
    live.add_tool("second").await?;

    redis.resume().await?;
    eventually("one replica to list once Redis is back", || async {
        let (by_a, by_b) = who_lists(&a, &b).await?;
        ensure!(by_a != by_b, "listing: first replica {by_a}, second {by_b}");
        Ok(())
    })
    .await?;
    for gateway in [&a, &b] {
        gateway
            .wait_for_tools("the tool added while Redis was down", |names| {
                names.contains(&exposed("second"))
            })
            .await?;
    }
    Ok(())
}
