//! The web console in a real headless Chromium, through Envoy, in front of the real rmcp
//! example servers: the page shows the running gateway's servers (health, URL, prefix, last
//! listing) and every tool with its description and input schema, and its live feed shows a
//! call made while the page is open, without a reload. Needs Debian's `chromium` and
//! `npm ci --prefix e2e/node` (`make test` installs both).
//!
//! `CONSOLE_SCREENSHOT=docs/console.png` keeps the page's screenshot there (the README's).

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    ConsoleBrowser, Gateway, GatewayOptions, IdentityProvider, Mode, PROTOCOL_VERSION, RawClient,
    SESSION_HEADER, ServerKind, eventually, http_client,
};
use mcp_gateway_identity::{CALLER_HEADER, Caller};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The call the feed must show: made only after the page has rendered.
const WATCHED: &str = "text_reverse";

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_console_shows_the_gateway_and_its_calls_in_a_browser() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let listed = raw.list_tools(Some(&session)).await?;
    let tools = listed.result()?["tools"].clone();
    let expected = names(&tools, "name");
    ensure!(expected.contains(&WATCHED.to_owned()), "{expected:?}");
    // A few calls before the page opens, so the feed is not empty.
    for (a, b) in [(2, 3), (40, 2)] {
        raw.call_tool(Some(&session), "calc_add", json!({"a": a, "b": b}))
            .await?
            .result()?;
    }

    let dir = tempfile::tempdir()?;
    let screenshot = dir.path().join("console.png");
    let url = gateway.envoy_url("/console");
    let (browser, shown) = ConsoleBrowser::open(&url, &screenshot, WATCHED).await?;
    ensure!(shown["status"] == 200, "{shown}");
    ensure!(shown["errors"] == json!([]), "errors in the page: {shown}");
    ensure!(shown["title"] == "mcp-gateway console", "{shown}");
    let servers = shown["servers"].as_array().context("servers")?;
    let mut by_name = std::collections::BTreeMap::new();
    for server in servers {
        by_name.insert(server["name"].as_str().unwrap_or_default(), server);
    }
    for kind in [ServerKind::Calc, ServerKind::Text] {
        let server = by_name
            .get(kind.name())
            .with_context(|| format!("{} not shown: {shown}", kind.name()))?;
        ensure!(server["health"] == "up", "{server}");
        ensure!(server["prefix"] == kind.tool_prefix().as_str(), "{server}");
        let backend = gateway.backend(kind.name())?;
        ensure!(
            server["url"].as_str() == Some(backend.url().as_str()),
            "{server} vs {}",
            backend.url()
        );
        ensure!(
            server["lastListing"]
                .as_str()
                .is_some_and(|l| l.ends_with("s ago")),
            "{server}"
        );
    }
    // Every tool the gateway lists, with its description and input schema.
    let mut shown_tools = names(&shown["tools"], "name");
    shown_tools.sort();
    let mut listed_tools = expected.clone();
    listed_tools.sort();
    ensure!(
        shown_tools == listed_tools,
        "{shown_tools:?} vs {listed_tools:?}"
    );
    let reverse = shown["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == WATCHED)
        .context("text_reverse")?;
    ensure!(
        reverse["description"] == "Return the text with its characters in reverse order.",
        "{reverse}"
    );
    let schema: Value = serde_json::from_str(reverse["schema"].as_str().unwrap_or("null"))?;
    ensure!(schema["properties"]["text"].is_object(), "{reverse}");
    // The live count: this test's session and the harness's own.
    let sessions: u64 = shown["sessions"].as_str().unwrap_or("").parse()?;
    ensure!(sessions >= 1, "{shown}");
    ensure!(
        shown["metrics"]
            .as_str()
            .is_some_and(|m| m.ends_with("/metrics")),
        "{shown}"
    );
    ensure!(shown["callsOfTool"] == 0, "not called yet: {shown}");

    // Now, with the page open: a second client's call.
    let other = raw.initialize().await?;
    let reply = raw
        .call_tool(Some(&other), WATCHED, json!({"text": "console"}))
        .await?;
    ensure!(reply.tool_text()? == "elosnoc", "{reply}");
    let updated = browser.called().await?;
    ensure!(
        updated["errors"] == json!([]),
        "errors in the page: {updated}"
    );
    ensure!(updated["callsOfTool"] == 1, "{updated}");
    let row = names_of_row(&updated["row"]);
    ensure!(
        row.get(1).map(String::as_str) == Some("anonymous"),
        "{row:?}"
    );
    ensure!(
        row.get(2).is_some_and(|what| what.contains("→ text")),
        "{row:?}"
    );
    ensure!(row.get(3).map(String::as_str) == Some("allow"), "{row:?}");
    ensure!(
        row.get(4)
            .is_some_and(|took| took.ends_with(" µs") || took.ends_with(" ms")),
        "{row:?}"
    );
    ensure!(
        updated["sessions"] == (sessions + 1).to_string().as_str(),
        "one more session: {updated}"
    );

    let png = std::fs::read(&screenshot).context("the screenshot")?;
    ensure!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "not a screenshot"
    );
    if let Some(keep) = std::env::var_os("CONSOLE_SCREENSHOT") {
        // Relative to the workspace, not to e2e/ where cargo runs the test.
        let keep = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(keep);
        std::fs::write(&keep, &png).with_context(|| format!("writing {}", keep.display()))?;
    }
    Ok(())
}

