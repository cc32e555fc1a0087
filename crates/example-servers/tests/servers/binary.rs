//! Runs the built `mcp-example-server` binary as the gateway's e2e tests do.

use std::{process::Stdio, time::Duration};

use anyhow::Context;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, ChildStdout, Command},
};

use crate::support::{STEP, assert_ok_text, call, connect, stats_at};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-example-server");

fn spawn(args: &[&str]) -> anyhow::Result<Child> {
    Ok(Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?)
}

/// Reads the single `listening on <url>` line and returns the URL.
async fn listening_url(stdout: &mut BufReader<ChildStdout>) -> anyhow::Result<String> {
    let mut line = String::new();
    tokio::time::timeout(STEP, stdout.read_line(&mut line))
        .await
        .context("no listening line")??;
    let url = line
        .strip_suffix('\n')
        .and_then(|line| line.strip_prefix("listening on "))
        .with_context(|| format!("unexpected line {line:?}"))?;
    Ok(url.to_owned())
}

#[tokio::test]
async fn prints_url_serves_and_stops_on_sigterm() -> anyhow::Result<()> {
    let mut child = spawn(&[
        "--server",
        "calc",
        "--listen",
        "127.0.0.1:0",
        "--path",
        "/calc/mcp",
    ])?;
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
    let url = listening_url(&mut stdout).await?;
    let rest = url.strip_prefix("http://").context("http url")?;
    let (authority, path) = rest.split_at(rest.find('/').context("path")?);
    assert_eq!(path, "/calc/mcp");
    let addr: std::net::SocketAddr = authority.parse()?;
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);

    let client = connect(&url).await?;
    assert_ok_text(&call(&client, "add", json!({"a": 2, "b": 3})).await?, "5");
    let stats = stats_at(addr).await?;
    assert_eq!(
        (stats.server.as_str(), stats.initialize, stats.tool_calls),
        ("calc", 1, 1)
    );

    // Graceful stop on SIGTERM, even with a session still open.
    let pid = child.id().context("pid")?;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .context("did not stop on SIGTERM")??;
    assert!(exit.success(), "exit status {exit}");

    // Exactly one line on stdout.
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await?;
    assert_eq!(rest, "");
    drop(client);
    Ok(())
}

#[tokio::test]
async fn rejects_a_bad_path() -> anyhow::Result<()> {
    let child = spawn(&["--server", "text", "--path", "mcp"])?;
    let output = tokio::time::timeout(STEP, child.wait_with_output()).await??;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid MCP path"), "{stderr}");
    Ok(())
}
