//! Virtual servers through real Envoy, in both data-plane modes: two rmcp backends (calc and
//! text) behind the gateway, and the config's `virtualServers:` exposing a subset of them on
//! `/v/<name>/mcp`. A client there lists only the subset, calls a tool in it, gets the
//! unknown-tool error for one outside it, and cannot use its session on another endpoint;
//! `/mcp` still offers everything.

use std::collections::BTreeSet;

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, Mode, RawClient, SESSION_HEADER, ServerKind, call_text, eventually,
    json_rpc_error, list_tools,
};
use mcp_gateway_protocol::handoff;
use reqwest::StatusCode;
use serde_json::json;

/// What the gateway logs when it refuses a config file.
const REJECTED: &str = "configuration rejected";

/// JSON-RPC "invalid params": the code of an unknown tool.
const INVALID_PARAMS: i32 = -32602;

const VIRTUAL_SERVERS: &str = "virtualServers:
- {name: maths, tools: [calc_add, calc_multiply], hostnames: [maths.mcp.example]}
- {name: texts, servers: [text]}
";

#[tokio::test]
async fn a_virtual_server_exposes_only_its_subset_ext_proc() -> Result<()> {
    a_virtual_server_exposes_only_its_subset(Mode::ExtProc).await
}

#[tokio::test]
async fn a_virtual_server_exposes_only_its_subset_module() -> Result<()> {
    a_virtual_server_exposes_only_its_subset(Mode::Module).await
}

async fn a_virtual_server_exposes_only_its_subset(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        mode,
        ..GatewayOptions::default()
    })
    .await?;
    let maths_url = gateway.envoy_url("/v/maths/mcp");
    let maths = RawClient::new(&maths_url)?;

    // Before the config names it, the endpoint does not exist.
    let missing = maths.initialize_as("2025-06-18").await?;
    ensure!(missing.status == StatusCode::NOT_FOUND, "{missing}");
    ensure!(
        missing
            .error_message()
            .is_some_and(|m| m.contains("no virtual server named \"maths\"")),
        "{missing}"
    );

    let config = gateway.config_yaml(&[ServerKind::Calc, ServerKind::Text])?;
    gateway.write_config(&format!("{config}{VIRTUAL_SERVERS}"))?;
    eventually("the reloaded config to serve /v/maths/mcp", || {
        let maths = &maths;
        async move { maths.initialize().await }
    })
    .await?;

    // An rmcp client on the virtual server: only the subset, in lists and calls.
    let client = mcp_gateway_e2e::connect(&maths_url).await?;
    let listed: BTreeSet<String> = list_tools(&client)
        .await?
        .iter()
        .map(|tool| tool.name.to_string())
        .collect();
    ensure!(
        listed == BTreeSet::from(["calc_add".to_owned(), "calc_multiply".to_owned()]),
        "/v/maths/mcp listed {listed:?}"
    );
    let capabilities = client
        .peer_info()
        .context("no initialize result")?
        .capabilities
        .clone();
    ensure!(
        capabilities.prompts.is_none(),
        "maths offers no prompts: {capabilities:?}"
    );
    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
        "5"
    );
    for outside in ["calc_divide", "text_upper"] {
        let error = call_text(&client, outside, json!({"a": 1, "b": 1, "text": "x"}))
            .await
            .expect_err("a tool outside the subset must be refused");
        let data = json_rpc_error(&error).with_context(|| format!("{error:#}"))?;
        ensure!(data.code.0 == INVALID_PARAMS, "{outside}: {data:?}");
        ensure!(
            data.message == format!("unknown tool {outside:?}"),
            "{outside}: {data:?}"
        );
    }
    client.cancel().await?;

    // Its session is unknown on every other endpoint, exactly as a made-up one.
    let session = maths.initialize().await?;
    let plain = gateway.raw()?;
    let texts = RawClient::new(&gateway.envoy_url("/v/texts/mcp"))?;
    let forged = plain.list_tools(Some("not-a-session")).await?;
    ensure!(forged.status == StatusCode::NOT_FOUND, "{forged}");
    for (endpoint, raw) in [("/mcp", &plain), ("/v/texts/mcp", &texts)] {
        let reused = raw.list_tools(Some(&session)).await?;
        ensure!(reused.status == forged.status, "{endpoint}: {reused}");
        ensure!(
            reused.error_code() == forged.error_code()
                && reused.error_message() == forged.error_message(),
            "{endpoint}: {reused} (a made-up session: {forged})"
        );
        let call = raw
            .call_tool(Some(&session), "text_upper", json!({"text": "x"}))
            .await?;
        ensure!(call.status == forged.status, "{endpoint}: {call}");
    }
    let names = maths.tool_names(&session).await?;
    ensure!(
        names.len() == 2,
        "the session still works where it was opened: {names:?}"
    );

    // A whole server, and `/mcp` with everything.
    let text_session = texts.initialize().await?;
    let text_tools = texts.tool_names(&text_session).await?;
    let expected: BTreeSet<String> = ServerKind::Text.exposed_tools().collect();
    ensure!(text_tools == expected, "/v/texts/mcp listed {text_tools:?}");
    let upper = texts
        .call_tool(Some(&text_session), "text_upper", json!({"text": "abc"}))
        .await?;
    ensure!(upper.tool_text()? == "ABC", "{upper}");
    let all = plain.tool_names(&plain.initialize().await?).await?;
    let everything: BTreeSet<String> = ServerKind::Calc
        .exposed_tools()
        .chain(ServerKind::Text.exposed_tools())
        .collect();
    ensure!(all == everything, "/mcp listed {all:?}");

    // The virtual server's host name serves it on /mcp too.
    let host = [("host", "maths.mcp.example")];
    let initialize = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "e2e", "version": "0"}},
    });
    let opened = plain.post_with(&host, initialize.to_string()).await?;
    let by_host = opened.session_id().with_context(|| format!("{opened}"))?;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let headers = [host[0], ("mcp-session-id", by_host)];
    let listed = plain.post_with(&headers, list.clone()).await?;
    let names: BTreeSet<&str> = listed.result()?["tools"]
        .as_array()
        .context("a tools array")?
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    ensure!(
        names == BTreeSet::from(["calc_add", "calc_multiply"]),
        "maths.mcp.example/mcp listed {names:?}"
    );
    let divide = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": {"name": "calc_divide", "arguments": {"a": 1, "b": 1}}});
    let refused = plain.post_with(&headers, divide.to_string()).await?;
    ensure!(
        refused.error_code() == Some(i64::from(INVALID_PARAMS)),
        "{refused}"
    );
    let elsewhere = plain.post(Some(by_host), list).await?;
    ensure!(elsewhere.status == forged.status, "{elsewhere}");

    // Prompts are restricted too: texts has text's, maths none.
    let text_prompts: BTreeSet<String> = ServerKind::Text.exposed_prompts().collect();
    ensure!(prompt_names(&texts, &text_session).await? == text_prompts);
    ensure!(prompt_names(&maths, &session).await?.is_empty());
    let explain = maths
        .request(
            Some(&session),
            4,
            "prompts/get",
            json!({"name": "calc_explain"}),
        )
        .await?;
    ensure!(
        explain.error_message() == Some("unknown prompt \"calc_explain\""),
        "{explain}"
    );

    // Fan-out reaches only the subset's servers: calc hears the level, text does not.
    let level = maths
        .request(
            Some(&session),
            5,
            "logging/setLevel",
            json!({"level": "debug"}),
        )
        .await?;
    level.result()?;
    let calc = gateway.backend("calc")?.stats().await?;
    ensure!(calc.log_level.as_deref() == Some("debug"), "{calc:?}");
    let text = gateway.backend("text")?.stats().await?;
    ensure!(text.log_level.is_none(), "text is outside maths: {text:?}");

    // A config with a bad virtual server is refused whole: the last good one keeps serving.
    let rejections = gateway.gateway_log().matches(REJECTED).count();
    gateway.write_config(&format!(
        "{config}{VIRTUAL_SERVERS}- {{name: broken, servers: [nowhere]}}\n"
    ))?;
    eventually("the gateway to reject the config", || async {
        let log = gateway.gateway_log();
        ensure!(
            log.matches(REJECTED).count() > rejections,
            "not rejected yet"
        );
        ensure!(log.contains("nowhere"), "the rejection names the field");
        Ok(())
    })
    .await?;
    let names = maths.tool_names(&session).await?;
    ensure!(names.len() == 2, "after the rejected reload: {names:?}");

    let unknown = RawClient::new(&gateway.envoy_url("/v/nope/mcp"))?
        .initialize_as("2025-06-18")
        .await?;
    ensure!(unknown.status == StatusCode::NOT_FOUND, "{unknown}");
    Ok(())
}

