//! MCP 2026-07-28 clients that can be asked (sampling, elicitation, roots), through Envoy, in
//! front of a 2025-era backend (the official TypeScript SDK 1.x, `e2e/node/tasks-server.mjs`)
//! whose tools ask the client on the call's stream: each question reaches the client as an
//! `input_required` result, and the client's repeated request carries the answer back to the
//! backend request that asked (multi-round-trip requests). The official TypeScript SDK 2.x
//! client drives it; raw requests check the `requestState` rules.

use anyhow::Result;
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, IdentityProvider, Mode, RawClient, RedisServer, Reply, TasksServer,
    eventually, run_mrtr_client,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";
const INVALID_PARAMS: i64 = -32602;

async fn gateway(server: &TasksServer) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        external: &[server.external()],
        ..GatewayOptions::default()
    })
    .await
}

/// The JSON a tool of the tasks server returned as its text.
fn tool_json(out: &Value) -> Value {
    let text = out["content"][0]["text"].as_str().unwrap_or_default();
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The methods the client was asked, in order.
fn asked(out: &Value) -> Vec<String> {
    out["asked"]
        .as_array()
        .map(|asked| {
            asked
                .iter()
                .filter_map(|a| a["method"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn sdk_2_client_answers_elicitation_sampling_and_roots_by_retrying() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let url = gw.mcp_url();

    let out = run_mrtr_client(&url, "modern", "ta_ask_name", "{}").await?;
    assert_eq!(out["protocolVersion"], MODERN, "{out}");
    assert_eq!(out["sessionId"], Value::Null, "{out}");
    assert_eq!(asked(&out), ["elicitation/create"], "{out}");
    assert_eq!(out["asked"][0]["message"], "ta asks: what is your name?");
    assert_eq!(
        tool_json(&out),
        json!({"action": "accept", "content": {"name": "Ada"}}),
        "{out}"
    );

    let out = run_mrtr_client(&url, "modern", "ta_sample", "{}").await?;
    assert_eq!(asked(&out), ["sampling/createMessage"], "{out}");
    assert_eq!(
        tool_json(&out),
        json!({"text": "sampled: ta: write a haiku"}),
        "{out}"
    );

    let out = run_mrtr_client(&url, "modern", "ta_list_roots", "{}").await?;
    assert_eq!(asked(&out), ["roots/list"], "{out}");
    assert_eq!(tool_json(&out)[0]["uri"], "file:///e2e-root", "{out}");
    Ok(())
}

#[tokio::test]
async fn two_questions_in_one_call_take_two_rounds() -> Result<()> {
    two_rounds(Mode::ExtProc).await
}

#[tokio::test]
async fn two_questions_in_one_call_take_two_rounds_with_the_envoy_module() -> Result<()> {
    two_rounds(Mode::Module).await
}

async fn two_rounds(mode: Mode) -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = Gateway::start(GatewayOptions {
        external: &[server.external()],
        mode,
        ..GatewayOptions::default()
    })
    .await?;
    let out = run_mrtr_client(&gw.mcp_url(), "modern", "ta_interview", "{}").await?;
    assert_eq!(
        asked(&out),
        ["elicitation/create", "sampling/createMessage"],
        "{out}"
    );
    assert_eq!(
        tool_json(&out),
        json!({"action": "accept", "name": "Ada", "greeting": "sampled: greet Ada"}),
        "{out}"
    );
    Ok(())
}

#[tokio::test]
async fn a_2025_client_is_still_asked_on_the_calls_stream() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let out = run_mrtr_client(&gw.mcp_url(), "legacy", "ta_interview", "{}").await?;
    assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
    assert!(out["sessionId"].is_string(), "{out}");
    assert_eq!(
        asked(&out),
        ["elicitation/create", "sampling/createMessage"],
        "{out}"
    );
    assert_eq!(tool_json(&out)["greeting"], "sampled: greet Ada", "{out}");
    Ok(())
}

/// A 2026-07-28 `tools/call` of `tool` declaring `capabilities`, with `extra` params members.
async fn call(
    raw: &RawClient,
    id: u64,
    tool: &str,
    capabilities: Value,
    extra: Value,
) -> Result<Reply> {
    call_as(raw, None, id, tool, capabilities, extra).await
}

/// [`call`] with `token` as the bearer token, when given.
async fn call_as(
    raw: &RawClient,
    token: Option<&str>,
    id: u64,
    tool: &str,
    capabilities: Value,
    extra: Value,
) -> Result<Reply> {
    let mut params = json!({
        "name": tool,
        "arguments": {},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": capabilities,
        },
    });
    if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
        params.extend(extra.clone());
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", tool),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer.as_str()));
    }
    raw.post_with(&headers, body.to_string()).await
}

/// The one input request of an `input_required` result: (key, request), and its state.
fn question(reply: &Reply) -> Result<(String, Value, String)> {
    let result = reply.result()?;
    anyhow::ensure!(
        result["resultType"] == "input_required",
        "not input_required: {reply}"
    );
    let requests = result["inputRequests"]
        .as_object()
        .filter(|r| r.len() == 1)
        .ok_or_else(|| anyhow::anyhow!("one input request expected: {reply}"))?;
    let (key, request) = requests.iter().next().expect("one");
    let state = result["requestState"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no requestState: {reply}"))?;
    Ok((key.clone(), request.clone(), state.to_owned()))
}

#[tokio::test]
async fn request_state_is_checked_and_unanswered_questions_are_asked_again() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let caps = json!({"elicitation": {}});

    let first = call(&raw, 1, "ta_ask_name", caps.clone(), json!({})).await?;
    assert_eq!(first.status, StatusCode::OK, "{first}");
    assert_eq!(first.session_id(), None, "{first}");
    let (key, request, state) = question(&first)?;
    assert_eq!(request["method"], "elicitation/create", "{first}");
    assert_eq!(
        request["params"]["message"], "ta asks: what is your name?",
        "{first}"
    );
    let answer = json!({key.clone(): {"action": "accept", "content": {"name": "Grace"}}});

    // A tampered state, and the right state from a caller of another capability class (so of
    // another held session): the spec's error, and the call still waits.
    for (state, caps) in [
        (format!("{state}x"), caps.clone()),
        (String::from("not-a-state"), caps.clone()),
        (state.clone(), json!({"elicitation": {}, "sampling": {}})),
    ] {
        let extra = json!({"inputResponses": answer, "requestState": state});
        let reply = call(&raw, 2, "ta_ask_name", caps, extra).await?;
        assert_eq!(reply.error_code(), Some(INVALID_PARAMS), "{reply}");
        assert_eq!(
            reply
                .message
                .as_ref()
                .and_then(|m| m.pointer("/error/data/reason")),
            Some(&json!("invalid_request_state")),
            "{reply}"
        );
        assert!(reply.body.contains(r#""id":2"#), "{reply}");
    }

    // A retry without the answer is asked again, under a new state.
    let extra = json!({"requestState": state});
    let again = call(&raw, 3, "ta_ask_name", caps.clone(), extra).await?;
    let (key_again, request_again, state_again) = question(&again)?;
    assert_eq!((&key_again, &request_again), (&key, &request), "{again}");
    assert_ne!(state_again, state, "{again}");

    // The used state is gone; the new one finishes the call.
    let extra = json!({"inputResponses": answer, "requestState": state});
    let stale = call(&raw, 4, "ta_ask_name", caps.clone(), extra).await?;
    assert_eq!(stale.error_code(), Some(INVALID_PARAMS), "{stale}");
    let extra = json!({"inputResponses": answer, "requestState": state_again});
    let done = call(&raw, 5, "ta_ask_name", caps, extra).await?;
    assert_eq!(done.result()?["resultType"], "complete", "{done}");
    assert!(done.body.contains(r#""id":5"#), "{done}");
    let text: Value = serde_json::from_str(done.tool_text()?)?;
    assert_eq!(
        text,
        json!({"action": "accept", "content": {"name": "Grace"}})
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_cannot_be_asked_keeps_the_direct_route() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    // Nothing declared: the backend (TypeScript SDK) refuses to elicit, and says so.
    let reply = call(&raw, 1, "ta_ask_name", json!({}), json!({})).await?;
    let result = reply.result()?;
    assert_eq!(result["resultType"], "complete", "{reply}");
    assert_eq!(result["isError"], true, "{reply}");

    // The broker's internal headers, sent by the client, are dropped: the same answer.
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "ta_ask_name", "arguments": {},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }});
    let spoofed = raw
        .post_with(
            &[
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "tools/call"),
                ("mcp-name", "ta_ask_name"),
                ("x-mcp-mrtr-server", "ta"),
                ("x-mcp-mrtr-held", "held.7."),
                ("x-mcp-mrtr-forwarded", "1"),
            ],
            body.to_string(),
        )
        .await?;
    let result = spoofed.result()?;
    assert_eq!(result["resultType"], "complete", "{spoofed}");
    assert_eq!(result["isError"], true, "{spoofed}");
    Ok(())
}

#[tokio::test]
async fn a_backend_gone_while_the_call_waits_is_a_clear_error() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let caps = json!({"elicitation": {}});
    let first = call(&raw, 1, "ta_ask_name", caps.clone(), json!({})).await?;
    let (key, _, state) = question(&first)?;
    drop(server);
    let extra = json!({
        "inputResponses": {key: {"action": "accept", "content": {"name": "Grace"}}},
        "requestState": state,
    });
    let reply = call(&raw, 2, "ta_ask_name", caps, extra).await?;
    assert_eq!(reply.error_code(), Some(-32603), "{reply}");
    assert!(
        reply
            .error_message()
            .is_some_and(|m| m.contains("MCP server 'ta'")),
        "{reply}"
    );
    assert!(reply.body.contains(r#""id":2"#), "{reply}");
    Ok(())
}

#[tokio::test]
async fn waiting_calls_are_bounded_in_time_and_number() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = Gateway::start(GatewayOptions {
        external: &[server.external()],
        gateway_args: &["--input-wait", "1s", "--max-waiting-calls", "1"],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let caps = json!({"elicitation": {}});

    let waiting = call(&raw, 1, "ta_ask_name", caps.clone(), json!({})).await?;
    let (key, _, state) = question(&waiting)?;
    // One call waits already: the backend's question is answered with an error, which the
    // tool reports.
    let refused = call(&raw, 2, "ta_ask_name", caps.clone(), json!({})).await?;
    assert_eq!(refused.result()?["resultType"], "complete", "{refused}");
    assert!(
        refused
            .body
            .contains("the gateway holds too many calls waiting for input"),
        "{refused}"
    );

    // Not answered in time: the state is no longer accepted.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let extra = json!({
        "inputResponses": {key: {"action": "accept", "content": {"name": "Grace"}}},
        "requestState": state,
    });
    let late = call(&raw, 3, "ta_ask_name", caps.clone(), extra).await?;
    assert_eq!(late.error_code(), Some(INVALID_PARAMS), "{late}");

    // The place is free again.
    let next = call(&raw, 4, "ta_ask_name", caps, json!({})).await?;
    question(&next)?;
    Ok(())
}

#[tokio::test]
async fn a_retry_reaching_another_replica_is_forwarded_to_the_one_holding_the_call() -> Result<()> {
    let redis = RedisServer::start().await?;
    let server = TasksServer::start("ta").await?;
    let store = redis.url();
    let external = [server.external()];
    let args = [
        "--session-store",
        &store,
        "--session-key",
        "e2e-mrtr-replicas",
    ];
    let options = GatewayOptions {
        external: &external,
        gateway_args: &args,
        ..GatewayOptions::default()
    };
    let (a, b) = tokio::try_join!(Gateway::start(options), Gateway::start(options))?;
    let (a, b) = (RawClient::new(&a.mcp_url())?, RawClient::new(&b.mcp_url())?);
    let caps = json!({"elicitation": {}});

    let first = call(&a, 1, "ta_ask_name", caps.clone(), json!({})).await?;
    let (key, _, state) = question(&first)?;
    let extra = json!({
        "inputResponses": {key: {"action": "accept", "content": {"name": "Grace"}}},
        "requestState": state,
    });
    let done = call(&b, 2, "ta_ask_name", caps, extra).await?;
    assert_eq!(done.result()?["resultType"], "complete", "{done}");
    assert!(done.body.contains(r#""id":2"#), "{done}");
    let text: Value = serde_json::from_str(done.tool_text()?)?;
    assert_eq!(text["content"]["name"], "Grace", "{done}");
    Ok(())
}

#[tokio::test]
async fn a_prompt_that_asks_and_a_call_that_does_not() -> Result<()> {
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let raw = RawClient::new(&gw.mcp_url())?;
    let caps = json!({"elicitation": {}});
    let get = |id: u64, extra: Value| {
        let mut params = json!({
            "name": "ta_greeting",
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": caps.clone(),
            },
        });
        if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
            params.extend(extra.clone());
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "prompts/get", "params": params});
        let raw = raw.clone();
        async move {
            raw.post_with(
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "prompts/get"),
                    ("mcp-name", "ta_greeting"),
                ],
                body.to_string(),
            )
            .await
        }
    };
    let first = get(1, json!({})).await?;
    let (key, request, state) = question(&first)?;
    assert_eq!(request["method"], "elicitation/create", "{first}");
    let extra = json!({
        "inputResponses": {key: {"action": "accept", "content": {"name": "Grace"}}},
        "requestState": state,
    });
    let done = get(2, extra).await?;
    let result = done.result()?;
    assert_eq!(result["resultType"], "complete", "{done}");
    assert_eq!(
        result["messages"][0]["content"]["text"], "Greet Grace (accept)",
        "{done}"
    );

    // A call of the same client that asks nothing: answered at once, every byte of the
    // backend's result kept behind the added member.
    let echo = call(
        &raw,
        3,
        "ta_slow_echo",
        caps,
        json!({"arguments": {"text": "x", "delayMs": 0}}),
    )
    .await?;
    assert!(
        echo.body
            .contains(r#""result":{"resultType":"complete","content":[{"type":"text","text":"ta echoes: x"}]}"#),
        "{echo}"
    );
    Ok(())
}

