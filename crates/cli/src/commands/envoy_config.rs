use mcp_gateway_xds::{BootstrapOptions, render_bootstrap};

use crate::EnvoyConfigArgs;

/// Prints the Envoy bootstrap for the given addresses.
pub(crate) fn execute(args: &EnvoyConfigArgs) -> anyhow::Result<()> {
    let opts = BootstrapOptions {
        listen: args.listen,
        admin: args.admin,
        routers: args.routers.clone(),
        brokers: args.brokers.clone(),
        max_request_bytes: args.max_request_bytes,
        request_headers_timeout: args.request_headers_timeout,
        request_timeout: args.request_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
        ..BootstrapOptions::default()
    };
    print!("{}", render_bootstrap(&opts));
    Ok(())
}