fn names_of_row(row: &Value) -> Vec<String> {
    row.as_array()
        .into_iter()
        .flatten()
        .map(|cell| cell.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// With `auth:` on, the console's API through Envoy answers only a verified caller, like
/// `/mcp`, whose token carries the operator scope `mcp-gateway:console`: neither no token, a
/// forged copy of the router's internal caller header nor an MCP client's token gets the
/// status; the page itself (no data) stays public so a browser can ask for a token.
#[tokio::test]
async fn with_auth_the_console_api_needs_a_token() -> Result<()> {
    let idp = IdentityProvider::start("alice:alice-secret").await?;
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await?;
    let resource = gateway.mcp_url();
    let yaml = format!(
        "{}{}",
        gateway.config_yaml(&[ServerKind::Calc])?,
        idp.auth_section(&resource)
    );
    gateway.write_config(&yaml)?;
    let client = http_client()?;
    let api = gateway.envoy_url("/console/api/status");
    let token = idp
        .client_token(
            "alice",
            "alice-secret",
            &resource,
            Some("mcp mcp-gateway:console"),
        )
        .await?;
    let client_only = idp
        .client_token("alice", "alice-secret", &resource, Some("mcp"))
        .await?;
    let status: Value = eventually("auth on, and the token accepted", || {
        let (client, api, token) = (&client, &api, &token);
        async move {
            let anonymous = client.get(api).send().await?;
            ensure!(
                anonymous.status() == StatusCode::UNAUTHORIZED,
                "{anonymous:?}"
            );
            let response = client.get(api).bearer_auth(token).send().await?;
            ensure!(response.status() == StatusCode::OK, "{response:?}");
            Ok(response.json().await?)
        }
    })
    .await?;
    ensure!(status["config"]["auth"] == true, "{status}");
    ensure!(status["servers"][0]["name"] == "calc", "{status}");
    // The router's word on who calls, forged: removed before anything reads it.
    let forged = Caller::from_claims(json!({"iss": idp.issuer(), "sub": "mallory"}))?;
    let response = client
        .get(&api)
        .header(CALLER_HEADER, forged.to_forwarded())
        .send()
        .await?;
    ensure!(
        response.status() == StatusCode::UNAUTHORIZED,
        "{response:?}"
    );
    let body = response.text().await?;
    ensure!(!body.contains("calc"), "{body}");
    // A valid token without the operator scope: refused, with a reason.
    let response = client.get(&api).bearer_auth(&client_only).send().await?;
    ensure!(response.status() == StatusCode::FORBIDDEN, "{response:?}");
    let body = response.text().await?;
    ensure!(
        body.contains("mcp-gateway:console") && !body.contains("calc"),
        "{body}"
    );
    // A page of another origin (DNS rebinding) cannot read it even with the token.
    let response = client
        .get(&api)
        .bearer_auth(&token)
        .header("origin", "http://evil.example")
        .send()
        .await?;
    ensure!(response.status() == StatusCode::FORBIDDEN, "{response:?}");
    // A token that is not one.
    let response = client.get(&api).bearer_auth("not-a-token").send().await?;
    ensure!(
        response.status() == StatusCode::UNAUTHORIZED,
        "{response:?}"
    );
    // The page and its script hold no data.
    for path in ["/console", "/console/console.js"] {
        let response = client.get(gateway.envoy_url(path)).send().await?;
        ensure!(response.status() == StatusCode::OK, "{path}: {response:?}");
    }
    // Not a second door: only GET.
    let response = client
        .post(&api)
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await?;
    ensure!(
        response.status() == StatusCode::METHOD_NOT_ALLOWED,
        "{response:?}"
    );

    // In a browser: the page asks for a token, shows the gateway once given one, and its feed
    // names who called.
    let dir = tempfile::tempdir()?;
    let (browser, shown) = ConsoleBrowser::open_signed_in(
        &gateway.envoy_url("/console"),
        &dir.path().join("console.png"),
        "calc_add",
        &token,
    )
    .await?;
    ensure!(shown["signedIn"] == true, "{shown}");
    ensure!(shown["errors"] == json!([]), "errors in the page: {shown}");
    ensure!(shown["servers"][0]["name"] == "calc", "{shown}");
    ensure!(shown["callsOfTool"] == 0, "{shown}");
    let raw = RawClient::new(&resource)?;
    let bearer = format!("Bearer {token}");
    let init = raw
        .post_with(
            &[("authorization", &bearer)],
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                "clientInfo": {"name": "console-test", "version": "0"}}})
            .to_string(),
        )
        .await?;
    let session = init.session_id().context("no session")?.to_owned();
    let call = raw
        .post_with(
            &[("authorization", &bearer), (SESSION_HEADER, &session)],
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "calc_add", "arguments": {"a": 1, "b": 2}}})
            .to_string(),
        )
        .await?;
    ensure!(call.tool_text()? == "3", "{call}");
    let updated = browser.called().await?;
    ensure!(
        updated["errors"] == json!([]),
        "errors in the page: {updated}"
    );
    let row = names_of_row(&updated["row"]);
    ensure!(
        row.get(1).is_some_and(|who| who.contains("alice")),
        "{row:?}"
    );
    Ok(())
}

/// With the routing core inside Envoy (module mode), `/console` and its API reach the broker
/// the same way. (Its feed stays empty there: calls are decided inside Envoy, which writes no
/// audit lines; see docs/observability.md.)
#[tokio::test]
async fn the_console_in_module_mode() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        mode: Mode::Module,
        ..GatewayOptions::default()
    })
    .await?;
    let client = http_client()?;
    let page = client.get(gateway.envoy_url("/console")).send().await?;
    ensure!(page.status() == StatusCode::OK, "{page:?}");
    ensure!(page.text().await?.contains("mcp-gateway console"));
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let status: Value = client
        .get(gateway.envoy_url("/console/api/status"))
        .send()
        .await?
        .json()
        .await?;
    ensure!(status["servers"][0]["name"] == "calc", "{status}");
    ensure!(status["servers"][0]["healthy"] == true, "{status}");
    ensure!(
        status["servers"][0]["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "calc_add")),
        "{status}"
    );
    ensure!(
        status["sessions"].as_u64().is_some_and(|n| n >= 1),
        "{status}"
    );
    raw.delete(&session).await?;
    Ok(())
}
