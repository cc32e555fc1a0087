//! Credentials to backends (docs/security.md, "Credentials to backends"), through real
//! Envoy and the real gateway binary, watched by a real MCP server (rmcp) that records the
//! credential headers of every request it receives.
//!
//! Covered here: a static credential read from a file reaches the backend on the gateway's
//! own requests (discovery), goes in the configured header and no other, follows the file
//! when it changes (no restart), and never appears in the gateway's log. Token exchange and
//! client credentials against a real OpenID provider, and routed calls, are not covered yet.

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{
    ExternalServer, Gateway, GatewayOptions, LiveServer, eventually, tool_names,
};

/// Distinctive secrets, so a leak anywhere in the log is found by substring.
const FIRST_KEY: &str = "first-static-key-9c1e5f";
const SECOND_KEY: &str = "second-static-key-4ab07d";

fn entry(url: &str, key_file: &str) -> String {
    format!(
        "servers:
  - name: live
    url: {url}
    hostname: live.mcp.local
    toolPrefix: live_
    credentials:
      static:
        header: X-Api-Key
        value: {{file: {key_file}}}
"
    )
}

#[tokio::test]
async fn a_static_credential_from_a_file_is_sent_and_follows_the_file() -> Result<()> {
    let live = LiveServer::start().await?;
    let url = live.url();
    let gateway = Gateway::start(GatewayOptions {
        external: &[ExternalServer {
            name: "live",
            url: &url,
        }],
        ..GatewayOptions::default()
    })
    .await?;
    // Before credentials are configured the backend sees none (and never a client's).
    ensure!(
        live.credentials_seen()
            .iter()
            .all(|seen| seen.api_key.is_none() && seen.authorization.is_none()),
        "credentials sent before any was configured: {:?}",
        live.credentials_seen()
    );

    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("live-key");
    std::fs::write(&key_file, format!("{FIRST_KEY}\n"))?;
    gateway.write_config(&entry(&url, &key_file.display().to_string()))?;
    // Discovery (a fresh manager for the changed server, then the periodic refresh) carries
    // the key in X-Api-Key, without the file's newline, and no Authorization.
    let from = live.credentials_seen().len();
    eventually("discovery to send the first key", || {
        let seen = live.credentials_seen();
        async move {
            let sent = seen[from..]
                .iter()
                .any(|s| s.api_key.as_deref() == Some(FIRST_KEY));
            ensure!(sent, "not yet: {:?}", &seen[from..]);
            Ok(())
        }
    })
    .await?;

    // The file changes (a rotated Kubernetes Secret): the next requests carry the new key.
    std::fs::write(&key_file, SECOND_KEY)?;
    eventually("discovery to send the second key", || {
        let seen = live.credentials_seen();
        async move {
            ensure!(
                seen.last().and_then(|s| s.api_key.as_deref()) == Some(SECOND_KEY),
                "not yet: {:?}",
                seen.last()
            );
            Ok(())
        }
    })
    .await?;
    // Once the new config is in force (the first keyed request; one request of the old
    // manager may still be on its way), every request carries exactly the configured key.
    let seen = live.credentials_seen();
    let keyed = seen
        .iter()
        .position(|s| s.api_key.is_some())
        .unwrap_or(seen.len());
    let after_config = &seen[keyed..];
    ensure!(
        after_config.iter().all(|s| s.authorization.is_none()
            && matches!(s.api_key.as_deref(), Some(FIRST_KEY | SECOND_KEY))),
        "a request without exactly the configured key: {after_config:?}"
    );
    // The tools stay listed through the rotation.
    let client = gateway.client().await?;
    let names = tool_names(&client).await?;
    ensure!(
        names.iter().any(|name| name.starts_with("live_")),
        "live's tools are listed: {names:?}"
    );

    let log = gateway.gateway_log();
    for secret in [FIRST_KEY, SECOND_KEY] {
        ensure!(!log.contains(secret), "the gateway logged a secret:\n{log}");
    }
    Ok(())
}