#[tokio::test]
async fn with_auth_a_state_is_only_good_for_the_caller_it_was_given_to() -> Result<()> {
    let idp = IdentityProvider::start("alice:alice-secret,bob:bob-secret").await?;
    let server = TasksServer::start("ta").await?;
    let gw = gateway(&server).await?;
    let resource = gw.mcp_url();
    let yaml = format!(
        "{}{}",
        gw.config_yaml_of(&["ta"])?,
        idp.auth_section(&resource)
    );
    gw.write_config(&yaml)?;
    let raw = RawClient::new(&resource)?;
    let token = |client: &'static str| {
        let (idp, resource) = (&idp, &resource);
        async move {
            idp.client_token(client, &format!("{client}-secret"), resource, Some("mcp"))
                .await
        }
    };
    let (alice, bob) = (token("alice").await?, token("bob").await?);
    let caps = json!({"elicitation": {}});
    let first = eventually("auth on, and alice asked for her name", || {
        let (raw, alice, caps) = (&raw, &alice, caps.clone());
        async move {
            let anonymous = call(raw, 1, "ta_ask_name", caps.clone(), json!({})).await?;
            anyhow::ensure!(anonymous.status == StatusCode::UNAUTHORIZED, "{anonymous}");
            let reply = call_as(raw, Some(alice), 1, "ta_ask_name", caps, json!({})).await?;
            question(&reply)?;
            Ok(reply)
        }
    })
    .await?;
    let (key, _, state) = question(&first)?;
    let extra = json!({
        "inputResponses": {key: {"action": "accept", "content": {"name": "Alice"}}},
        "requestState": state,
    });
    let stolen = call_as(
        &raw,
        Some(&bob),
        2,
        "ta_ask_name",
        caps.clone(),
        extra.clone(),
    )
    .await?;
    assert_eq!(stolen.error_code(), Some(INVALID_PARAMS), "{stolen}");
    let done = call_as(&raw, Some(&alice), 3, "ta_ask_name", caps, extra).await?;
    let text: Value = serde_json::from_str(done.tool_text()?)?;
    assert_eq!(text["content"]["name"], "Alice", "{done}");
    Ok(())
}
