//! `--page-size`: the servers' own lists in pages, followed by cursors.

use std::num::NonZeroUsize;

use mcp_gateway_example_servers::{Options, ServerKind};
use rmcp::{
    model::{ErrorCode, PaginatedRequestParams},
    service::ServiceError,
};

use crate::support::{connect, start_with};

#[tokio::test]
async fn pages_every_list() -> anyhow::Result<()> {
    // One item a page: every list with more than one item spans several pages.
    let options = Options {
        page_size: NonZeroUsize::new(1),
        ..Options::default()
    };
    let server = start_with(ServerKind::Text, options).await?;
    let client = connect(&server.url).await?;

    let first = client.list_tools(None).await?;
    assert_eq!(first.tools.len(), 1);
    let cursor = first.next_cursor.clone().expect("a second page of tools");
    let second = client
        .list_tools(Some(
            PaginatedRequestParams::default().with_cursor(Some(cursor)),
        ))
        .await?;
    assert_eq!(second.tools.len(), 1);
    assert_ne!(first.tools[0].name, second.tools[0].name);
    let prompts = client.list_prompts(None).await?;
    assert_eq!(prompts.prompts.len(), 1);
    assert!(prompts.next_cursor.is_some(), "a second page of prompts");
    let resources = client.list_resources(None).await?;
    assert_eq!(resources.resources.len(), 1);
    assert!(
        resources.next_cursor.is_some(),
        "a second page of resources"
    );
    // The one template fits on one page.
    let templates = client.list_resource_templates(None).await?;
    assert_eq!(templates.resource_templates.len(), 1);
    assert_eq!(templates.next_cursor, None);

    // Following the cursors gives the whole lists.
    let tools = client.list_all_tools().await?;
    let names: Vec<String> = tools.iter().map(|tool| tool.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "echo",
            "lower",
            "now",
            "reverse",
            "upper",
            "whoami",
            "word_count"
        ]
    );
    let prompts: Vec<String> = client
        .list_all_prompts()
        .await?
        .into_iter()
        .map(|prompt| prompt.name)
        .collect();
    assert_eq!(prompts, ["summarize", "translate"]);
    let resources: Vec<String> = client
        .list_all_resources()
        .await?
        .into_iter()
        .map(|resource| resource.uri)
        .collect();
    assert_eq!(resources, ["text://readme", "file:///notes.txt"]);
    assert_eq!(client.list_all_resource_templates().await?.len(), 1);

    let bogus = client
        .list_tools(Some(
            PaginatedRequestParams::default().with_cursor(Some("bogus".to_owned())),
        ))
        .await
        .expect_err("a made-up cursor");
    assert!(
        matches!(&bogus, ServiceError::McpError(error) if error.code == ErrorCode::INVALID_PARAMS),
        "{bogus:?}"
    );
    Ok(())
}

#[tokio::test]
async fn lists_are_whole_without_a_page_size() -> anyhow::Result<()> {
    let server = start_with(ServerKind::Calc, Options::default()).await?;
    let client = connect(&server.url).await?;
    let tools = client.list_tools(None).await?;
    assert_eq!(tools.tools.len(), 7);
    assert_eq!(tools.next_cursor, None);
    Ok(())
}
