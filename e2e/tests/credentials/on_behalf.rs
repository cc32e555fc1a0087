//! Requests the broker makes on a caller's behalf, outside routed calls: the
//! `logging/setLevel` fan-out, the backend GET streams relayed to the caller's stream,
//! forwarded `notifications/cancelled` and the end of the caller's backend sessions at
//! `DELETE`. Each carries the credential the caller's routed calls get, in every mode.

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{SeenCredentials, eventually};
use reqwest::StatusCode;
use serde_json::json;

use super::oauth::{Setup, claims, ok};

const SERVERS: [&str; 4] = ["exchange", "service", "passthrough", "plain"];

/// The requests of the backend session alice's `logging/setLevel` went to (the gateway's own
/// discovery sessions are other sessions).
fn alice_session(seen: &[SeenCredentials]) -> Result<Vec<SeenCredentials>> {
    let set_level = seen
        .iter()
        .find(|s| s.rpc_method.as_deref() == Some("logging/setLevel"))
        .with_context(|| format!("no logging/setLevel: {seen:?}"))?;
    let session = set_level
        .session_id
        .clone()
        .context("setLevel without a session")?;
    Ok(seen
        .iter()
        .filter(|s| s.session_id.as_deref() == Some(session.as_str()))
        .cloned()
        .collect())
}

/// Whether alice's backend session of `server` has seen each of the on-behalf requests.
fn complete(seen: &[SeenCredentials]) -> bool {
    let has = |f: &dyn Fn(&SeenCredentials) -> bool| seen.iter().any(f);
    has(&|s| s.http_method == "GET")
        && has(&|s| s.rpc_method.as_deref() == Some("notifications/cancelled"))
        && has(&|s| s.http_method == "DELETE")
}

#[tokio::test]
async fn requests_made_for_a_caller_carry_its_credential() -> Result<()> {
    let setup = Setup::start(mcp_gateway_e2e::Mode::ExtProc).await?;
    let alice = setup.token("alice").await?;
    let alice_sub = claims(&format!("Bearer {alice}"))?["sub"].clone();
    let session = setup.initialize(&alice).await?;

    // Every backend declares logging: the fan-out opens alice's backend session on each.
    let set_level = json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
        "params": {"level": "debug"}});
    ok(&setup.post(&alice, Some(&session), set_level).await?)?;
    // Her GET stream: the broker opens each backend session's stream for her.
    let _stream = setup.open_stream(&alice, &session).await?;
    eventually("every backend's GET stream for alice", || {
        let setup = &setup;
        async move {
            for server in SERVERS {
                let seen = alice_session(&setup.seen(server))?;
                ensure!(
                    seen.iter().any(|s| s.http_method == "GET"),
                    "{server}: not yet"
                );
            }
            Ok(())
        }
    })
    .await?;
    // A cancellation goes to every backend session she has; DELETE ends them.
    let cancelled = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 99, "reason": "test"}});
    let reply = setup.post(&alice, Some(&session), cancelled).await?;
    ensure!(reply.status == StatusCode::ACCEPTED, "{reply}");
    eventually("the cancellation forwarded to every backend", || {
        let setup = &setup;
        async move {
            for server in SERVERS {
                let seen = alice_session(&setup.seen(server))?;
                ensure!(
                    seen.iter()
                        .any(|s| s.rpc_method.as_deref() == Some("notifications/cancelled")),
                    "{server}: not yet"
                );
            }
            Ok(())
        }
    })
    .await?;
    ensure!(setup.delete(&alice, &session).await? == StatusCode::OK);
    eventually("alice's backend sessions ended", || {
        let setup = &setup;
        async move {
            for server in SERVERS {
                ensure!(complete(&alice_session(&setup.seen(server))?), "{server}");
            }
            Ok(())
        }
    })
    .await?;

    // Each backend saw, on every request of alice's session, what her routed calls get.
    let exchange = alice_session(&setup.seen("exchange"))?;
    let token = exchange[0].authorization.clone().unwrap_or_default();
    let c = claims(&token).with_context(|| format!("{exchange:?}"))?;
    ensure!(c["sub"] == alice_sub, "exchanged for alice: {c}");
    ensure!(c["aud"] == setup.url("exchange").as_str(), "{c}");
    same_everywhere(&exchange, Some(&token))?;

    let service = alice_session(&setup.seen("service"))?;
    let token = service[0].authorization.clone().unwrap_or_default();
    let c = claims(&token).with_context(|| format!("{service:?}"))?;
    ensure!(c["sub"] != alice_sub, "the gateway's own token: {c}");
    ensure!(c["aud"] == setup.url("service").as_str(), "{c}");
    same_everywhere(&service, Some(&token))?;

    let own = format!("Bearer {alice}");
    same_everywhere(&alice_session(&setup.seen("passthrough"))?, Some(&own))?;
    same_everywhere(&alice_session(&setup.seen("plain"))?, None)?;

    let log = setup.gateway.gateway_log();
    ensure!(!log.contains(&alice), "alice's token in the gateway's log");
    Ok(())
}

/// Every request carries `authorization` exactly, and no `X-Api-Key`.
fn same_everywhere(seen: &[SeenCredentials], authorization: Option<&str>) -> Result<()> {
    ensure!(complete(seen), "{seen:?}");
    let wrong: Vec<(&str, Option<&str>)> = seen
        .iter()
        .filter(|s| s.authorization.as_deref() != authorization || s.api_key.is_some())
        .map(|s| {
            let what = s.rpc_method.as_deref().unwrap_or(s.http_method.as_str());
            (
                what,
                s.authorization.as_deref().map(|_| "another credential"),
            )
        })
        .collect();
    ensure!(
        wrong.is_empty(),
        "requests without the credential: {wrong:?}"
    );
    Ok(())
}
