//! 2025-era clients (rmcp, and raw JSON-RPC with a gateway session) through Envoy in front of
//! a backend that speaks only MCP 2026-07-28 (`e2e/node/modern-server.mjs`, the official
//! TypeScript SDK 2.x server with `legacy: 'reject'`): discovery, lists, calls, prompts,
//! resources and errors with no backend session; the client's declared capabilities in every
//! request's `_meta`; big integers and key order kept; and the backend's `input_required`
//! answers turned into elicitation, sampling and roots requests on the client's stream, its
//! answers carried back until the final result.
#![allow(deprecated)] // sampling: deprecated in rmcp for 2026-07-28, current in 2025-11-25.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    ExternalServer, Gateway, GatewayOptions, Mode, RawClient, TasksServer, call_tool, connect,
    connect_with, first_text, json_rpc_error, run_client2, tool_names, within,
};
use rmcp::{
    ClientHandler, ErrorData, RoleClient,
    model::{
        ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
        ElicitRequestParams, ElicitResult, ElicitationAction, ErrorCode, GetPromptRequestParams,
        Implementation, ListRootsResult, ReadResourceRequestParams, Root, SamplingMessage,
    },
    service::RequestContext,
};
use serde_json::{Value, json};

const NAME: &str = "m";

async fn gateway(server: &TasksServer, mode: Mode) -> Result<Gateway> {
    let external: [ExternalServer<'_>; 1] = [server.external()];
    Gateway::start(GatewayOptions {
        mode,
        external: &external,
        ..GatewayOptions::default()
    })
    .await
}

async fn rmcp_lists_calls_prompts_and_reads_a_2026_only_backend(mode: Mode) -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let gw = gateway(&server, mode).await?;
    let client = connect(&gw.mcp_url()).await?;

    let tools = tool_names(&client).await?;
    for tool in ["m_add", "m_raw", "m_fail", "m_ask_name"] {
        ensure!(tools.contains(tool), "{tool} missing from {tools:?}");
    }
    let sum = call_tool(&client, "m_add", json!({"a": 2, "b": 3})).await?;
    assert_eq!(first_text(&sum)?, "5");

    // A tool error is a result; an unknown tool a JSON-RPC error.
    let failed = call_tool(&client, "m_fail", json!({})).await?;
    assert_eq!(failed.is_error, Some(true));
    assert_eq!(first_text(&failed)?, "m failed on purpose");
    let unknown = call_tool(&client, "m_nope", json!({}))
        .await
        .expect_err("an unknown tool");
    let code = json_rpc_error(&unknown).map(|e| e.code);
    assert_eq!(code, Some(ErrorCode::INVALID_PARAMS), "{unknown:#}");
    // Arguments the backend refuses: its own JSON-RPC error or tool error reaches the client.
    let refused = call_tool(&client, "m_add", json!({"a": "two"})).await;
    match refused {
        Ok(result) => assert_eq!(result.is_error, Some(true), "{result:?}"),
        Err(error) => ensure!(json_rpc_error(&error).is_some(), "{error:#}"),
    }

    let prompts = within("prompts/list", client.list_all_prompts()).await?;
    ensure!(prompts.iter().any(|p| p.name == "m_greet"), "{prompts:?}");
    let mut params = GetPromptRequestParams::new("m_greet");
    if let Value::Object(arguments) = json!({"who": "Ada"}) {
        params = params.with_arguments(arguments);
    }
    let prompt = within("prompts/get", client.get_prompt(params)).await?;
    let messages = serde_json::to_value(&prompt.messages)?;
    assert_eq!(messages[0]["content"]["text"], "Greet Ada.", "{messages}");

    let resources = within("resources/list", client.list_all_resources()).await?;
    let note = resources
        .iter()
        .find(|r| r.name == "note")
        .with_context(|| format!("no note in {resources:?}"))?;
    let read = within(
        "resources/read",
        client.read_resource(ReadResourceRequestParams::new(note.uri.clone())),
    )
    .await?;
    let contents = serde_json::to_value(&read.contents)?;
    assert_eq!(contents[0]["text"], "a note from m", "{contents}");
    assert_eq!(
        contents[0]["uri"],
        note.uri.as_str(),
        "the URI the client used"
    );
    Ok(())
}

async fn sdk_2_client_in_its_2025_mode_uses_a_2026_only_backend(mode: Mode) -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let gw = gateway(&server, mode).await?;
    let out = run_client2(
        &gw.mcp_url(),
        "legacy",
        &["m_add", r#"{"a":40,"b":2}"#, "m_greet", r#"{"who":"Bo"}"#],
    )
    .await?;
    assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
    assert!(out["sessionId"].is_string(), "{out}");
    assert_eq!(out["call"]["content"][0]["text"], "42", "{out}");
    ensure!(out["prompt"].to_string().contains("Greet Bo."), "{out}");
    assert_eq!(out["read"][0]["text"], "a note from m", "{out}");
    assert_eq!(out["unknownTool"]["code"], -32602, "{out}");
    Ok(())
}

