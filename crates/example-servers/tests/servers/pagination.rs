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
    let options = Options {
        page_size: NonZeroUsize::new(2),
        ..Options::default()
    };
    let server = start_with(ServerKind::Text, options).await?;
    let client = connect(&server.url).await?;

    let first = client.list_tools(None).await?;
    assert_eq!(first.tools.len(), 2);
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = client
        .list_tools(Some(
            PaginatedRequestParams::default().with_cursor(Some(cursor)),
        ))
        .await?;
    assert_eq!(second.tools.len(), 2);
    assert_ne!(first.tools[0].name, second.tools[0].name);

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

    let prompts = client.list_prompts(None).await?;
    assert_eq!(prompts.prompts.len(), 2);
    assert_eq!(prompts.next_cursor, None);
    let resources = client.list_resources(None).await?;
    assert_eq!(resources.resources.len(), 2);
    assert_eq!(client.list_all_resources().await?.len(), 2);
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
