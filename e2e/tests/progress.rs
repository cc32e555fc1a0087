//! Through Envoy with two conformance fixtures (`a_`, `b_`) and a real rmcp client:
//! `notifications/progress` a backend sends while its tool runs reaches the client, for
//! calls to both backends at once, whether or not the router watches the answer (a client
//! that can be sampled takes the observed route, whose SSE answers the router rewrites;
//! a sampling request reaching that client with the gateway's id shows it was taken).
#![allow(deprecated)] // sampling: deprecated in rmcp for 2026-07-28, current in 2025-11-25.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
};

use anyhow::Result;
use mcp_gateway_e2e::{Gateway, GatewayOptions, Mode, call_text, connect_with};
use rmcp::{
    ClientHandler, ErrorData, RoleClient,
    model::{
        ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
        Implementation, ProgressNotificationParam, ProgressToken, RequestId, SamplingMessage,
    },
    service::{NotificationContext, RequestContext},
};
use serde_json::json;

/// Records every progress notification by its token, and the id of every sampling
/// request (which it answers with `sampled`).
#[derive(Debug, Default)]
struct Progress {
    sampling: bool,
    seen: Mutex<BTreeMap<String, Vec<f64>>>,
    sampling_ids: Mutex<Vec<RequestId>>,
}

impl ClientHandler for Progress {
    fn get_info(&self) -> ClientConfig {
        let capabilities = if self.sampling {
            ClientCapabilities::builder().enable_sampling().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(
            capabilities,
            Implementation::new("mcp-gateway-e2e-progress", "0"),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let ProgressToken(token) = params.progress_token;
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(serde_json::to_string(&token).unwrap_or_default())
            .or_default()
            .push(params.progress);
    }

    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.sampling_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(context.id);
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text("sampled"),
            "e2e-model".to_owned(),
        )
        .with_stop_reason(CreateMessageResult::STOP_REASON_END_TURN))
    }
}

async fn progress_of_both_backends(sampling: bool, mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        conformance: &["a", "b"],
        ..GatewayOptions::default()
    })
    .await?;
    let handler = Progress {
        sampling,
        ..Progress::default()
    };
    let client = connect_with(&gateway.mcp_url(), handler).await?;

    let (a, b) = tokio::join!(
        call_text(&client, "a_test_tool_with_progress", json!({})),
        call_text(&client, "b_test_tool_with_progress", json!({})),
    );
    a?;
    b?;
    // Notifications of a request arrive before its answer on the same stream.
    let seen = client
        .service()
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(seen.len(), 2, "one progress token per call: {seen:?}");
    for (token, values) in &seen {
        assert_eq!(values, &[0.0, 50.0, 100.0], "progress of {token}");
    }

    if sampling {
        // The router watches this session's answers: a request a backend sends on one
        // reaches the client as "a:<id>", which only the router's rewrite produces.
        let answer = call_text(&client, "a_test_sampling", json!({"prompt": "hi"})).await?;
        assert_eq!(answer, "LLM response: sampled");
        let ids = client
            .service()
            .sampling_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        assert_eq!(ids.len(), 1, "one sampling request: {ids:?}");
        let id = serde_json::to_value(&ids[0])?;
        assert!(
            id.as_str().is_some_and(|id| id.starts_with("a:")),
            "the client saw the sampling request as {id}, not as the gateway's \"a:<id>\""
        );
    }
    client.cancel().await?;
    Ok(())
}

async fn progress_of_two_backends_reaches_the_client(mode: Mode) -> Result<()> {
    progress_of_both_backends(false, mode).await
}

async fn progress_passes_the_router_when_it_watches_the_answer(mode: Mode) -> Result<()> {
    progress_of_both_backends(true, mode).await
}

mcp_gateway_e2e::in_both_modes!(
    progress_of_two_backends_reaches_the_client,
    progress_passes_the_router_when_it_watches_the_answer,
);
