//! Harness for the Envoy integration tests: the gateway's gRPC port (ADS plus a
//! stand-in ext_proc router), echo servers, and a real Envoy.

pub mod envoy;
pub mod ext_proc;
pub mod http;

use std::net::SocketAddr;
use std::sync::Arc;

use mcp_gateway_config::Config;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

/// The gateway's gRPC port as Envoy sees it; stops on drop.
pub struct Grpc {
    pub addr: SocketAddr,
    pub configs: watch::Sender<Arc<Config>>,
    pub response_statuses: mpsc::UnboundedReceiver<String>,
    task: JoinHandle<()>,
}

impl Drop for Grpc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves ADS (fed by the returned sender) and the test ext_proc on one port.
pub async fn grpc(initial: Config) -> Grpc {
    let (configs, receiver) = watch::channel(Arc::new(initial));
    let (ext_proc, response_statuses) = ext_proc::service();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gRPC");
    let addr = listener.local_addr().expect("gRPC address");
    let server = tonic::transport::Server::builder()
        .add_service(mcp_gateway_xds::ads_service(receiver))
        .add_service(ext_proc);
    let task = tokio::spawn(async move {
        let _ = server
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
    });
    Grpc {
        addr,
        configs,
        response_statuses,
        task,
    }
}

/// A loopback address nothing listens on: a socket bound to it but never listening, so
/// connections are refused and no other process (another test's server, Envoy's admin
/// port) can take the port while the test runs. Keep the socket as long as the address.
pub fn dead_addr() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let addr = socket.local_addr().expect("address");
    (socket, addr)
}

/// Names of the clusters Envoy received over CDS.
pub fn dynamic_clusters(dump: &Value) -> Vec<String> {
    section(dump, "ClustersConfigDump")
        .and_then(|c| c["dynamic_active_clusters"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|c| c["cluster"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// Domains of every virtual host in the route tables Envoy received over RDS.
pub fn dynamic_domains(dump: &Value) -> Vec<String> {
    section(dump, "RoutesConfigDump")
        .and_then(|r| r["dynamic_route_configs"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r["route_config"]["virtual_hosts"].as_array())
        .flatten()
        .filter_map(|v| v["domains"].as_array())
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect()
}

fn section<'a>(dump: &'a Value, kind: &str) -> Option<&'a Value> {
    dump["configs"].as_array()?.iter().find(|c| {
        c["@type"]
            .as_str()
            .is_some_and(|t| t.ends_with(&format!(".{kind}")))
    })
}
