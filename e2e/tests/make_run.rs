//! `make run`'s script (`scripts/run-local.sh`) as a person sees it: it says when each
//! component is ready, with the time since it started, then prints where to connect, the
//! console included, and what it printed works. Run on the debug binaries (the script
//! takes `$CARGO_TARGET_DIR/release`; here that is a link to the debug build), free ports,
//! a config naming them and a log directory of its own.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use mcp_gateway_e2e::{envoy_binary, http_client};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Longest the script may take to print its banner.
const STARTUP: Duration = Duration::from_secs(90);

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test]
async fn make_run_says_when_each_component_is_ready() -> Result<()> {
    let workspace = workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    let debug = target.join("debug");
    for binary in ["mcp-broker-router", "mcp-example-server"] {
        ensure!(
            debug.join(binary).is_file(),
            "{binary} not in {}: run `cargo build --workspace --bins` first",
            debug.display()
        );
    }
    let dir = tempfile::tempdir()?;
    std::os::unix::fs::symlink(&debug, dir.path().join("release"))?;
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin)?;
    std::os::unix::fs::symlink(envoy_binary().await?, bin.join("envoy"))?;
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;

    let ports: Vec<u16> = (0..7).map(|_| free_port()).collect::<Result<_>>()?;
    let [mcp, admin, router, broker, metrics, calc, text] = ports[..] else {
        bail!("ports");
    };
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "servers:\n\
             - {{name: calc, url: 'http://127.0.0.1:{calc}/mcp', hostname: calc.mcp.local, toolPrefix: calc_}}\n\
             - {{name: text, url: 'http://127.0.0.1:{text}/mcp', hostname: text.mcp.local, toolPrefix: text_}}\n"
        ),
    )?;
    let mut script = Command::new("bash");
    script
        .arg(workspace.join("scripts/run-local.sh"))
        .current_dir(&workspace)
        .env("CARGO_TARGET_DIR", dir.path())
        .env("PATH", path)
        .env("MCP_GATEWAY_CONFIG", &config)
        .env("MCP_RUN_DIR", dir.path().join("run"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that everything it started can be stopped at once.
        .process_group(0)
        .kill_on_drop(true);
    for (name, port) in [
        ("MCP_PORT", mcp),
        ("ADMIN_PORT", admin),
        ("ROUTER_PORT", router),
        ("BROKER_PORT", broker),
        ("METRICS_PORT", metrics),
        ("CALC_PORT", calc),
        ("TEXT_PORT", text),
    ] {
        script.env(name, port.to_string());
    }
    let mut child = script.spawn().context("running scripts/run-local.sh")?;
    let group = child.id().context("no pid")?;
    let stderr = child.stderr.take().context("stderr")?;
    let progress = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line);
        }
        seen
    });
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut banner = Vec::new();
    let outcome = tokio::time::timeout(STARTUP, async {
        while let Some(line) = stdout.next_line().await? {
            let done = line.contains("Ctrl-C stops everything");
            banner.push(line);
            if done {
                return anyhow::Ok(());
            }
        }
        bail!("the script ended before its banner")
    })
    .await;
    let console = format!("http://127.0.0.1:{mcp}/console");
    let reached = match &outcome {
        Ok(Ok(())) => http_client()?
            .get(&console)
            .send()
            .await
            .map(|r| r.status()),
        _ => Ok(reqwest::StatusCode::SERVICE_UNAVAILABLE),
    };
    // Stop it (its trap stops what it started), then read what it said.
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{group}")])
        .status()
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let said = tokio::time::timeout(Duration::from_secs(10), progress)
        .await
        .context("stderr still open")??;
    let said_text = said.join("\n");
    let banner = banner.join("\n");
    outcome
        .context("no banner in time")?
        .with_context(|| format!("stderr:\n{said_text}\nstdout:\n{banner}"))?;

    let mut last = 0;
    for component in [
        "calc example server",
        "text example server",
        "mcp-broker-router",
        "Envoy",
    ] {
        let prefix = format!("make run: {component} ready (");
        let at = said
            .iter()
            .position(|line| line.starts_with(&prefix) && line.ends_with("s)"))
            .with_context(|| format!("no `{prefix}…s)` line:\n{said_text}"))?;
        ensure!(at >= last, "{component} out of order:\n{said_text}");
        last = at;
    }
    ensure!(
        banner.contains(&format!("Console: {console}")),
        "no console line:\n{banner}"
    );
    ensure!(
        reached? == reqwest::StatusCode::OK,
        "{console} did not answer"
    );
    Ok(())
}

/// `make local-env-setup` (a kind cluster, too heavy for this suite) says how long each
/// step took through `step` in scripts/k8s/lib.sh; this runs that function itself.
#[tokio::test]
async fn k8s_steps_say_how_long_they_took() -> Result<()> {
    let run = |script: &'static str| {
        let workspace = workspace();
        async move {
            Command::new("bash")
                .arg("-c")
                .arg(format!(
                    "set -euo pipefail; K8S_SCRIPT=t; source scripts/k8s/lib.sh; {script}"
                ))
                .current_dir(workspace)
                .output()
                .await
                .context("bash")
        }
    };
    let output = run(r#"step "nap" sleep 1; step "blink" true"#).await?;
    let said = String::from_utf8_lossy(&output.stderr);
    ensure!(output.status.success(), "{said}");
    let lines: Vec<&str> = said.lines().collect();
    let nap = lines
        .iter()
        .find_map(|l| l.strip_prefix("t: nap: done in "))
        .with_context(|| format!("no timing of nap:\n{said}"))?;
    let (took, total) = nap
        .strip_suffix("s so far)")
        .and_then(|rest| rest.split_once("s ("))
        .with_context(|| format!("{nap:?}"))?;
    ensure!(took.parse::<u64>()? >= 1, "{nap:?}");
    ensure!(total.parse::<u64>()? >= 1, "{nap:?}");
    ensure!(
        lines
            .iter()
            .any(|l| l.starts_with("t: blink: done in 0s (")),
        "{said}"
    );
    // A failing step stops the script without claiming it was done.
    let output = run(r#"step "broken" false; echo after"#).await?;
    ensure!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    ensure!(!said.contains("broken: done"), "{said}");
    ensure!(!String::from_utf8_lossy(&output.stdout).contains("after"));
    Ok(())
}
