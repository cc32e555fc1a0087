//! The service over a real loopback gRPC connection.

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_stream::wrappers::TcpListenerStream;

use super::*;
use crate::subscription::Kind;

const DEADLINE: Duration = Duration::from_secs(10);

fn config(servers: &[&str]) -> Arc<Config> {
    let mut yaml = String::from("servers:\n");
    for name in servers {
        yaml.push_str(&format!(
            "  - name: {name}\n    url: http://{name}.internal/mcp\n    hostname: {name}.mcp.test\n    toolPrefix: {name}_\n"
        ));
    }
    if servers.is_empty() {
        yaml = String::from("servers: []\n");
    }
    Arc::new(Config::from_yaml(&yaml).expect("valid"))
}

struct Client {
    requests: mpsc::Sender<DiscoveryRequest>,
    responses: Streaming<DiscoveryResponse>,
}

impl Client {
    async fn send(&self, request: DiscoveryRequest) {
        self.requests.send(request).await.expect("stream open");
    }

    async fn next(&mut self) -> Option<DiscoveryResponse> {
        timeout(DEADLINE, self.responses.message())
            .await
            .expect("an answer before the deadline")
            .expect("no stream error")
    }
}

/// Serves ADS on a loopback port and opens one stream to it.
async fn connect(configs: watch::Receiver<Arc<Config>>) -> Client {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ads_service(configs))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut client = AggregatedDiscoveryServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let (requests, rx) = mpsc::channel(8);
    let responses = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    Client {
        requests,
        responses,
    }
}

fn subscribe(kind: Kind, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        node: Some(Node {
            id: "test-envoy".to_owned(),
            ..Default::default()
        }),
        type_url: kind.type_url(),
        resource_names: names.iter().map(|n| (*n).to_owned()).collect(),
        ..Default::default()
    }
}

fn ack(response: &DiscoveryResponse) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: response.version_info.clone(),
        type_url: response.type_url.clone(),
        response_nonce: response.nonce.clone(),
        ..Default::default()
    }
}

#[tokio::test]
async fn serves_subscriptions_and_pushes_config_changes_in_order() {
    let (configs, receiver) = watch::channel(config(&["a"]));
    let mut client = connect(receiver).await;

    client.send(subscribe(Kind::Cluster, &[])).await;
    let clusters = client.next().await.expect("clusters");
    assert_eq!(clusters.type_url, Kind::Cluster.type_url());
    assert_eq!(clusters.resources.len(), 1);
    client.send(ack(&clusters)).await;

    client.send(subscribe(Kind::Route, &["mcp_routes"])).await;
    let routes = client.next().await.expect("routes");
    assert_eq!(routes.type_url, Kind::Route.type_url());
    client.send(ack(&routes)).await;

    // Had the ACKs been answered, those answers would come before the push.
    configs.send_replace(config(&["a", "b"]));
    let pushed_clusters = client.next().await.expect("pushed clusters");
    assert_eq!(pushed_clusters.type_url, Kind::Cluster.type_url());
    assert_eq!(pushed_clusters.resources.len(), 2);
    assert_ne!(pushed_clusters.version_info, clusters.version_info);
    let pushed_routes = client.next().await.expect("pushed routes");
    assert_eq!(pushed_routes.type_url, Kind::Route.type_url());
    assert_ne!(pushed_routes.version_info, routes.version_info);
}

#[tokio::test]
async fn stream_ends_cleanly_when_the_config_channel_closes() {
    let (configs, receiver) = watch::channel(config(&["a"]));
    let mut client = connect(receiver).await;
    client.send(subscribe(Kind::Cluster, &[])).await;
    assert!(client.next().await.is_some());
    drop(configs);
    assert!(
        client.next().await.is_none(),
        "the stream ends with an OK status"
    );
}

#[tokio::test]
async fn delta_xds_is_refused() {
    let (_configs, receiver) = watch::channel(config(&["a"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ads_service(receiver))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut client = AggregatedDiscoveryServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let status = client
        .delta_aggregated_resources(futures::stream::empty())
        .await
        .expect_err("delta is not served");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}
