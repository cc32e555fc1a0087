//! Through Envoy with two backends: `logging/setLevel` fanned out to every backend
//! that declares logging, on the client's own backend sessions, and
//! `notifications/cancelled` forwarded to the backend sessions the client has open.
#![allow(deprecated)] // logging: deprecated in rmcp for 2026-07-28, current in 2025-11-25.

use anyhow::{Result, bail, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, Mode, ServerKind, call_text, eventually, within};
use reqwest::StatusCode;
use rmcp::model::{LoggingLevel, SetLevelRequestParams};
use serde_json::json;

async fn both(mode: Mode) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await
}

async fn set_level_reaches_every_backend_once_per_session(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let (calc, text) = (gateway.backend("calc")?, gateway.backend("text")?);
    let (calc_before, text_before) = (calc.stats().await?, text.stats().await?);
    let client = gateway.client().await?;

    within(
        "logging/setLevel debug",
        client.set_level(SetLevelRequestParams::new(LoggingLevel::Debug)),
    )
    .await?;
    for (backend, before) in [(calc, &calc_before), (text, &text_before)] {
        let after = backend.stats().await?;
        let name = backend.name();
        assert_eq!(after.log_level.as_deref(), Some("debug"), "{name}");
        assert_eq!(
            after.initialize,
            before.initialize + 1,
            "setLevel must open exactly one {name} session for the client session"
        );
    }

    // Routed calls and a second setLevel reuse the sessions setLevel opened.
    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 1, "b": 2})).await?,
        "3"
    );
    assert_eq!(
        call_text(&client, "text_upper", json!({"text": "a"})).await?,
        "A"
    );
    within(
        "logging/setLevel warning",
        client.set_level(SetLevelRequestParams::new(LoggingLevel::Warning)),
    )
    .await?;
    for (backend, before) in [(calc, &calc_before), (text, &text_before)] {
        let after = backend.stats().await?;
        let name = backend.name();
        assert_eq!(after.log_level.as_deref(), Some("warning"), "{name}");
        assert_eq!(after.initialize, before.initialize + 1, "{name}");
    }

    client.cancel().await?;
    Ok(())
}

async fn cancellations_reach_the_backend_sessions_of_the_client(mode: Mode) -> Result<()> {
    let gateway = both(mode).await?;
    let (calc, text) = (gateway.backend("calc")?, gateway.backend("text")?);
    let (calc_before, text_before) = (calc.stats().await?, text.stats().await?);
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let cancel = |id: u64| json!({"requestId": id, "reason": "e2e"});

    // No backend session yet: accepted, and nothing to forward it to.
    let reply = raw
        .notify(Some(&session), "notifications/cancelled", cancel(76))
        .await?;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply}");

    let sum = raw
        .call_tool(Some(&session), "calc_add", json!({"a": 2, "b": 3}))
        .await?;
    assert_eq!(sum.tool_text()?, "5");
    let upper = raw
        .call_tool(Some(&session), "text_upper", json!({"text": "b"}))
        .await?;
    assert_eq!(upper.tool_text()?, "B");

    let reply = raw
        .notify(Some(&session), "notifications/cancelled", cancel(77))
        .await?;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply}");
    ensure!(
        reply.body.is_empty(),
        "a notification has no response: {reply}"
    );

    for (backend, before) in [(calc, &calc_before), (text, &text_before)] {
        let name = backend.name();
        let after = eventually(&format!("{name} to receive the cancellation"), || async {
            let stats = backend.stats().await?;
            if stats.cancellations == before.cancellations {
                bail!("{name} has received no cancellation yet");
            }
            Ok(stats)
        })
        .await?;
        // Exactly the one sent while the client had a session on it, with its id.
        assert_eq!(after.cancellations, before.cancellations + 1, "{name}");
        assert_eq!(after.last_cancelled_request, Some(json!(77)), "{name}");
    }

    // Nothing broke: the session and its backend sessions still work.
    let sum = raw
        .call_tool(Some(&session), "calc_add", json!({"a": 1, "b": 1}))
        .await?;
    assert_eq!(sum.tool_text()?, "2");
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    set_level_reaches_every_backend_once_per_session,
    cancellations_reach_the_backend_sessions_of_the_client,
);