/// The broker's fan-out, the same in both modes.
#[tokio::test]
async fn logging_set_level_does_not_fail_on_a_2026_only_backend() -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let gw = gateway(&server, Mode::ExtProc).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let session = initialize(&raw, json!({})).await?;
    let reply = raw
        .request(
            Some(&session),
            3,
            "logging/setLevel",
            json!({"level": "info"}),
        )
        .await?;
    ensure!(reply.result().is_ok(), "{reply}");
    Ok(())
}

/// `initialize` declaring `capabilities`; the gateway session id.
async fn initialize(raw: &RawClient, capabilities: Value) -> Result<String> {
    let params = json!({
        "protocolVersion": "2025-11-25",
        "capabilities": capabilities,
        "clientInfo": {"name": "raw-2025", "version": "7"},
    });
    let reply = raw.request(None, 0, "initialize", params).await?;
    let session = reply
        .session_id()
        .with_context(|| format!("no session: {reply}"))?
        .to_owned();
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    raw.post(Some(&session), initialized).await?;
    Ok(session)
}

/// What the `raw` tool saw of its own request: the body as text and the headers.
fn seen(reply: &mcp_gateway_e2e::Reply) -> Result<(String, Value)> {
    let text = reply.tool_text()?;
    let seen: Value = serde_json::from_str(text)?;
    let body = seen["body"].as_str().context("no body")?.to_owned();
    Ok((body, seen["headers"].clone()))
}

async fn the_backend_gets_the_sessions_envelope_and_every_byte(mode: Mode) -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let gw = gateway(&server, mode).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let arguments = r#"{"z":9007199254740993,"a":[1.50,{"y":1,"b":-0.0}],"e":"\u00e9"}"#;

    // A client that cannot be asked: straight to the backend.
    let session = initialize(&raw, json!({})).await?;
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"m_raw","arguments":{arguments},"_meta":{{"progressToken":"t"}}}}}}"#
    );
    let reply = raw.post(Some(&session), body).await?;
    let (sent, headers) = seen(&reply).with_context(|| reply.to_string())?;
    let want = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"raw","arguments":{arguments},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/clientInfo":{{"name":"raw-2025","version":"7"}},"progressToken":"t"}}}}}}"#
    );
    assert_eq!(sent, want);
    assert_eq!(
        headers,
        json!({"mcp-method": "tools/call", "mcp-name": "raw", "mcp-protocol-version": "2026-07-28"}),
        "no session id, the 2026-07-28 headers"
    );
    ensure!(reply.session_id().is_none_or(|id| id == session), "{reply}");

    // A client that can be asked: the broker carries the call. The backend (in JavaScript,
    // which refuses ids beyond 2^53) gets an id of the gateway's; the answer has the client's.
    let session = initialize(&raw, json!({"elicitation": {}, "roots": {}})).await?;
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{{"name":"m_raw","arguments":{arguments}}}}}"#
    );
    let reply = raw.post(Some(&session), body).await?;
    ensure!(
        reply.body.contains(r#""id":9007199254740993"#),
        "the client's own id: {reply}"
    );
    let (sent, headers) = seen(&reply).with_context(|| reply.to_string())?;
    let (before_id, after_id) = sent.split_once(r#","method""#).context("no method")?;
    ensure!(before_id.starts_with(r#"{"jsonrpc":"2.0","id":"#), "{sent}");
    let sent = format!(r#"{{"jsonrpc":"2.0","id":0,"method"{after_id}"#);
    let want = format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{"elicitation":{{}},"roots":{{}}}},"io.modelcontextprotocol/clientInfo":{{"name":"raw-2025","version":"7"}}}},"name":"raw","arguments":{arguments}}}}}"#
    );
    assert_eq!(sent, want);
    assert_eq!(headers["mcp-name"], "raw");
    assert_eq!(headers["mcp-protocol-version"], "2026-07-28");
    assert_eq!(headers.get("mcp-session-id"), None);
    Ok(())
}

