//! The routing decision: a pure function of the config, the discovered catalog and one message.
//!
//! | method | routed by | rewritten |
//! | --- | --- | --- |
//! | `tools/call` | `params.name` | prefix removed |
//! | `prompts/get` | `params.name` | prefix removed |
//! | `resources/read`, `resources/subscribe`, `resources/unsubscribe` | `params.uri` | prefix removed from the URI |
//! | `completion/complete` | `params.ref.name` (`ref/prompt`) or `params.ref.uri` (`ref/resource`) | likewise |
//! | `tasks/get`, `tasks/result`, `tasks/cancel` | `params.taskId` `"<server>:<task id>"` | the backend's task id restored |
//! | a response to a server request | its id `"<server>:<original id>"` | the original id restored |
//! | anything else | — | goes to the broker untouched |

use std::borrow::Cow;
use std::ops::Range;

use mcp_gateway_catalog::{Catalog, LinkOwner, Route};
use mcp_gateway_config::{Config, Server};
use mcp_gateway_protocol::{Kind, Message, StrField, naming, server_request, tasks, uri};

use crate::{Method, RouteError};

/// Where one request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// To the broker, untouched.
    Broker,
    /// To one backend.
    Backend(Target<'a>),
    /// Answered by the router with an error.
    Reject(RouteError),
}

/// A request bound for one backend.
#[derive(Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// The owning server.
    pub server: &'a Server,
    /// The name or URI at the server.
    pub original: Cow<'a, str>,
    /// The name or URI the client used (what policies name).
    pub exposed: Cow<'a, str>,
    /// Byte range of the string token to rewrite in the body.
    pub range: Range<usize>,
    /// Whether the body must change (the exposed value differs from the original).
    pub rewrite: bool,
    /// What is addressed.
    pub kind: Addressed,
}

/// What a routed request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressed {
    /// A tool (`x-mcp-toolname` is set).
    Tool,
    /// A prompt.
    Prompt,
    /// A resource URI or URI template.
    Resource,
    /// A task; `original` is the backend's task id.
    Task,
    /// The client's response to a request the server sent; `original` is the server's id
    /// as JSON text.
    Response,
}

/// Decides where `msg` goes.
///
/// The catalog's exposed names decide first. When it has no entry, the configured prefixes
/// decide — except for tools and prompts of a server that was discovered healthy without
/// that name (then the name is unknown). Resource URIs always fall back to the prefix: a
/// template can produce URIs no list shows. A URI no prefix claims (a backend's own, as in
/// a tool's `resource_link`) goes to the one server whose listed resources or templates
/// produce it; when two do, it is refused naming both.
pub fn decide<'a>(config: &'a Config, catalog: &'a Catalog, msg: &Message<'a>) -> Decision<'a> {
    match msg.kind() {
        Kind::Request => {}
        Kind::Response => return response(config, msg).map_or(Decision::Broker, Decision::Backend),
        Kind::Notification => return Decision::Broker,
    }
    let result = match msg.method().map_or(Method::Other, Method::parse) {
        Method::ToolsCall => by_name(config, catalog, msg, &["name"], Addressed::Tool),
        Method::PromptsGet => by_name(config, catalog, msg, &["name"], Addressed::Prompt),
        Method::ResourcesRead | Method::ResourcesSubscribe | Method::ResourcesUnsubscribe => {
            by_uri(config, catalog, msg, &["uri"])
        }
        Method::CompletionComplete => match msg
            .param_str(&["ref", "type"])
            .as_ref()
            .map(|t| t.value.as_ref())
        {
            Some("ref/prompt") => {
                by_name(config, catalog, msg, &["ref", "name"], Addressed::Prompt)
            }
            Some("ref/resource") => by_uri(config, catalog, msg, &["ref", "uri"]),
            _ => Err(RouteError::InvalidParams(
                "completion/complete: params.ref.type must be \"ref/prompt\" or \"ref/resource\""
                    .into(),
            )),
        },
        Method::TasksGet | Method::TasksResult | Method::TasksCancel => by_task(config, msg),
        Method::Other => return Decision::Broker,
    };
    match result {
        Ok(target) => Decision::Backend(target),
        Err(e) => Decision::Reject(e),
    }
}

/// The backend that sent the request this response answers (see
/// `mcp_gateway_protocol::server_request`); `None` for ids the gateway did not issue.
fn response<'a>(config: &'a Config, msg: &Message<'a>) -> Option<Target<'a>> {
    let value: String = serde_json::from_str(msg.id_raw()?).ok()?;
    let (server, original) = server_request::decode(&value)?;
    let server = config.server(server).filter(|s| s.enabled)?;
    Some(Target {
        server,
        original: Cow::Owned(original.to_owned()),
        exposed: Cow::Owned(value.clone()),
        range: msg.id_range()?,
        rewrite: true,
        kind: Addressed::Response,
    })
}

/// The backend named in a gateway task id (see `mcp_gateway_protocol::tasks`).
fn by_task<'a>(config: &'a Config, msg: &Message<'a>) -> Result<Target<'a>, RouteError> {
    let field = field(msg, &["taskId"])?;
    let unknown = || RouteError::InvalidParams(format!("unknown task {:?}", field.value));
    let (server, task_id) = tasks::decode(&field.value).ok_or_else(unknown)?;
    let server = config
        .server(server)
        .filter(|s| s.enabled)
        .ok_or_else(unknown)?;
    Ok(Target {
        server,
        original: Cow::Owned(task_id.to_owned()),
        exposed: field.value.clone(),
        range: field.range.clone(),
        rewrite: true,
        kind: Addressed::Task,
    })
}

