//! 2025-era clients (with a gateway session) in front of backends that speak only MCP
//! 2026-07-28 (the catalog's `BackendProtocol::Modern`). No backend session is opened: the
//! request's body gets the 2026-07-28 envelope from the client's session record
//! (`Backends::session_client`) and its headers `Mcp-Method` / `Mcp-Name`, in `policy::route`.
//! A request the backend may answer `input_required` (the client can be asked, and the method
//! is one that asks) is handed to the broker instead, which owns it until its final answer
//! (broker `legacy_client`).

use mcp_gateway_config::Server;
use mcp_gateway_protocol::transport;

use crate::method::Method;
use crate::plan::{Plan, Route};

/// Whether a backend may answer `method` with `input_required` (SEP-2322).
pub(crate) fn may_ask(method: Method) -> bool {
    matches!(
        method,
        Method::ToolsCall | Method::PromptsGet | Method::ResourcesRead
    )
}

/// The plan that sends the request (as `body` or, when it changed, `new_body`) to the broker,
/// naming `server` in the internal header the broker carries it by, with the headers `seen`
/// set too. The client's session id and caller header stay for the broker; the backend route's
/// selecting header (`x-mcp-servername`) is not set, so Envoy picks the broker's route.
pub(crate) fn hand_to_broker(
    server: &Server,
    new_body: Option<Vec<u8>>,
    body: &[u8],
    seen: Vec<(&'static str, Vec<u8>)>,
) -> Plan {
    let body = new_body.unwrap_or_else(|| body.to_vec());
    let mut set = seen;
    set.extend([
        (transport::RELAYED_SERVER, server.name.as_bytes().to_vec()),
        ("content-length", body.len().to_string().into_bytes()),
    ]);
    Plan::Route(Route {
        set,
        body: Some(body),
        clear_route: true,
        ..Route::default()
    })
}
