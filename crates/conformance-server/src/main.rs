//! `mcp-conformance-server`: runs the conformance fixture server over
//! streamable HTTP.
//!
//! Prints exactly one line to stdout once bound,
//! `listening on http://<addr><path>`; logs go to stderr.

use clap::Parser;
use mcp_gateway_conformance_server::{ConformanceServer, Options};
use mcp_gateway_example_servers::{ServeArgs, serving};

/// Runs the fixture MCP server of the official conformance suite. (The
/// dns-rebinding-protection scenario fails with `--allow-any-host`.)
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    serving::init_logging();
    let options = Options {
        path: args.serve.path.clone(),
        hosts: args.serve.hosts(),
    };
    let server = ConformanceServer::bind(args.serve.listen, options).await?;
    serving::run(server.into_bound()).await
}
