//! Envoy's access log as the record of call outcomes, joined to the gateway's audit lines by
//! Envoy's `x-request-id`: the access log of docs/security.md ("Audit"), added to the
//! rendered bootstrap, writes each routed call's status, duration and the router's `mcp`
//! metadata (method, server, tool); the audit line of the same call carries the same
//! request id.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, ServerKind, eventually};
use serde_json::{Value, json};

/// Where the test's Envoy writes its access log (set before Envoy starts).
static ACCESS_LOG: OnceLock<PathBuf> = OnceLock::new();

/// The access log of docs/security.md, at the connection manager's level.
fn access_log(path: &str) -> String {
    format!(
        r#"          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {path}
              log_format:
                json_format:
                  time: "%START_TIME%"
                  request_id: "%REQ(X-REQUEST-ID)%"
                  status: "%RESPONSE_CODE%"
                  duration_ms: "%DURATION%"
                  method: "%DYNAMIC_METADATA(mcp:method)%"
                  server: "%DYNAMIC_METADATA(mcp:server)%"
                  tool: "%DYNAMIC_METADATA(mcp:tool)%"
                  flags: "%RESPONSE_FLAGS%"
                  details: "%RESPONSE_CODE_DETAILS%"
"#
    )
}

fn with_access_log(yaml: String) -> String {
    let path = ACCESS_LOG
        .get()
        .expect("the access log's path is set first");
    let anchor = "          stat_prefix: mcp\n";
    assert!(
        yaml.contains(anchor),
        "no connection manager in the bootstrap"
    );
    let log = access_log(&path.display().to_string());
    yaml.replacen(anchor, &format!("{anchor}{log}"), 1)
}

/// Lines of a JSON-lines file.
fn lines(path: &PathBuf) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("line {line}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_lines_join_audit_lines_by_request_id() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let access = dir.path().join("access.log");
    let audit = dir.path().join("audit.log");
    ACCESS_LOG
        .set(access.clone())
        .map_err(|_| anyhow::anyhow!("set twice"))?;
    let audit_arg = audit.to_str().context("a UTF-8 path")?.to_owned();
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        gateway_args: &["--audit-log", &audit_arg],
        edit_bootstrap: Some(with_access_log),
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let add = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}}});
    let reply = raw.post(Some(&session), add.to_string()).await?;
    ensure!(reply.tool_text()? == "5", "{reply}");

    let audited = eventually("the call's audit line", || async {
        let lines = lines(&audit)?;
        let line = lines.into_iter().find(|l| l["exposed"] == "calc_add");
        line.context("no audit line yet")
    })
    .await?;
    let request_id = audited["request_id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .with_context(|| format!("no request id in {audited}"))?
        .to_owned();
    // Envoy flushes its access log about once a second.
    let logged = eventually("the call in Envoy's access log", || async {
        let lines = lines(&access)?;
        let line = lines
            .into_iter()
            .find(|l| l["request_id"] == request_id.as_str());
        line.context("no access log line with the audit line's request id yet")
    })
    .await?;
    let expected = json!({"status": 200, "method": "tools/call", "server": "calc", "tool": "add"});
    for (key, value) in expected.as_object().into_iter().flatten() {
        ensure!(&logged[key] == value, "{key}: {logged}");
    }
    ensure!(logged["duration_ms"].is_number(), "{logged}");
    Ok(())
}
