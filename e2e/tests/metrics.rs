//! The gateway's `/metrics` through a real Envoy: calls, sessions, discovery and the
//! router's decision time move as clients call tools, and tool labels stay bounded when a
//! client sends names the catalog does not hold.

use anyhow::{Context, Result, bail, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, ServerKind, http_client};
use serde_json::json;

/// The value of the sample `series` (name and labels exactly as exported), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(gateway: &Gateway) -> Result<String> {
    let response = http_client()?
        .get(gateway.admin_url("/metrics"))
        .send()
        .await
        .context("GET /metrics")?;
    ensure!(
        response.status().is_success(),
        "/metrics: {}",
        response.status()
    );
    let text = response.text().await?;
    ensure!(text.ends_with("# EOF\n"), "not OpenMetrics text:\n{text}");
    Ok(text)
}

fn expect(text: &str, series: &str, check: impl Fn(f64) -> bool) -> Result<()> {
    match sample(text, series) {
        Some(value) if check(value) => Ok(()),
        Some(value) => bail!("{series} is {value}:\n{text}"),
        None => bail!("no {series} in /metrics:\n{text}"),
    }
}

#[tokio::test]
async fn metrics_count_calls_through_envoy() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    raw.list_tools(Some(&session)).await?.result()?;
    for _ in 0..3 {
        raw.call_tool(Some(&session), "calc_add", json!({"a": 2, "b": 3}))
            .await?
            .result()?;
    }
    // Names no catalog holds: each is refused, and none becomes a label.
    for i in 0..200 {
        let name = format!("calc_nope_{i}_{}", rand_suffix(i));
        let reply = raw.call_tool(Some(&session), &name, json!({})).await?;
        ensure!(reply.result().is_err(), "{name} answered: {reply}");
    }

    let text = scrape(&gateway).await?;
    expect(
        &text,
        r#"mcp_gateway_calls_total{server="calc",tool="calc_add",method="tools/call",outcome="ok"}"#,
        |n| n == 3.0,
    )?;
    expect(
        &text,
        r#"mcp_gateway_calls_total{server="",tool="",method="tools/call",outcome="error"}"#,
        |n| n == 200.0,
    )?;
    expect(
        &text,
        r#"mcp_gateway_calls_total{server="",tool="",method="initialize",outcome="ok"}"#,
        |n| n >= 1.0,
    )?;
    expect(&text, "mcp_gateway_router_decision_seconds_count", |n| {
        n >= 205.0
    })?;
    expect(&text, "mcp_gateway_ext_proc_streams_total", |n| n >= 205.0)?;
    expect(&text, "mcp_gateway_ext_proc_messages_total", |n| n >= 410.0)?;
    expect(
        &text,
        r#"mcp_gateway_broker_lists_served_total{method="tools/list"}"#,
        |n| n >= 1.0,
    )?;
    expect(
        &text,
        r#"mcp_gateway_backend_session_opens_total{server="calc"}"#,
        |n| n == 1.0,
    )?;
    expect(&text, r#"mcp_gateway_backend_up{server="calc"}"#, |n| {
        n == 1.0
    })?;
    let tools = ServerKind::Calc.tools().len() as f64;
    expect(&text, r#"mcp_gateway_catalog_tools{server="calc"}"#, |n| {
        n == tools
    })?;
    expect(
        &text,
        r#"mcp_gateway_discovery_listings_total{server="calc",result="ok"}"#,
        |n| n >= 1.0,
    )?;
    expect(&text, "mcp_gateway_sessions", |n| n >= 1.0)?;
    expect(&text, "mcp_gateway_config_in_sync", |n| n == 1.0)?;
    let listed = sample(
        &text,
        r#"mcp_gateway_discovery_last_success_timestamp_seconds{server="calc"}"#,
    )
    .context("no last listing of calc")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    ensure!(
        (now - 60.0..=now + 1.0).contains(&listed),
        "calc last listed at {listed}, now {now}"
    );

    // The running binary exports every name of the checked list the chart's Grafana
    // dashboard is validated against (crates/metrics/exported-names.txt), and no other.
    let list = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/metrics/exported-names.txt"),
    )?;
    let checked: std::collections::BTreeSet<&str> = list.lines().collect();
    let mut exported = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        match kind {
            "counter" => {
                exported.insert(format!("{name}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    exported.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                exported.insert(name.to_owned());
            }
        }
    }
    let exported: std::collections::BTreeSet<&str> = exported.iter().map(String::as_str).collect();
    ensure!(
        exported == checked,
        "/metrics exports {exported:?}, the checked list has {checked:?}"
    );

    // Bounded: the made-up names appear nowhere, and the call series are few.
    ensure!(
        !text.contains("calc_nope_"),
        "a client's tool name became a label:\n{text}"
    );
    let series = text
        .lines()
        .filter(|line| line.starts_with("mcp_gateway_calls_total{"))
        .count();
    ensure!(series <= 8, "{series} call series:\n{text}");
    Ok(())
}

/// Varies the names beyond a counter, as a client sending random names would.
fn rand_suffix(i: usize) -> String {
    format!(
        "{:x}",
        i.wrapping_mul(2_654_435_761) ^ std::process::id() as usize
    )
}
