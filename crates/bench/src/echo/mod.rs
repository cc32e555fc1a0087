//! `mcp-echo-server`: a minimal, fast MCP streamable-HTTP backend.
//!
//! HTTP/1.1 with keep-alive and plain JSON responses (never SSE). `initialize` opens a session
//! (random id in `Mcp-Session-Id`), every other request needs a live session, notifications get
//! 202, `tools/list` pages through `--tools` synthetic tools, `tools/call` of any listed tool
//! returns its arguments as text, `ping` answers `{}`, `DELETE` ends the session and `GET` is
//! 405. `GET /stats` returns counters; `POST /admin/bump` changes the tool list (a stand-in for
//! a server whose tools changed). A request with `Echo-Reply-Status: <code>` gets that status
//! instead of an answer (a test hook for misbehaving servers). With `backends > 1` every backend is independent and served
//! under `/b/<i>/mcp`.

mod backend;
mod handler;
mod rpc;
mod tools;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use backend::BackendStats;
pub use handler::{
    EchoStats, REPLY_DELAY_HEADER, REPLY_HEADER_HEADER, REPLY_JSON_HEADER, REPLY_STATUS_HEADER,
};
pub use tools::ECHO_TOOL;

use backend::Backend;
use handler::EchoState;

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// What the echo server serves.
#[derive(Debug, Clone, Copy)]
pub struct EchoOptions {
    /// Tools per backend (the first is always `echo`).
    pub tools: usize,
    /// Tools per `tools/list` page; 0 returns all in one page.
    pub page_size: usize,
    /// Number of independent backends; above 1 they are served under `/b/<i>/mcp`.
    pub backends: usize,
}

impl Default for EchoOptions {
    fn default() -> Self {
        Self {
            tools: 1,
            page_size: 0,
            backends: 1,
        }
    }
}

/// A bound echo server; [`EchoServer::serve`] runs it.
#[derive(Debug)]
pub struct EchoServer {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<EchoState>,
}

impl EchoServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, options: EchoOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let count = options.backends.max(1);
        let state = Arc::new(EchoState {
            backends: (0..count)
                .map(|_| Backend::new(options.tools, options.page_size))
                .collect(),
            multi: options.backends > 1,
        });
        Ok(Self {
            listener,
            addr,
            state,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP endpoint URL of backend `index` (`/mcp`, or `/b/<index>/mcp` in multi mode).
    pub fn url(&self, index: usize) -> String {
        endpoint_url(self.addr, self.state.multi, index)
    }

    /// Accepts connections until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("mcp-echo-server: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            stream.set_nodelay(true).ok();
            let state = self.state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| handler::handle(state.clone(), request));
                // A client that goes away mid-request is not an error worth reporting.
                http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                    .ok();
            });
        }
    }
}

/// The MCP endpoint URL of backend `index` on a server at `addr`.
pub fn endpoint_url(addr: SocketAddr, multi: bool, index: usize) -> String {
    if multi {
        format!("http://{addr}/b/{index}/mcp")
    } else {
        format!("http://{addr}/mcp")
    }
}
