//! Discovery as seen from outside: the broker's probes (`/healthz` always, `/readyz`
//! only once every enabled server had its first discovery attempt) and the periodic
//! refresh that finds a backend's changed tools without any notification.

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, ServerKind, call_text, eventually, eventually_within, http_client,
    tool_names,
};
use reqwest::StatusCode;
use serde_json::json;
use tokio::{net::TcpListener, time::Instant};

/// `--upstream-timeout` of the probe test: how long the first discovery of a server
/// that never answers lasts.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(4);

/// Longest a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// GET `url`: (status, body).
async fn probe(http: &reqwest::Client, url: &str) -> Result<(StatusCode, String)> {
    let response = http.get(url).timeout(PROBE_TIMEOUT).send().await?;
    Ok((response.status(), response.text().await?))
}

/// A config entry in the harness's style (prefix `<name>_`) for a server it does not run.
fn entry(name: &str, url: &str) -> String {
    format!(
        "  - name: {name}\n    url: {url}\n    hostname: {name}.mcp.local\n    toolPrefix: {name}_\n"
    )
}

#[tokio::test]
async fn readyz_waits_for_the_first_discovery_of_every_enabled_server() -> Result<()> {
    let timeout = format!("{}s", UPSTREAM_TIMEOUT.as_secs());
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        gateway_args: &["--upstream-timeout", &timeout],
        ..GatewayOptions::default()
    })
    .await?;
    let http = http_client()?;
    let healthz = format!("{}/healthz", gateway.broker_url());
    let readyz = format!("{}/readyz", gateway.broker_url());
    assert_eq!(
        probe(&http, &healthz).await?,
        (StatusCode::OK, "ok".to_owned())
    );
    assert_eq!(
        probe(&http, &readyz).await?,
        (StatusCode::OK, "ready".to_owned())
    );
    let calc_only = gateway.config_yaml(&[ServerKind::Calc])?;

    // A server that accepts connections (the kernel completes them: the listener is
    // never accepted from) and never answers: its first discovery lasts until the
    // upstream timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await?;
    let silent_url = format!("http://{}/mcp", silent.local_addr()?);
    gateway.write_config(&(calc_only.clone() + &entry("silent", &silent_url)))?;
    let written = Instant::now();
    let body = eventually("/readyz to answer 503 for silent", || async {
        let (status, body) = probe(&http, &readyz).await?;
        ensure!(
            status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}: {body}"
        );
        Ok(body)
    })
    .await?;
    assert_eq!(body, "discovering: silent");
    // Not ready is not dead, and the gateway keeps serving meanwhile.
    assert_eq!(
        probe(&http, &healthz).await?,
        (StatusCode::OK, "ok".to_owned())
    );
    let client = gateway.client().await?;
    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
        "5"
    );
    eventually("/readyz to answer 200 again", || async {
        let (status, body) = probe(&http, &readyz).await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        Ok(())
    })
    .await?;
    let waited = written.elapsed();
    // Ready once the attempt ended (at the timeout), although silent never answered.
    assert!(
        waited >= UPSTREAM_TIMEOUT - Duration::from_millis(500),
        "ready after {waited:?}, before silent's first discovery could end"
    );

    // A server that refuses connections: its first attempt fails at once, so readiness
    // comes back long before an upstream timeout.
    let refused_url = {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        format!("http://{}/mcp", listener.local_addr()?)
    };
    gateway.write_config(
        &(calc_only + &entry("silent", &silent_url) + &entry("refused", &refused_url)),
    )?;
    let written = Instant::now();
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    eventually("the config with refused, and readiness", || async {
        // Loaded once the router sends refused's prefix to it (and fails).
        let reply = raw
            .call_tool(Some(&session), "refused_anything", json!({}))
            .await?;
        let message = reply.error_message().unwrap_or_default();
        if !message.contains("MCP server 'refused'") {
            bail!("refused not configured yet: {reply}");
        }
        let (status, body) = probe(&http, &readyz).await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        Ok(())
    })
    .await?;
    let waited = written.elapsed();
    assert!(
        waited < UPSTREAM_TIMEOUT,
        "a refused connection held readiness for {waited:?}"
    );
    drop(silent);
    client.cancel().await?;
    Ok(())
}

/// The refresh interval of the refresh test.
const REFRESH: Duration = Duration::from_secs(2);

