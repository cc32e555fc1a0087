//! An ext_proc server that changes nothing: every message gets the empty answer of its
//! kind. Envoy with this server in front of a backend is the floor of any design that
//! routes through ext_proc (Envoy's own cost of the gRPC exchange, nothing else).

use std::net::SocketAddr;
use std::pin::Pin;

use clap::Parser;
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyResponse, HeadersResponse, ProcessingRequest, ProcessingResponse, TrailersResponse,
};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Status, Streaming};

/// Serve a no-op ext_proc on `--listen` and print `ready addr=<addr>`.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

struct Noop;

type Answers = Pin<Box<dyn Stream<Item = Result<ProcessingResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalProcessor for Noop {
    type ProcessStream = Answers;

    async fn process(
        &self,
        request: tonic::Request<Streaming<ProcessingRequest>>,
    ) -> Result<tonic::Response<Answers>, Status> {
        let answers = request.into_inner().filter_map(|message| async move {
            let request = message.ok()?.request?;
            let response = match request {
                Request::RequestHeaders(_) => Response::RequestHeaders(HeadersResponse::default()),
                Request::ResponseHeaders(_) => {
                    Response::ResponseHeaders(HeadersResponse::default())
                }
                Request::RequestBody(_) => Response::RequestBody(BodyResponse::default()),
                Request::ResponseBody(_) => Response::ResponseBody(BodyResponse::default()),
                Request::RequestTrailers(_) => {
                    Response::RequestTrailers(TrailersResponse::default())
                }
                Request::ResponseTrailers(_) => {
                    Response::ResponseTrailers(TrailersResponse::default())
                }
            };
            Some(Ok(ProcessingResponse {
                response: Some(response),
                ..Default::default()
            }))
        });
        Ok(tonic::Response::new(Box::pin(answers)))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("ready addr={}", listener.local_addr()?);
    // As the router's server does.
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(ExternalProcessorServer::new(Noop))
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
