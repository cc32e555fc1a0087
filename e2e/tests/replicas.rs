//! Gateway replicas sharing sessions through a real Redis (`--session-store`): each replica
//! behind its own Envoy, one MCP backend they both route to. A session opened on one
//! replica is served by the other, its backend session included; a `DELETE` on one ends
//! it on both; Redis down is a JSON-RPC 503 (and /readyz fails) and its return resumes service.

use anyhow::{Result, ensure};
use reqwest::StatusCode;
use serde_json::json;

use mcp_gateway_e2e::{
    ExternalServer, FIRST_TOOL, Gateway, GatewayOptions, LiveServer, RawClient, RedisServer,
    eventually,
};

const KEY: &str = "e2e-replicas-share-this-key";

async fn replica(live: &LiveServer, redis: &RedisServer) -> Result<Gateway> {
    let url = live.url();
    let external = [ExternalServer {
        name: "live",
        url: &url,
    }];
    let store = redis.url();
    Gateway::start(GatewayOptions {
        external: &external,
        gateway_args: &["--session-store", &store, "--session-key", KEY],
        ..GatewayOptions::default()
    })
    .await
}

async fn call(client: &RawClient, session: &str) -> Result<mcp_gateway_e2e::Reply> {
    client
        .call_tool(Some(session), &format!("live_{FIRST_TOOL}"), json!({}))
        .await
}

#[tokio::test]
async fn a_session_opened_on_one_replica_is_served_by_another() -> Result<()> {
    let redis = RedisServer::start().await?;
    let live = LiveServer::start().await?;
    let (a, b) = tokio::try_join!(replica(&live, &redis), replica(&live, &redis))?;
    let (a, b) = (a.raw()?, b.raw()?);

    let session = a.initialize().await?;
    // First call on B opens the backend session; A then routes to the same one.
    for client in [&b, &a, &b] {
        let reply = call(client, &session).await?;
        ensure!(
            reply.tool_text()? == format!("{FIRST_TOOL} ran"),
            "call on a replica that did not open the session: {reply}"
        );
    }
    let listed = b.list_tools(Some(&session)).await?;
    ensure!(listed.status == StatusCode::OK, "tools/list on B: {listed}");

    // DELETE on B ends the session for A as well.
    ensure!(b.delete(&session).await? == StatusCode::OK);
    let reply = call(&a, &session).await?;
    ensure!(
        reply.status == StatusCode::NOT_FOUND,
        "a deleted session must be gone on every replica: {reply}"
    );
    Ok(())
}

#[tokio::test]
async fn redis_down_is_a_json_rpc_503_and_service_resumes_when_it_is_back() -> Result<()> {
    let mut redis = RedisServer::start().await?;
    let live = LiveServer::start().await?;
    let gateway = replica(&live, &redis).await?;
    let client = gateway.raw()?;
    let session = client.initialize().await?;
    ensure!(call(&client, &session).await?.tool_text().is_ok());

    redis.stop();
    // A routed call (router) and a broker request both say the store is unavailable.
    for reply in [
        call(&client, &session).await?,
        client.list_tools(Some(&session)).await?,
    ] {
        ensure!(
            reply.status == StatusCode::SERVICE_UNAVAILABLE,
            "Redis down: {reply}"
        );
        ensure!(reply.error_code() == Some(-32603), "Redis down: {reply}");
        ensure!(
            reply
                .error_message()
                .is_some_and(|m| m.contains("session store")),
            "the error must say what is unavailable: {reply}"
        );
    }

    // Not ready while Redis is down, so Kubernetes sends this replica no new requests.
    let http = mcp_gateway_e2e::http_client()?;
    let readyz = format!("{}/readyz", gateway.broker_url());
    let ready = http.get(&readyz).send().await?;
    let status = ready.status();
    let text = ready.text().await?;
    ensure!(
        status == StatusCode::SERVICE_UNAVAILABLE && text.contains("session store"),
        "/readyz with Redis down: {status} {text}"
    );

    // Back with its append-only file: the same session works again, and it is ready.
    redis.resume().await?;
    eventually("calls to work again once Redis is back", || async {
        let reply = call(&client, &session).await?;
        ensure!(reply.tool_text().is_ok(), "{reply}");
        Ok(())
    })
    .await?;
    eventually("/readyz to answer 200 once Redis is back", || async {
        let status = http.get(&readyz).send().await?.status();
        ensure!(status == StatusCode::OK, "{status}");
        Ok(())
    })
    .await?;
    Ok(())
}
