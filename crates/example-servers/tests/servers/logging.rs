//! `logging/setLevel` and `notifications/cancelled`, observed through `/stats`.
#![allow(deprecated)] // logging: deprecated in rmcp for 2026-07-28, current in 2025-11-25.

use std::time::Duration;

use mcp_gateway_example_servers::ServerKind;
use rmcp::model::{
    CancelledNotificationParam, LoggingLevel, NumberOrString, SetLevelRequestParams,
};
use serde_json::json;

use crate::support::{STEP, assert_ok_text, call, connect, start};

#[tokio::test]
async fn set_level_is_remembered() -> anyhow::Result<()> {
    for kind in [ServerKind::Calc, ServerKind::Text] {
        let server = start(kind).await?;
        let client = connect(&server.url).await?;
        assert!(
            client
                .peer_info()
                .expect("initialized")
                .capabilities
                .logging
                .is_some()
        );
        assert_eq!(server.stats().await?.log_level, None);
        client
            .set_level(SetLevelRequestParams::new(LoggingLevel::Warning))
            .await?;
        assert_eq!(server.stats().await?.log_level.as_deref(), Some("warning"));
        client
            .set_level(SetLevelRequestParams::new(LoggingLevel::Debug))
            .await?;
        assert_eq!(server.stats().await?.log_level.as_deref(), Some("debug"));
    }
    Ok(())
}

#[tokio::test]
async fn cancellations_are_counted_with_their_request_id() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;
    client
        .notify_cancelled(CancelledNotificationParam::new(
            Some(NumberOrString::Number(4242)),
            Some("test".to_owned()),
        ))
        .await?;
    // A notification has no response: poll until the server has handled it.
    let deadline = tokio::time::Instant::now() + STEP;
    let stats = loop {
        let stats = server.stats().await?;
        if stats.cancellations > 0 || tokio::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stats.cancellations, 1);
    assert_eq!(stats.last_cancelled_request, Some(json!(4242)));
    // The session still works.
    assert_ok_text(&call(&client, "add", json!({"a": 1, "b": 1})).await?, "2");
    Ok(())
}
