//! Credentials to backends (docs/security.md, "Credentials to backends"), through real
//! Envoy and the real gateway binary, watched by a real MCP server (rmcp) that records the
//! credential headers of every request it receives.
//!
//! Covered here: a static credential read from a file reaches the backend on the gateway's
//! own requests (discovery), goes in the configured header and no other, follows the file
//! when it changes (no restart), and never appears in the gateway's log; each mode against a
//! real OpenID provider (`oauth`) on routed calls and on the requests the broker makes for a
//! caller (`on_behalf`); token exchange cached, single-flight, and the provider down.

use std::collections::BTreeSet;

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    ExternalServer, Gateway, GatewayOptions, LiveServer, Mode, SeenCredentials, eventually,
    tool_names,
};

// Test crate roots look for modules beside them: these live in credentials/.
#[path = "credentials/oauth.rs"]
mod oauth;
#[path = "credentials/on_behalf.rs"]
mod on_behalf;

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

/// The backend sessions that were ended (`DELETE`).
fn deleted(seen: &[SeenCredentials]) -> BTreeSet<String> {
    seen.iter()
        .filter(|s| s.http_method == "DELETE")
        .filter_map(|s| s.session_id.clone())
        .collect()
}

async fn a_static_credential_from_a_file_is_sent_and_follows_the_file(mode: Mode) -> Result<()> {
    let live = LiveServer::start().await?;
    let url = live.url();
    let gateway = Gateway::start(GatewayOptions {
        mode,
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
    // The discovery manager's session, watching for changes (its GET stream): when the config
    // changes, that manager is replaced and ends this session (DELETE, without the key: it
    // was configured without one) once it stops, possibly after the new manager's first keyed
    // requests. Its long-lived probe sessions (one per capability class it lists with) are
    // ended right after, also without the key.
    let watching = |seen: &[SeenCredentials]| -> BTreeSet<String> {
        let ended = deleted(seen);
        seen.iter()
            .filter(|s| s.http_method == "GET")
            .filter_map(|s| s.session_id.clone())
            .filter(|id| !ended.contains(id))
            .collect()
    };
    eventually("discovery to watch for changes", || {
        let seen = live.credentials_seen();
        async move {
            ensure!(!watching(&seen).is_empty(), "no GET stream yet");
            Ok(())
        }
    })
    .await?;
    let seen = live.credentials_seen();
    let from = seen.len();
    let open_before = watching(&seen);
    gateway.write_config(&entry(&url, &key_file.display().to_string()))?;
    // Discovery (a fresh manager for the changed server, then the periodic refresh) carries
    // the key in X-Api-Key, without the file's newline, and no Authorization.
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

    // The replaced manager has ended its session: from then on only the new one speaks.
    let seen = eventually("the replaced manager to end its session", || {
        let seen = live.credentials_seen();
        let open_before = &open_before;
        async move {
            let ended = deleted(&seen);
            ensure!(ended.is_superset(open_before), "not yet: {open_before:?}");
            Ok(seen)
        }
    })
    .await?;
    let settled = seen
        .iter()
        .rposition(|s| {
            s.http_method == "DELETE"
                && s.session_id
                    .as_ref()
                    .is_some_and(|id| open_before.contains(id))
        })
        .map_or(seen.len(), |i| i + 1);

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
    // It was the last request without the key: every request after it carries exactly the
    // configured key (the last ones the second).
    let seen = live.credentials_seen();
    let after_config = &seen[settled..];
    ensure!(
        after_config
            .last()
            .is_some_and(|s| s.api_key.as_deref() == Some(SECOND_KEY)),
        "requests after the replaced manager's last: {after_config:?}"
    );
    // The one exception: the replaced manager ending its other sessions (opened before the
    // key was configured, so ended without it).
    let unkeyed_before: BTreeSet<String> = seen[..from]
        .iter()
        .filter(|s| s.api_key.is_none())
        .filter_map(|s| s.session_id.clone())
        .collect();
    let replaced_manager_ending = |s: &SeenCredentials| {
        s.http_method == "DELETE"
            && s.api_key.is_none()
            && s.session_id
                .as_ref()
                .is_some_and(|id| unkeyed_before.contains(id))
    };
    ensure!(
        after_config.iter().all(|s| replaced_manager_ending(s)
            || (s.authorization.is_none()
                && matches!(s.api_key.as_deref(), Some(FIRST_KEY | SECOND_KEY)))),
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

/// Each mode as its backend sees it, on routed calls and on the backend session the gateway
/// opens for the caller; and no token or secret in the gateway's log.
async fn each_mode_reaches_its_backend_as_configured(mode: Mode) -> Result<()> {
    use oauth::{Setup, claims, keyed_from_first, ok, routed};
    let setup = Setup::start(mode).await?;
    let alice = setup.token("alice").await?;
    let alice_sub = claims(&format!("Bearer {alice}"))?["sub"].clone();
    let session = setup.initialize(&alice).await?;
    for server in ["exchange", "service", "passthrough", "plain"] {
        ok(&setup.call(&alice, &session, server).await?)?;
    }
    // The router's per-caller rate limit key (alice's issuer and subject) stays in Envoy.
    for server in ["exchange", "service", "passthrough", "plain"] {
        let seen = setup.seen(server);
        ensure!(
            seen.iter().all(|s| s.caller_key.is_none()),
            "{server} got the caller key: {seen:?}"
        );
    }

    // Token exchange: alice's subject, for the backend's audience, the gateway as actor;
    // also on the initialize of alice's backend session (not routed, same token).
    let seen = setup.seen("exchange");
    let calls = routed(&seen);
    ensure!(calls.len() == 1, "one routed call: {seen:?}");
    let exchanged = calls[0].clone().unwrap_or_default();
    let c = claims(&exchanged).with_context(|| format!("{seen:?}"))?;
    ensure!(c["sub"] == alice_sub, "the caller's subject: {c}");
    ensure!(
        c["aud"] == setup.url("exchange").as_str(),
        "the backend's audience: {c}"
    );
    ensure!(c["act"]["sub"] == "gateway", "the gateway acted: {c}");
    ensure!(
        exchanged != format!("Bearer {alice}"),
        "not alice's own token"
    );
    ensure!(
        seen.iter()
            .filter(|s| s.routed_method.is_none())
            .any(|s| s.authorization.as_deref() == Some(exchanged.as_str())),
        "the backend session was opened with the exchanged token: {seen:?}"
    );
    ensure!(keyed_from_first(&seen), "{seen:?}");

    // Client credentials: the gateway's own token for the backend, whoever calls.
    let seen = setup.seen("service");
    let calls = routed(&seen);
    ensure!(calls.len() == 1, "one routed call: {seen:?}");
    let c = claims(calls[0].as_deref().unwrap_or_default())?;
    ensure!(c["sub"] != alice_sub, "not alice's: {c}");
    ensure!(
        c["aud"] == setup.url("service").as_str(),
        "the backend's audience: {c}"
    );
    ensure!(keyed_from_first(&seen), "{seen:?}");

    // Passthrough: alice's token unchanged, on the call and her backend session's initialize.
    let seen = setup.seen("passthrough");
    let own = format!("Bearer {alice}");
    ensure!(routed(&seen) == [Some(own.clone())], "{seen:?}");
    ensure!(
        seen.iter()
            .filter(|s| s.routed_method.is_none())
            .any(|s| s.authorization.as_deref() == Some(own.as_str())),
        "the backend session was opened with alice's token: {seen:?}"
    );

    // No credentials configured: none, and never a caller's.
    let seen = setup.seen("plain");
    ensure!(
        seen.iter()
            .all(|s| s.authorization.is_none() && s.api_key.is_none()),
        "{seen:?}"
    );
    ensure!(routed(&seen).len() == 1, "{seen:?}");

    // Nothing secret in the gateway's log (its level is debug in these tests).
    let log = setup.gateway.gateway_log();
    let mut secrets = vec![alice.clone(), oauth::GATEWAY_SECRET.to_owned()];
    for server in ["exchange", "service"] {
        for seen in setup.seen(server) {
            if let Some(bearer) = seen.authorization {
                secrets.push(bearer.trim_start_matches("Bearer ").to_owned());
            }
        }
    }
    for secret in &secrets {
        ensure!(
            !log.contains(secret.as_str()),
            "the gateway logged a secret or token"
        );
    }
    Ok(())
}

/// Token exchange is done once per subject for many calls, once for concurrent first calls;
/// the provider down is a 503 naming the server for a subject not yet exchanged (cached
/// subjects go on), and calls work again once it is back.
async fn exchanged_tokens_are_cached_single_flight_and_survive_the_provider(
    mode: Mode,
) -> Result<()> {
    use oauth::{Setup, ok, routed};
    let mut setup = Setup::start(mode).await?;
    let bob = setup.token("bob").await?;
    let carol = setup.token("carol").await?;
    let session = setup.initialize(&bob).await?;
    let before = setup.seen("exchange").len();

    // Eight concurrent first calls, then five more: one exchange, so one token.
    let calls = (0..8).map(|id| setup.call_with_id(&bob, &session, "exchange", 100 + id));
    for reply in futures::future::join_all(calls).await {
        ok(&reply?)?;
    }
    for _ in 0..5 {
        ok(&setup.call(&bob, &session, "exchange").await?)?;
    }
    let seen = setup.seen("exchange");
    let tokens: std::collections::BTreeSet<_> = routed(&seen[before..]).into_iter().collect();
    ensure!(
        routed(&seen[before..]).len() == 13 && tokens.len() == 1,
        "13 calls with one exchanged token, got {} distinct",
        tokens.len()
    );

    // The provider goes down: bob's token is cached; carol's exchange cannot happen.
    let carol_session = setup.initialize(&carol).await?;
    setup.idp.stop().await?;
    ok(&setup.call(&bob, &session, "exchange").await?)?;
    let reply = setup.call(&carol, &carol_session, "exchange").await?;
    ensure!(
        reply.status == reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "{reply}"
    );
    ensure!(reply.error_code() == Some(-32603), "{reply}");
    let message = reply.error_message().unwrap_or_default();
    ensure!(message.contains("MCP server 'exchange'"), "{reply}");
    ensure!(reply.result().is_err(), "{reply}");
    let body: serde_json::Value = serde_json::from_str(&reply.body)?;
    ensure!(body["id"] == 7, "the request's id: {reply}");
    // Other servers are not affected.
    ok(&setup.call(&carol, &carol_session, "plain").await?)?;

    // Back: carol's call works (failures are not cached).
    setup.idp.resume().await?;
    eventually("carol's exchange once the provider is back", || {
        let (setup, carol, session) = (&setup, &carol, &carol_session);
        async move { ok(&setup.call(carol, session, "exchange").await?) }
    })
    .await?;
    let log = setup.gateway.gateway_log();
    ensure!(
        !log.contains(&carol) && !log.contains(&bob),
        "a token in the log"
    );
    ensure!(
        !log.contains(oauth::GATEWAY_SECRET),
        "the client secret in the log"
    );
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    a_static_credential_from_a_file_is_sent_and_follows_the_file,
    each_mode_reaches_its_backend_as_configured,
    exchanged_tokens_are_cached_single_flight_and_survive_the_provider,
);