/// A client of `/v/maths/mcp` sending Envoy's replay headers itself, naming `text` and its
/// own session (the standalone bootstrap, where Envoy replays): its call never reaches
/// `text` (Envoy's counter of the cluster's requests does not move), it gets an error; a
/// call on `/mcp` moves the counter.
#[tokio::test]
async fn forged_replay_headers_do_not_leave_a_virtual_server() -> Result<()> {
    const TEXT_REQUESTS: &str = "cluster.mcp_server_text.upstream_rq_total";
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await?;
    let config = gateway.config_yaml(&[ServerKind::Calc, ServerKind::Text])?;
    gateway.write_config(&format!("{config}{VIRTUAL_SERVERS}"))?;
    let maths = RawClient::new(&gateway.envoy_url("/v/maths/mcp"))?;
    let session = eventually("the reloaded config to serve /v/maths/mcp", || {
        let maths = &maths;
        async move { maths.initialize().await }
    })
    .await?;
    let before = gateway.envoy_counter(TEXT_REQUESTS).await?;
    for (id, refused) in [(1, "x"), (2, session.as_str())] {
        let forged = [
            (SESSION_HEADER, session.as_str()),
            (handoff::REPLAY_SERVER_HEADER, "text"),
            (handoff::REFUSED_SESSION_HEADER, refused),
            (handoff::REPLAY_SESSION_HEADER, session.as_str()),
        ];
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "upper", "arguments": {"text": "abc"}}});
        let reply = maths.post_with(&forged, call.to_string()).await?;
        ensure!(reply.error_code().is_some(), "an error: {reply}");
        let after = gateway.envoy_counter(TEXT_REQUESTS).await?;
        ensure!(
            after == before,
            "the call reached text ({before} -> {after}): {reply}"
        );
    }
    // The detector sees a call that reaches text.
    let plain = gateway.raw()?;
    let upper = plain
        .call_tool(
            Some(&plain.initialize().await?),
            "text_upper",
            json!({"text": "abc"}),
        )
        .await?;
    ensure!(upper.tool_text()? == "ABC", "{upper}");
    ensure!(gateway.envoy_counter(TEXT_REQUESTS).await? > before);
    Ok(())
}

/// The prompt names `prompts/list` shows the session.
async fn prompt_names(raw: &RawClient, session: &str) -> Result<BTreeSet<String>> {
    let reply = raw
        .request(Some(session), 3, "prompts/list", json!({}))
        .await?;
    let names = reply.result()?["prompts"]
        .as_array()
        .with_context(|| format!("{reply}"))?
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    Ok(names)
}
