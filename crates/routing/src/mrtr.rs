//! Calls of 2026-07-28 clients that may be asked for input (they declared `sampling`,
//! `elicitation` or `roots`) on a held backend session: sent to the broker, which calls the
//! backend itself and turns the backend's server requests into `input_required` results
//! (docs/architecture.md, "Multi-round-trip requests over held sessions"). Everything else
//! keeps the direct route.

use mcp_gateway_config::Server;
use mcp_gateway_protocol::asks::AskClass;
use mcp_gateway_protocol::{Message, modern, transport};

use crate::context::RequestContext;
use crate::decision::{Addressed, Target};
use crate::held::Held;
use crate::metadata::Rewrite;
use crate::method::Method;
use crate::plan::{Plan, Route};

/// Whether a request on `held` goes to the broker: a `tools/call` or `prompts/get` (the
/// requests during which backends ask), not task-augmented, of a client that can be asked.
pub(crate) fn diverted(
    held: &Held,
    method: Method,
    kind: Addressed,
    rewrite: Option<Rewrite>,
) -> bool {
    held.class != AskClass::NONE
        && rewrite.is_none()
        && matches!(
            (method, kind),
            (Method::ToolsCall, Addressed::Tool) | (Method::PromptsGet, Addressed::Prompt)
        )
}

/// The request for the broker: the prefix spliced out (the envelope stays: the broker checks
/// it again), `Mcp-Name` as sent on, and the server and held key in internal headers. The
/// caller header the headers phase set stays for the broker.
pub(crate) fn to_broker(
    ctx: &mut RequestContext,
    held: &Held,
    server: &Server,
    msg: &Message<'_>,
    body: &[u8],
    target: &Target<'_>,
) -> Plan {
    let new_body = target
        .rewrite
        .then(|| mcp_gateway_protocol::splice_str(body, target.range.clone(), &target.original));
    let length = new_body.as_ref().map_or(body.len(), Vec::len);
    let mut set = vec![
        (transport::MRTR_SERVER, server.name.as_bytes().to_vec()),
        (transport::MRTR_HELD, held.key.as_bytes().to_vec()),
        ("content-length", length.to_string().into_bytes()),
    ];
    if let Some(method) = msg.method() {
        set.push((modern::METHOD_HEADER, method.as_bytes().to_vec()));
        // Envoy's filters after the router (RBAC, access logs) see the same method, tool and
        // caller headers as on a routed call: a client declaring a capability must not slip
        // past a rule on them.
        set.push((transport::ROUTED_METHOD, method.as_bytes().to_vec()));
    }
    if target.kind == Addressed::Tool {
        set.push((transport::ROUTED_TOOL, target.original.as_bytes().to_vec()));
    }
    if let Some(caller) = &ctx.caller {
        set.push((
            transport::ROUTED_CALLER,
            caller.rate_limit_key().into_bytes(),
        ));
    }
    set.push((
        modern::NAME_HEADER,
        modern::encode_header_value(&target.original)
            .as_bytes()
            .to_vec(),
    ));
    ctx.routed = None;
    Plan::Route(Route {
        set,
        remove: vec![
            transport::ROUTED_SERVER.to_owned(),
            transport::OBSERVE.to_owned(),
        ],
        credential: None,
        body: new_body,
        metadata: None,
        clear_route: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_of_clients_that_can_be_asked_go_to_the_broker() {
        let asks = Held::of(None, r#"{"elicitation":{}}"#);
        let mute = Held::of(None, "{}");
        let table = [
            (&asks, Method::ToolsCall, Addressed::Tool, None, true),
            (&asks, Method::PromptsGet, Addressed::Prompt, None, true),
            (&mute, Method::ToolsCall, Addressed::Tool, None, false),
            (&mute, Method::PromptsGet, Addressed::Prompt, None, false),
            // Task-augmented: the task path rewrites the answer's task ids.
            (
                &asks,
                Method::ToolsCall,
                Addressed::Tool,
                Some(Rewrite::Task),
                false,
            ),
            (
                &asks,
                Method::ResourcesRead,
                Addressed::Resource,
                None,
                false,
            ),
            (&asks, Method::Other, Addressed::Response, None, false),
        ];
        for (held, method, kind, rewrite, expected) in table {
            assert_eq!(
                diverted(held, method, kind, rewrite),
                expected,
                "{method:?} {kind:?} {rewrite:?} class {:?}",
                held.class
            );
        }
    }
}