#[tokio::test]
async fn unannounced_tool_change_shows_after_the_refresh_interval() -> Result<()> {
    // The echo server answers GET with 405: the gateway has no stream to hear a
    // `notifications/tools/list_changed` on, and the server sends none anyway.
    let interval = format!("{}s", REFRESH.as_secs());
    let gateway = Gateway::start(GatewayOptions {
        echo: &["echo"],
        discovery_interval: Some(&interval),
        ..GatewayOptions::default()
    })
    .await?;
    let echo = gateway.backend("echo")?;
    let client = gateway.client().await?;

    let mut previous: Option<String> = None;
    for _ in 0..2 {
        let tool = echo.bump().await?;
        let exposed = format!("echo_{tool}");
        let changed = Instant::now();
        // At most one interval, plus slack for a refresh and a poll in flight.
        let within = REFRESH + Duration::from_secs(2);
        let what = format!("{exposed} to be listed");
        eventually_within(&what, within, || async {
            let names = tool_names(&client).await?;
            ensure!(names.contains(&exposed), "tools/list showed {names:?}");
            ensure!(names.contains("echo_echo"), "echo_echo went: {names:?}");
            if let Some(previous) = &previous {
                ensure!(!names.contains(previous), "{previous} stayed: {names:?}");
            }
            Ok(())
        })
        .await?;
        eprintln!("{exposed} listed {:?} after the change", changed.elapsed());
        // And it is routed: the echo server runs only tools it lists.
        let text = call_text(&client, &exposed, json!({"text": "hi"})).await?;
        assert!(text.contains("hi"), "{exposed} answered {text:?}");
        previous = Some(exposed);
    }
    client.cancel().await?;
    Ok(())
}

/// The refresh interval of the probe-session test: short, so that many refreshes pass.
const FAST_REFRESH: &str = "100ms";

/// Refreshes the probe-session test lets pass before counting.
const REFRESHES: f64 = 10.0;

/// Successful listings of `server` so far, from the gateway's `/metrics`.
async fn listings(gateway: &Gateway, server: &str) -> Result<f64> {
    let text = http_client()?
        .get(gateway.admin_url("/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let series =
        format!("mcp_gateway_discovery_listings_total{{server=\"{server}\",result=\"ok\"}} ");
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix(series.as_str())?.parse().ok())
        .unwrap_or_default())
}

/// Waits until `REFRESHES` more listings of `server` than `since` succeeded.
async fn refreshes_after(gateway: &Gateway, server: &str, since: f64) -> Result<()> {
    eventually("more refreshes", || async {
        let now = listings(gateway, server).await?;
        ensure!(now >= since + REFRESHES, "{now} listings, {since} before");
        Ok(())
    })
    .await
}

/// Each refresh lists calc's tools on the gateway's own session and, as the class declaring
/// sampling, elicitation and roots, on a probe session (calc offers every class the same
/// tools, so that one look settles it). Both sessions live as long as the manager: many
/// refreshes open exactly two calc sessions and end none. A restarted calc has forgotten
/// both; discovery opens each once again and goes on. Disabling calc in the config ends
/// both with a `DELETE`.
#[tokio::test]
async fn refreshes_reuse_the_probe_session_and_reopen_it_after_a_restart() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        discovery_interval: Some(FAST_REFRESH),
        ..GatewayOptions::default()
    })
    .await?;
    let calc = gateway.backend("calc")?;
    refreshes_after(&gateway, "calc", listings(&gateway, "calc").await?).await?;
    let stats = calc.stats().await?;
    assert_eq!(
        (stats.initialize, stats.sessions_ended),
        (2, 0),
        "refreshes must reuse the discovery and probe sessions (initialize, ended)"
    );

    calc.kill().await?;
    calc.restart().await?;
    // The restarted process counts from zero: discovery heals once both are open again.
    eventually("discovery to reopen its sessions", || async {
        let opened = calc.stats().await?.initialize;
        ensure!(opened >= 2, "{opened} sessions opened since the restart");
        Ok(())
    })
    .await?;
    refreshes_after(&gateway, "calc", listings(&gateway, "calc").await?).await?;
    let stats = calc.stats().await?;
    assert_eq!(
        (stats.initialize, stats.sessions_ended),
        (2, 0),
        "after a restart, discovery must reopen each session once (initialize, ended)"
    );

    let disabled = gateway
        .config_yaml(&[ServerKind::Calc])?
        .replace("enabled: true", "enabled: false");
    gateway.write_config(&disabled)?;
    eventually("calc's discovery sessions to end", || async {
        let ended = calc.stats().await?.sessions_ended;
        ensure!(ended == 2, "{ended} sessions ended");
        Ok(())
    })
    .await?;
    Ok(())
}

/// A gateway shutting down ends its discovery sessions, the probe's too.
#[tokio::test]
async fn shutdown_ends_the_discovery_sessions() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        discovery_interval: Some(FAST_REFRESH),
        ..GatewayOptions::default()
    })
    .await?;
    let calc = gateway.backend("calc")?;
    refreshes_after(&gateway, "calc", listings(&gateway, "calc").await?).await?;
    gateway.stop_gateway()?;
    eventually("calc's discovery sessions to end", || async {
        let stats = calc.stats().await?;
        ensure!(
            (stats.initialize, stats.sessions_ended) == (2, 2),
            "{} sessions opened, {} ended",
            stats.initialize,
            stats.sessions_ended
        );
        Ok(())
    })
    .await?;
    Ok(())
}
