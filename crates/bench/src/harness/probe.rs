//! Checks through a path under test: which tools it lists, whether a call goes through.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::process::eventually;
use crate::loadgen::{Call, Conn, Session, Target, initialize, post};

/// Timeout of one probe request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a session on `url` and returns it with its connection.
async fn session(target: &Target) -> Result<(Conn, Session)> {
    let mut conn = Conn::open(target.addr()).await?;
    let session = initialize(&mut conn, target, TIMEOUT).await?;
    Ok((conn, session))
}

/// The tool names `url` lists (following `nextCursor`), in a new session.
pub async fn tool_names(url: &str) -> Result<BTreeSet<String>> {
    let target = Target::resolve(url).await?;
    let (mut conn, session) = session(&target).await?;
    let mut names = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for id in 1..=1_000u64 {
        let params = match &cursor {
            Some(cursor) => format!(
                r#","params":{{"cursor":{}}}"#,
                serde_json::to_string(cursor)?
            ),
            None => String::new(),
        };
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"{params}}}"#);
        let reply = tokio::time::timeout(
            TIMEOUT,
            conn.send(post(&target, Some(&session.id), body.into())),
        )
        .await
        .context("tools/list timed out")??;
        crate::loadgen::check(&reply, id)?;
        let value: Value = serde_json::from_slice(&reply.body).context("tools/list body")?;
        let result = &value["result"];
        for tool in result["tools"].as_array().context("no tools array")? {
            names.insert(
                tool["name"]
                    .as_str()
                    .context("tool without name")?
                    .to_owned(),
            );
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(names),
        }
    }
    bail!("{url}: tools/list pages never ended")
}

/// Polls `tools/list` on `url` until `done(names)`; returns the names.
pub async fn wait_for_tools(
    url: &str,
    what: &str,
    timeout: Duration,
    done: impl Fn(&BTreeSet<String>) -> bool,
) -> Result<BTreeSet<String>> {
    let done = &done;
    eventually(&format!("{url} to list {what}"), timeout, || async move {
        let names = tool_names(url).await?;
        if done(&names) {
            Ok(names)
        } else {
            bail!("listed {} tools", names.len())
        }
    })
    .await
}

/// The status of a `ping` to `url` without a session or token (401 when auth is on).
pub async fn anonymous_status(url: &str) -> Result<hyper::StatusCode> {
    let target = Target::resolve(url).await?;
    let mut conn = Conn::open(target.addr()).await?;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let reply = tokio::time::timeout(TIMEOUT, conn.send(post(&target, None, body.into())))
        .await
        .context("ping timed out")??;
    Ok(reply.status)
}

/// One `tools/call` of `tool` in a new session (with `bearer` as the caller's token when
/// given); fails unless it succeeds.
pub async fn call_once(url: &str, tool: &str, bearer: Option<&str>) -> Result<()> {
    let mut target = Target::resolve(url).await?;
    if let Some(token) = bearer {
        target = target.with_bearer(token)?;
    }
    let (mut conn, session) = session(&target).await?;
    let call = Call::tool(tool, r#"{"text":"probe"}"#)?;
    let (_, result) =
        crate::loadgen::exchange(&mut conn, &target, &session, &call, 1, TIMEOUT).await;
    result.with_context(|| format!("tools/call {tool} through {url}"))
}
