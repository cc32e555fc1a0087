use anyhow::Context;
use mcp_gateway_xds::{BootstrapOptions, Tracing, render_bootstrap, render_module_bootstrap};

use crate::EnvoyConfigArgs;
use crate::args::DataPlane;

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
        tracing: match &args.otlp_endpoint {
            Some(endpoint) => Some(
                Tracing::parse(endpoint, args.trace_sampling)
                    .map_err(anyhow::Error::msg)
                    .context("--otlp-endpoint/--trace-sampling")?,
            ),
            None => None,
        },
        ..BootstrapOptions::default()
    };
    let bootstrap = match args.mode {
        DataPlane::ExtProc => render_bootstrap(&opts),
        DataPlane::Module => render_module_bootstrap(&opts, args.module_api)
            .context("the ext_proc bootstrap has no router filters to replace")?,
    };
    print!("{bootstrap}");
    Ok(())
}
