//! Resources, templates and subscriptions.
#![allow(deprecated)] // resources/(un)subscribe: legacy-only in rmcp, current in 2025-11-25.

use mcp_gateway_example_servers::{ServerKind, calc, text};
use rmcp::model::{
    ReadResourceRequestParams, ReadResourceResult, SubscribeRequestParams, UnsubscribeRequestParams,
};
use serde_json::Value;

use crate::support::{Client, connect, start};

async fn read(client: &Client, uri: &str) -> anyhow::Result<Value> {
    let result: ReadResourceResult = client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await?;
    assert_eq!(result.contents.len(), 1, "{result:?}");
    Ok(serde_json::to_value(&result.contents[0])?)
}

async fn uris(client: &Client) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let resources = client
        .list_all_resources()
        .await?
        .into_iter()
        .map(|resource| resource.uri)
        .collect();
    let templates = client
        .list_all_resource_templates()
        .await?
        .into_iter()
        .map(|template| template.uri_template)
        .collect();
    Ok((resources, templates))
}

#[tokio::test]
async fn text_resources_and_words() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;
    let resources = client
        .peer_info()
        .expect("initialized")
        .capabilities
        .resources
        .clone();
    assert_eq!(resources.and_then(|r| r.subscribe), Some(true));

    let (listed, templates) = uris(&client).await?;
    assert_eq!(listed, ["text://readme", "file:///notes.txt"]);
    assert_eq!(templates, ["text://words/{word}"]);

    assert_eq!(
        read(&client, text::README).await?["text"],
        text::README_TEXT
    );
    let notes = read(&client, text::NOTES).await?;
    assert_eq!(notes["text"], text::NOTES_TEXT);
    assert_eq!(notes["uri"], "file:///notes.txt");

    let word = read(&client, "text://words/envoy").await?;
    assert_eq!(word["uri"], "text://words/envoy");
    assert_eq!(word["mimeType"], "application/json");
    let facts: Value = serde_json::from_str(word["text"].as_str().unwrap_or_default())?;
    assert_eq!(facts["reversed"], "yovne");

    assert!(read(&client, "text://nope").await.is_err());
    Ok(())
}

#[tokio::test]
async fn calc_resources_and_squares() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;
    let (listed, templates) = uris(&client).await?;
    assert_eq!(listed, ["calc://constants", "file:///notes.txt"]);
    assert_eq!(templates, ["calc://square/{n}"]);

    let constants = read(&client, calc::CONSTANTS).await?;
    let constants: Value = serde_json::from_str(constants["text"].as_str().unwrap_or_default())?;
    assert_eq!(constants["pi"], std::f64::consts::PI);
    // Same URI as text's notes, different server, different text.
    assert_eq!(read(&client, calc::NOTES).await?["text"], calc::NOTES_TEXT);
    assert_eq!(read(&client, "calc://square/7").await?["text"], "49");
    assert!(read(&client, "calc://square/seven").await.is_err());
    Ok(())
}

#[tokio::test]
async fn subscriptions_are_acknowledged_and_counted() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;
    client
        .subscribe(SubscribeRequestParams::new(text::README))
        .await?;
    client
        .subscribe(SubscribeRequestParams::new("text://words/hello"))
        .await?;
    client
        .unsubscribe(UnsubscribeRequestParams::new(text::README))
        .await?;
    assert!(
        client
            .subscribe(SubscribeRequestParams::new("text://nope"))
            .await
            .is_err()
    );
    let stats = server.stats().await?;
    assert_eq!((stats.subscribes, stats.unsubscribes), (2, 1));
    Ok(())
}
