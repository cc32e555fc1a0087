//! The routing decision: a pure function of the config, the discovered catalog and one message.

use std::borrow::Cow;
use std::ops::Range;

use mcp_gateway_catalog::Catalog;
use mcp_gateway_config::{Config, Server};
use mcp_gateway_protocol::{Kind, Message, naming};

use crate::RouteError;

/// Where one request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// To the broker, untouched.
    Broker,
    /// To one backend's tool.
    Tool(ToolTarget<'a>),
    /// Answered by the router with an error.
    Reject(RouteError),
}

/// A `tools/call` bound for a backend.
#[derive(Debug, PartialEq, Eq)]
pub struct ToolTarget<'a> {
    /// The owning server.
    pub server: &'a Server,
    /// The tool's name at the server.
    pub original: Cow<'a, str>,
    /// Byte range of the `params.name` string token in the body.
    pub name_range: Range<usize>,
    /// Whether the body must change (the exposed name differs from the original).
    pub rewrite: bool,
}

/// Decides where `msg` goes.
///
/// `tools/call` goes to the server that the catalog says owns the exposed name. When the catalog
/// has no entry, the configured prefixes decide, unless the matching server has been discovered
/// healthy without that tool (then the tool is unknown). Everything else goes to the broker.
pub fn decide<'a>(config: &'a Config, catalog: &'a Catalog, msg: &Message<'a>) -> Decision<'a> {
    if msg.kind() != Kind::Request || msg.method() != Some("tools/call") {
        return Decision::Broker;
    }
    let Some(name) = msg.param_str(&["name"]) else {
        return Decision::Reject(RouteError::InvalidParams(
            "tools/call: params.name (string) is required".into(),
        ));
    };
    let exposed = name.value.as_ref();
    if let Some(route) = catalog.route(exposed)
        && let Some(server) = config.server(&route.server).filter(|s| s.enabled)
    {
        return Decision::Tool(ToolTarget {
            server,
            rewrite: route.original.as_ref() != exposed,
            original: Cow::Borrowed(route.original.as_ref()),
            name_range: name.range,
        });
    }
    let Some(server) = config.server_for_tool(exposed) else {
        return Decision::Reject(RouteError::UnknownTool(exposed.to_owned()));
    };
    if catalog.server(&server.name).is_some_and(|s| s.healthy) {
        return Decision::Reject(RouteError::UnknownTool(exposed.to_owned()));
    }
    match naming::strip(&server.tool_prefix, exposed) {
        Some(original) if !original.is_empty() => Decision::Tool(ToolTarget {
            server,
            rewrite: !server.tool_prefix.is_empty(),
            original: Cow::Owned(original.to_owned()),
            name_range: name.range,
        }),
        _ => Decision::Reject(RouteError::UnknownTool(exposed.to_owned())),
    }
}

#[cfg(test)]
mod tests;
