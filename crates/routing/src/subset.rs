//! Virtual servers on the request path: a call for something outside the endpoint's subset
//! is refused exactly as a call for something that does not exist. Checked on the decided
//! target, from sets the config snapshot precomputed: no second parse, no lock.

use mcp_gateway_config::{Config, Offering};

use crate::RouteError;
use crate::context::RequestContext;
use crate::decision::{Addressed, Target};

/// `Ok` when the request came in on `/mcp`, or its target is in the virtual server's subset.
/// Task ids and responses to server requests continue something a call in the subset began
/// in the same (endpoint-bound) session, so they pass.
pub(crate) fn check(
    config: &Config,
    ctx: &RequestContext,
    target: &Target<'_>,
) -> Result<(), RouteError> {
    let Some(name) = ctx.virtual_server.as_deref() else {
        return Ok(());
    };
    let kind = match target.kind {
        Addressed::Tool => Offering::Tool,
        Addressed::Prompt => Offering::Prompt,
        Addressed::Resource => Offering::Resource,
        Addressed::Task | Addressed::Response => return Ok(()),
    };
    // A config reloaded without this virtual server since the headers phase: nothing is in it.
    let offered = config
        .virtual_server(name)
        .is_some_and(|v| v.offers(kind, &target.server.name, &target.exposed));
    if offered {
        Ok(())
    } else {
        Err(unknown(kind, &target.exposed))
    }
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
