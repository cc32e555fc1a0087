//! Pagination at both ends: backends that page their own lists (`--page-size 1`,
//! which discovery must follow to the end) behind a gateway that pages its aggregated
//! lists (`--list-page-size 2`) with its own cursors.

use std::collections::BTreeSet;

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, RawClient, ServerKind, tool_names};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GATEWAY_PAGE: usize = 2;

async fn paged() -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        gateway_args: &["--list-page-size", "2"],
        server_args: &["--page-size", "1"],
        ..GatewayOptions::default()
    })
    .await
}

/// Every page of `method`, following `nextCursor`: the `key` of each item, per page.
async fn pages(
    raw: &RawClient,
    session: &str,
    method: &str,
    items: &str,
    key: &str,
) -> Result<Vec<Vec<String>>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = match &cursor {
            Some(cursor) => json!({"cursor": cursor}),
            None => json!({}),
        };
        let reply = raw.request(Some(session), 3, method, params).await?;
        let result = reply.result()?;
        let page = result
            .get(items)
            .and_then(Value::as_array)
            .with_context(|| format!("{method} without {items}: {reply}"))?
            .iter()
            .map(|item| {
                item.get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .with_context(|| format!("an item without {key}: {item}"))
            })
            .collect::<Result<Vec<_>>>()?;
        pages.push(page);
        ensure!(pages.len() <= 100, "{method} does not end: {pages:?}");
        cursor = result
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() {
            return Ok(pages);
        }
    }
}

/// Checks page sizes and that no item repeats; returns the items in order.
fn flatten(method: &str, pages: &[Vec<String>]) -> Result<Vec<String>> {
    let (last, full) = pages.split_last().context("no page")?;
    ensure!(
        full.iter().all(|page| page.len() == GATEWAY_PAGE) && last.len() <= GATEWAY_PAGE,
        "{method}: pages must hold {GATEWAY_PAGE} items: {pages:?}"
    );
    let items: Vec<String> = pages.concat();
    let unique: BTreeSet<&String> = items.iter().collect();
    ensure!(
        unique.len() == items.len(),
        "{method} repeats items: {pages:?}"
    );
    Ok(items)
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort_unstable();
    items
}

#[tokio::test]
async fn backends_page_their_own_lists() -> Result<()> {
    let gateway = paged().await?;
    // The premise: a backend sends one tool per page, so the gateway sees every tool
    // only by following its cursors.
    let calc = RawClient::new(&gateway.backend("calc")?.url())?;
    let session = calc.initialize().await?;
    let reply = calc.list_tools(Some(&session)).await?;
    let result = reply.result()?;
    assert_eq!(
        result.get("tools").and_then(Value::as_array).map(Vec::len),
        Some(1),
        "{reply}"
    );
    ensure!(result.get("nextCursor").is_some(), "{reply}");
    Ok(())
}

#[tokio::test]
async fn pages_through_aggregated_lists_with_gateway_cursors() -> Result<()> {
    let gateway = paged().await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    let mut expected: Vec<String> = ServerKind::Calc
        .exposed_tools()
        .chain(ServerKind::Text.exposed_tools())
        .collect();
    expected.sort_unstable();
    let tool_pages = pages(&raw, &session, "tools/list", "tools", "name").await?;
    assert_eq!(tool_pages.len(), expected.len().div_ceil(GATEWAY_PAGE));
    assert_eq!(sorted(flatten("tools/list", &tool_pages)?), expected);

    let prompt_pages = pages(&raw, &session, "prompts/list", "prompts", "name").await?;
    assert_eq!(
        sorted(flatten("prompts/list", &prompt_pages)?),
        ["calc_explain", "text_summarize", "text_translate"]
    );
    let resource_pages = pages(&raw, &session, "resources/list", "resources", "uri").await?;
    assert_eq!(
        sorted(flatten("resources/list", &resource_pages)?),
        [
            "calc://calc_constants",
            "file://calc_/notes.txt",
            "file://text_/notes.txt",
            "text://text_readme",
        ]
    );
    let template_pages = pages(
        &raw,
        &session,
        "resources/templates/list",
        "resourceTemplates",
        "uriTemplate",
    )
    .await?;
    assert_eq!(
        sorted(flatten("resources/templates/list", &template_pages)?),
        ["calc://calc_square/{n}", "text://text_words/{word}"]
    );

    // A real MCP client pages through to the same set.
    let client = gateway.client().await?;
    let names: Vec<String> = tool_names(&client).await?.into_iter().collect();
    assert_eq!(names, expected);
    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn rejects_cursors_it_did_not_issue() -> Result<()> {
    let gateway = paged().await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    let first = raw.list_tools(Some(&session)).await?;
    let tools_cursor = first
        .result()?
        .get("nextCursor")
        .and_then(Value::as_str)
        .with_context(|| format!("no nextCursor: {first}"))?
        .to_owned();
    // Made up, a backend's own cursor, and another list's cursor.
    for (method, cursor) in [
        ("tools/list", "bogus"),
        ("tools/list", "p1"),
        ("prompts/list", tools_cursor.as_str()),
        ("resources/list", ""),
    ] {
        let reply = raw
            .request(Some(&session), 4, method, json!({"cursor": cursor}))
            .await?;
        assert_eq!(reply.status, StatusCode::OK, "{method} {cursor:?}: {reply}");
        assert_eq!(
            reply.error_code(),
            Some(-32602),
            "{method} {cursor:?}: {reply}"
        );
    }
    // The cursor it issued still works.
    let second = raw
        .request(
            Some(&session),
            5,
            "tools/list",
            json!({"cursor": tools_cursor}),
        )
        .await?;
    let tools = second.result()?.get("tools").and_then(Value::as_array);
    assert_eq!(tools.map(Vec::len), Some(GATEWAY_PAGE), "{second}");
    Ok(())
}