/// A client that answers sampling with `said <prompt>`, elicitations with a name (or as
/// `elicit` says), and roots with two.
#[derive(Debug)]
struct Answerer {
    elicit: Elicit,
    asked: Mutex<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elicit {
    Accept,
    Decline,
    Fail,
    /// Answers only after the gateway has stopped waiting.
    Late,
}

impl Answerer {
    fn new(elicit: Elicit) -> Arc<Self> {
        Arc::new(Self {
            elicit,
            asked: Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn note(&self, what: &str) {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(what.to_owned());
    }
}

impl ClientHandler for Answerer {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder()
                .enable_sampling()
                .enable_elicitation()
                .enable_roots()
                .build(),
            Implementation::new("mcp-gateway-e2e-old-client", "0"),
        )
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.note("sampling/createMessage");
        let messages = serde_json::to_value(&params.messages).unwrap_or_default();
        let prompt = messages
            .pointer("/0/content/text")
            .or_else(|| messages.pointer("/0/content/0/text"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(format!("said {prompt}")),
            "e2e-model".to_owned(),
        ))
    }

    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        self.note("elicitation/create");
        match self.elicit {
            Elicit::Accept => {
                Ok(ElicitResult::new(ElicitationAction::Accept)
                    .with_content(json!({"name": "Ada"})))
            }
            Elicit::Decline => Ok(ElicitResult::new(ElicitationAction::Decline)),
            Elicit::Fail => Err(ErrorData::internal_error("no person here", None)),
            Elicit::Late => {
                tokio::time::sleep(std::time::Duration::from_secs(4)).await;
                Ok(ElicitResult::new(ElicitationAction::Decline))
            }
        }
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        self.note("roots/list");
        Ok(ListRootsResult::new(vec![
            Root::new("file:///one"),
            Root::new("file:///two"),
        ]))
    }
}

async fn input_required_becomes_server_requests_on_an_old_clients_stream(mode: Mode) -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let gw = gateway(&server, mode).await?;
    let answerer = Answerer::new(Elicit::Accept);
    let client = connect_with(&gw.mcp_url(), answerer.clone()).await?;

    // One round: an elicitation, the backend's requestState carried back.
    let greeted = call_tool(&client, "m_ask_name", json!({})).await?;
    assert_eq!(first_text(&greeted)?, "Hello, Ada. state=asked-name");
    assert_eq!(answerer.asked(), ["elicitation/create"]);

    // Two rounds: sampling and roots together, then an elicitation.
    let all = call_tool(&client, "m_ask_all", json!({})).await?;
    assert_eq!(first_text(&all)?, "round-2:said Say hello.:2:Ada");
    let mut asked = answerer.asked();
    asked.sort();
    assert_eq!(
        asked,
        [
            "elicitation/create",
            "elicitation/create",
            "roots/list",
            "sampling/createMessage"
        ]
    );
    // Plain calls of the same client still work (the broker carries them too), and a read
    // answers with the URI the client used, as on the direct route.
    let sum = call_tool(&client, "m_add", json!({"a": 1, "b": 2})).await?;
    assert_eq!(first_text(&sum)?, "3");
    let resources = within("resources/list", client.list_all_resources()).await?;
    let note = resources
        .iter()
        .find(|r| r.name == "note")
        .with_context(|| format!("no note in {resources:?}"))?;
    let read = within(
        "resources/read",
        client.read_resource(ReadResourceRequestParams::new(note.uri.clone())),
    )
    .await?;
    let contents = serde_json::to_value(&read.contents)?;
    assert_eq!(contents[0]["text"], "a note from m", "{contents}");
    assert_eq!(
        contents[0]["uri"],
        note.uri.as_str(),
        "the URI the client used"
    );
    Ok(())
}

async fn a_declined_or_failed_question_reaches_the_backend_or_the_client(mode: Mode) -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let gw = gateway(&server, mode).await?;

    let declining = connect_with(&gw.mcp_url(), Answerer::new(Elicit::Decline)).await?;
    let declined = call_tool(&declining, "m_ask_name", json!({})).await?;
    assert_eq!(first_text(&declined)?, "Hello, (decline). state=asked-name");

    let failing = connect_with(&gw.mcp_url(), Answerer::new(Elicit::Fail)).await?;
    let failed = call_tool(&failing, "m_ask_name", json!({}))
        .await
        .expect_err("the client could not answer");
    let error = json_rpc_error(&failed).with_context(|| format!("{failed:#}"))?;
    ensure!(
        error.message.contains("no person here"),
        "the client's reason: {error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_does_not_answer_in_time_gets_an_error() -> Result<()> {
    let server = TasksServer::modern_only(NAME).await?;
    let external: [ExternalServer<'_>; 1] = [server.external()];
    let gw = Gateway::start(GatewayOptions {
        external: &external,
        gateway_args: &["--input-wait", "1s"],
        ..GatewayOptions::default()
    })
    .await?;
    let late = connect_with(&gw.mcp_url(), Answerer::new(Elicit::Late)).await?;
    let failed = call_tool(&late, "m_ask_name", json!({}))
        .await
        .expect_err("the gateway stopped waiting");
    let error = json_rpc_error(&failed).with_context(|| format!("{failed:#}"))?;
    assert_eq!(error.code, ErrorCode(-32001), "{error:?}");
    ensure!(error.message.contains("did not answer"), "{error:?}");
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(
    rmcp_lists_calls_prompts_and_reads_a_2026_only_backend,
    sdk_2_client_in_its_2025_mode_uses_a_2026_only_backend,
    the_backend_gets_the_sessions_envelope_and_every_byte,
    a_declined_or_failed_question_reaches_the_backend_or_the_client,
);

mcp_gateway_e2e::in_both_modes!(
    multi_thread:
    input_required_becomes_server_requests_on_an_old_clients_stream,
);
