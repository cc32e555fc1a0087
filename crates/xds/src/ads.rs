//! The Aggregated Discovery Service: serves [`crate::resources`] to Envoy over one
//! gRPC stream per Envoy, state-of-the-world, and pushes a new version whenever the
//! gateway config changes.

use std::pin::Pin;
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use futures::Stream;
use mcp_gateway_config::Config;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, debug, field, info, info_span};

use crate::subscription::{Snapshot, Subscriptions};

/// Responses queued per stream before the stream task waits for Envoy to read.
const STREAM_BUFFER: usize = 4;

/// The ADS gRPC service. Build it with [`ads_service`].
#[derive(Debug)]
pub struct AdsServer {
    configs: watch::Receiver<Arc<Config>>,
}

/// The ADS service for a tonic server, fed by the config store's watch channel.
///
/// Add it to the same `tonic::transport::Server` as the ext_proc router: the
/// bootstrap points both at one cluster. Each stream ends when Envoy disconnects or
/// when the config channel closes (so dropping the store lets a graceful shutdown
/// finish).
pub fn ads_service(
    configs: watch::Receiver<Arc<Config>>,
) -> AggregatedDiscoveryServiceServer<AdsServer> {
    AggregatedDiscoveryServiceServer::new(AdsServer { configs })
}

type DeltaStream = Pin<Box<dyn Stream<Item = Result<DeltaDiscoveryResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AggregatedDiscoveryService for AdsServer {
    type StreamAggregatedResourcesStream = ReceiverStream<Result<DiscoveryResponse, Status>>;
    type DeltaAggregatedResourcesStream = DeltaStream;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let span = info_span!("ads", node = field::Empty);
        tokio::spawn(serve_stream(request.into_inner(), self.configs.clone(), tx).instrument(span));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn delta_aggregated_resources(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        Err(Status::unimplemented(
            "incremental xDS is not served; use ads_config api_type GRPC (state of the world)",
        ))
    }
}

/// Drives one stream until Envoy goes away or the config channel closes.
async fn serve_stream(
    mut inbound: Streaming<DiscoveryRequest>,
    mut configs: watch::Receiver<Arc<Config>>,
    tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
) {
    let current = Arc::clone(&configs.borrow_and_update());
    let mut snapshot = Snapshot::new(&current);
    let mut subscriptions = Subscriptions::default();
    let mut greeted = false;
    loop {
        let responses = tokio::select! {
            request = inbound.message() => match request {
                Ok(Some(request)) => {
                    if !greeted {
                        greeted = true;
                        greet(&request);
                    }
                    subscriptions.on_request(&request, &snapshot).into_iter().collect()
                }
                Ok(None) => {
                    debug!("Envoy closed the ADS stream");
                    return;
                }
                Err(status) => {
                    debug!(%status, "ADS stream failed");
                    return;
                }
            },
            changed = configs.changed() => {
                if changed.is_err() {
                    debug!("config channel closed; ending the ADS stream");
                    return;
                }
                let current = Arc::clone(&configs.borrow_and_update());
                snapshot = Snapshot::new(&current);
                subscriptions.on_config(&snapshot)
            },
            () = tx.closed() => {
                debug!("Envoy stopped reading the ADS stream");
                return;
            }
        };
        for response in responses {
            if tx.send(Ok(response)).await.is_err() {
                return;
            }
        }
    }
}

/// Logs the Envoy that opened the stream (the node is sent on the first message).
fn greet(request: &DiscoveryRequest) {
    let node = request
        .node
        .as_ref()
        .map(|node| node.id.as_str())
        .unwrap_or("");
    tracing::Span::current().record("node", node);
    info!(node, "Envoy connected for clusters and routes");
}

#[cfg(test)]
mod tests;