fn field<'a>(msg: &Message<'a>, path: &[&str]) -> Result<StrField<'a>, RouteError> {
    msg.param_str(path).ok_or_else(|| {
        RouteError::InvalidParams(format!(
            "{}: params.{} (string) is required",
            msg.method().unwrap_or_default(),
            path.join(".")
        ))
    })
}

fn by_name<'a>(
    config: &'a Config,
    catalog: &'a Catalog,
    msg: &Message<'a>,
    path: &[&str],
    kind: Addressed,
) -> Result<Target<'a>, RouteError> {
    let field = field(msg, path)?;
    let exposed = field.value.as_ref();
    let unknown = || match kind {
        Addressed::Tool => RouteError::UnknownTool(exposed.to_owned()),
        _ => RouteError::InvalidParams(format!("unknown prompt {exposed:?}")),
    };
    let listed = match kind {
        Addressed::Tool => catalog.tool(exposed),
        _ => catalog.prompt(exposed),
    };
    if let Some(target) = listed.and_then(|r| listed_target(config, r, exposed, &field, kind)) {
        return Ok(target);
    }
    let server = config.server_for_tool(exposed).ok_or_else(unknown)?;
    if catalog.server(&server.name).is_some_and(|s| s.healthy) {
        return Err(unknown());
    }
    let original = naming::strip(&server.tool_prefix, exposed).ok_or_else(unknown)?;
    Ok(Target {
        server,
        rewrite: !server.tool_prefix.is_empty(),
        original: Cow::Owned(original.to_owned()),
        exposed: field.value.clone(),
        range: field.range,
        kind,
    })
}

fn by_uri<'a>(
    config: &'a Config,
    catalog: &'a Catalog,
    msg: &Message<'a>,
    path: &[&str],
) -> Result<Target<'a>, RouteError> {
    let field = field(msg, path)?;
    let exposed = field.value.as_ref();
    if let Some(target) = catalog
        .resource(exposed)
        .and_then(|r| listed_target(config, r, exposed, &field, Addressed::Resource))
    {
        return Ok(target);
    }
    let target = |server, original: String| Target {
        server,
        rewrite: original != exposed,
        original: Cow::Owned(original),
        exposed: field.value.clone(),
        range: field.range.clone(),
        kind: Addressed::Resource,
    };
    if let Some(found) = config
        .enabled_servers()
        .filter(|s| !s.tool_prefix.is_empty())
        .find_map(|server| {
            uri::strip_uri(&server.tool_prefix, exposed).map(|original| target(server, original))
        })
    {
        return Ok(found);
    }
    // A backend's own URI, e.g. a `resource_link` a tool returned: the one server whose
    // listed resources or URI templates produce it.
    match catalog.link_owner(exposed) {
        LinkOwner::One(name) => {
            if let Some(server) = config.server(name).filter(|s| s.enabled) {
                return Ok(target(server, exposed.to_owned()));
            }
        }
        LinkOwner::Ambiguous(a, b) => {
            return Err(RouteError::InvalidParams(format!(
                "resource {exposed:?} is offered by both {a:?} and {b:?}; \
                 read it by the URI the gateway lists for it"
            )));
        }
        LinkOwner::None => {}
    }
    config
        .enabled_servers()
        .find(|s| s.tool_prefix.is_empty())
        .map(|server| target(server, exposed.to_owned()))
        .ok_or_else(|| {
            RouteError::InvalidParams(format!("no MCP server offers resource {exposed:?}"))
        })
}

fn listed_target<'a>(
    config: &'a Config,
    route: &'a Route,
    exposed: &str,
    field: &StrField<'a>,
    kind: Addressed,
) -> Option<Target<'a>> {
    let server = config.server(&route.server).filter(|s| s.enabled)?;
    Some(Target {
        server,
        rewrite: route.original.as_ref() != exposed,
        original: Cow::Borrowed(route.original.as_ref()),
        exposed: field.value.clone(),
        range: field.range.clone(),
        kind,
    })
}

#[cfg(test)]
mod tests;

/// The target of a replayed call to `server` (see `crate::replay`): the body is the one the
/// backend refused, its name already the server's own, so nothing is spliced; `exposed` is
/// the name the client used, for policies. `None` for what is not replayed (only tool calls
/// and prompts are: other requests name ids or URIs of the lost backend session).
pub(crate) fn replayed<'a>(
    server: &'a Server,
    catalog: &Catalog,
    msg: &Message<'a>,
) -> Option<Target<'a>> {
    if msg.kind() != Kind::Request {
        return None;
    }
    let kind = match msg.method().map_or(Method::Other, Method::parse) {
        Method::ToolsCall => Addressed::Tool,
        Method::PromptsGet => Addressed::Prompt,
        _ => return None,
    };
    let field = msg.param_str(&["name"])?;
    let exposed = format!("{}{}", server.tool_prefix, field.value);
    // What `decide` would route to this server by that exposed name, and only that.
    let listed = match kind {
        Addressed::Tool => catalog.tool(&exposed),
        _ => catalog.prompt(&exposed),
    };
    let known = match listed {
        Some(route) => route.server.as_ref() == server.name && *route.original == *field.value,
        None => !catalog.server(&server.name).is_some_and(|s| s.healthy),
    };
    if !known {
        return None;
    }
    Some(Target {
        server,
        exposed: Cow::Owned(exposed),
        original: field.value,
        range: field.range,
        rewrite: false,
        kind,
    })
}
