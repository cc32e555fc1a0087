//! Virtual servers on the request path: a call for something outside the endpoint's subset
//! is refused exactly as a call for something that does not exist. Checked on the decided
//! target, from sets the config snapshot precomputed: no second parse, no lock.

use mcp_gateway_catalog::Catalog;
use mcp_gateway_config::{Config, Offering, VirtualServer};
use mcp_gateway_protocol::uri;

use crate::RouteError;
use crate::context::RequestContext;
use crate::decision::{Addressed, Target};

/// `Ok` when the request came in on `/mcp`, or its target is in the virtual server's subset.
/// Task ids and responses to server requests name their server: they pass when the virtual
/// server touches it (else the error of an unknown task; the caller sends such a response
/// where responses to ids the gateway did not issue go).
pub(crate) fn check(
    config: &Config,
    catalog: &Catalog,
    ctx: &RequestContext,
    target: &Target<'_>,
) -> Result<(), RouteError> {
    let Some(name) = ctx.virtual_server.as_deref() else {
        return Ok(());
    };
    // A config reloaded without this virtual server since the headers phase: nothing is in it.
    let virtual_server = config.virtual_server(name);
    let kind = match target.kind {
        Addressed::Tool => Offering::Tool,
        Addressed::Prompt => Offering::Prompt,
        Addressed::Resource => Offering::Resource,
        Addressed::Task | Addressed::Response => {
            let server = target.server.name.as_str();
            return if virtual_server.is_some_and(|v| touches(config, catalog, v, server)) {
                Ok(())
            } else {
                Err(RouteError::InvalidParams(format!(
                    "unknown task {:?}",
                    target.exposed
                )))
            };
        }
    };
    let offered =
        virtual_server.is_some_and(|v| v.offers(kind, &target.server.name, &target.exposed));
    if offered {
        Ok(())
    } else {
        Err(unknown(kind, &target.exposed))
    }
}

/// Whether the virtual server offers anything of `server`: all of it, or a listed name or
/// URI that is the server's (by the catalog, else by its prefix).
fn touches(config: &Config, catalog: &Catalog, v: &VirtualServer, server: &str) -> bool {
    let owner = |kind: Offering, name: &str| {
        let listed = match kind {
            Offering::Tool => catalog.tool(name),
            Offering::Prompt => catalog.prompt(name),
            Offering::Resource => catalog.resource(name),
        };
        if let Some(route) = listed {
            return route.server.as_ref() == server;
        }
        config.server(server).is_some_and(|s| match kind {
            Offering::Resource => {
                !s.tool_prefix.is_empty() && uri::strip_uri(&s.tool_prefix, name).is_some()
            }
            _ => config
                .server_for_tool(name)
                .is_some_and(|owner| owner.name == server),
        })
    };
    v.servers().any(|s| s == server)
        || [Offering::Tool, Offering::Prompt, Offering::Resource]
            .into_iter()
            .any(|kind| v.names(kind).any(|name| owner(kind, name)))
}

/// The error [`crate::decide`] gives for a name or URI no server offers.
fn unknown(kind: Offering, exposed: &str) -> RouteError {
    match kind {
        Offering::Tool => RouteError::UnknownTool(exposed.to_owned()),
        Offering::Prompt => RouteError::InvalidParams(format!("unknown prompt {exposed:?}")),
        Offering::Resource => {
            RouteError::InvalidParams(format!("no MCP server offers resource {exposed:?}"))
        }
    }
}

#[cfg(test)]
mod tests;
