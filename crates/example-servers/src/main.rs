//! `mcp-example-server`: runs one example MCP server over streamable HTTP.
//!
//! Prints exactly one line to stdout once bound,
//! `listening on http://<addr><path>`; logs go to stderr.

use std::num::NonZeroUsize;

use clap::Parser;
use mcp_gateway_example_servers::{ExampleServer, Options, ServeArgs, ServerKind, serving};

/// Runs an example MCP server (streamable HTTP, with sessions).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Which server to run.
    #[arg(long, value_enum)]
    server: ServerKind,
    #[command(flatten)]
    serve: ServeArgs,
    /// Items per page of tools/list, prompts/list, resources/list and
    /// resources/templates/list; lists are sent whole when unset.
    #[arg(long, value_name = "N")]
    page_size: Option<NonZeroUsize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    serving::init_logging();
    let options = Options {
        path: args.serve.path.clone(),
        hosts: args.serve.hosts(),
        page_size: args.page_size,
    };
    let server = ExampleServer::bind(args.server, args.serve.listen, options).await?;
    serving::run(server.into_bound()).await
}
