//! Through Envoy with two conformance fixtures (`a_`, `b_`) and a real rmcp client:
//! requests a backend sends the client while one of its tools runs (sampling,
//! elicitation) reach the client with gateway-unique ids, and each answer goes back to
//! the backend that asked, even when both backends used the same id.
#![allow(deprecated)] // sampling: deprecated in rmcp for 2026-07-28, current in 2025-11-25.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, Mode, call_text, connect_with};
use rmcp::{
    ClientHandler, ErrorData, RoleClient,
    model::{
        ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
        ElicitRequestParams, ElicitResult, ElicitationAction, Implementation, RequestId,
        SamplingMessage,
    },
    service::RequestContext,
};
use serde_json::{Value, json};
use tokio::sync::watch;

/// How long a sampling request waits for the other one to arrive before answering.
const QUORUM_WAIT: Duration = Duration::from_secs(10);

/// What the client answers an elicitation with.
fn elicited_content() -> Value {
    json!({"username": "octocat", "email": "octocat@example.com"})
}

/// A client that can sample and be asked questions. A sampling request is answered
/// with `reply to <prompt>` once `quorum` sampling requests are in flight together
/// (or after [`QUORUM_WAIT`]), so concurrent requests provably overlap.
#[derive(Debug)]
struct Answerer {
    quorum: usize,
    arrived: watch::Sender<usize>,
    /// Ids of the sampling requests, as the client received them.
    sampling_ids: Mutex<Vec<RequestId>>,
    /// Most sampling requests in flight at once.
    most_in_flight: Mutex<(usize, usize)>,
    /// (id, message) of the elicitation requests.
    elicitations: Mutex<Vec<(RequestId, String)>>,
}

impl Answerer {
    fn new(quorum: usize) -> Arc<Self> {
        Arc::new(Self {
            quorum,
            arrived: watch::channel(0).0,
            sampling_ids: Mutex::new(Vec::new()),
            most_in_flight: Mutex::new((0, 0)),
            elicitations: Mutex::new(Vec::new()),
        })
    }

    fn sampling_ids(&self) -> Vec<RequestId> {
        self.sampling_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn most_in_flight(&self) -> usize {
        self.most_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
    }

    fn elicitations(&self) -> Vec<(RequestId, String)> {
        self.elicitations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts a sampling request in (`+1`) or out (`-1`).
    fn track(&self, entering: bool) {
        let mut counts = self
            .most_in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if entering {
            counts.0 += 1;
            counts.1 = counts.1.max(counts.0);
        } else {
            counts.0 = counts.0.saturating_sub(1);
        }
    }
}

impl ClientHandler for Answerer {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder()
                .enable_sampling()
                .enable_elicitation()
                .build(),
            Implementation::new("mcp-gateway-e2e-answerer", "0"),
        )
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.sampling_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(context.id.clone());
        self.track(true);
        self.arrived.send_modify(|count| *count += 1);
        let mut arrived = self.arrived.subscribe();
        let quorum = self.quorum;
        // Answer early only when the others came: a timeout here shows in most_in_flight.
        let _ = tokio::time::timeout(QUORUM_WAIT, arrived.wait_for(|count| *count >= quorum)).await;
        self.track(false);
        let prompt = prompt_text(&params)
            .ok_or_else(|| ErrorData::invalid_params("no text in the sampling request", None))?;
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(format!("reply to {prompt}")),
            "e2e-model".to_owned(),
        )
        .with_stop_reason(CreateMessageResult::STOP_REASON_END_TURN))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let message = match &request {
            ElicitRequestParams::FormElicitationParams { message, .. } => message.clone(),
            other => {
                return Err(ErrorData::invalid_params(
                    format!("expected a form elicitation, got {other:?}"),
                    None,
                ));
            }
        };
        self.elicitations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((context.id, message));
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(elicited_content()))
    }
}

/// The text of the first message of a sampling request.
fn prompt_text(params: &CreateMessageRequestParams) -> Option<String> {
    let messages = serde_json::to_value(&params.messages).ok()?;
    let content = messages.pointer("/0/content")?;
    let text = match content {
        Value::Array(blocks) => blocks.first()?.get("text")?,
        block => block.get("text")?,
    };
    text.as_str().map(str::to_owned)
}

/// A string request id `"<server>:<original>"`, split.
fn split_gateway_id(id: &RequestId) -> Result<(String, String)> {
    let value = serde_json::to_value(id)?;
    let text = value
        .as_str()
        .with_context(|| format!("the gateway id {value} is not a string"))?;
    let (server, original) = text
        .split_once(':')
        .with_context(|| format!("the gateway id {text:?} has no server part"))?;
    Ok((server.to_owned(), original.to_owned()))
}

async fn fixtures(mode: Mode) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        mode,
        conformance: &["a", "b"],
        ..GatewayOptions::default()
    })
    .await
}

async fn concurrent_sampling_with_colliding_ids_reaches_the_right_backend(
    mode: Mode,
) -> Result<()> {
    let gateway = fixtures(mode).await?;
    let answerer = Answerer::new(2);
    let client = connect_with(&gateway.mcp_url(), answerer.clone()).await?;

    let (from_a, from_b) = tokio::join!(
        call_text(&client, "a_test_sampling", json!({"prompt": "from a"})),
        call_text(&client, "b_test_sampling", json!({"prompt": "from b"})),
    );
    // Each backend got the answer to its own question.
    assert_eq!(from_a?, "LLM response: reply to from a");
    assert_eq!(from_b?, "LLM response: reply to from b");

    assert_eq!(
        answerer.most_in_flight(),
        2,
        "both sampling requests must have been pending at once"
    );
    let ids = answerer.sampling_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1], "the client saw one id twice: {ids:?}");
    let mut split = ids
        .iter()
        .map(split_gateway_id)
        .collect::<Result<Vec<_>>>()?;
    split.sort();
    let servers: Vec<&str> = split.iter().map(|(server, _)| server.as_str()).collect();
    assert_eq!(servers, ["a", "b"], "{ids:?}");
    // Both backends numbered their first request alike: the collision was real.
    assert_eq!(split[0].1, split[1].1, "{ids:?}");

    // The same session keeps working: a second round, one after the other.
    assert_eq!(
        call_text(&client, "b_test_sampling", json!({"prompt": "again"})).await?,
        "LLM response: reply to again"
    );
    client.cancel().await?;
    Ok(())
}

async fn elicitation_answer_reaches_the_backend_that_asked(mode: Mode) -> Result<()> {
    let gateway = fixtures(mode).await?;
    let answerer = Answerer::new(1);
    let client = connect_with(&gateway.mcp_url(), answerer.clone()).await?;

    let text = call_text(
        &client,
        "b_test_elicitation",
        json!({"message": "Who are you?"}),
    )
    .await?;
    let content = text
        .strip_prefix("User response: action=accept, content=")
        .with_context(|| format!("unexpected tool result {text:?}"))?;
    let content: Value = serde_json::from_str(content)
        .with_context(|| format!("the answer in {text:?} is not JSON"))?;
    assert_eq!(content, elicited_content());

    let elicitations = answerer.elicitations();
    ensure!(elicitations.len() == 1, "{elicitations:?}");
    let (id, message) = &elicitations[0];
    assert_eq!(message, "Who are you?");
    assert_eq!(split_gateway_id(id)?.0, "b", "{id:?}");

    client.cancel().await?;
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    multi_thread:
    concurrent_sampling_with_colliding_ids_reaches_the_right_backend,
    elicitation_answer_reaches_the_backend_that_asked,
);
