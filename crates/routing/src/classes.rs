//! Tools a backend offers only to clients declaring `sampling`, `elicitation` or `roots`
//! (capability classes, see `mcp_gateway_protocol::asks`), called by a 2026-07-28 client that
//! declared too little: the gateway knows from discovery which classes are offered the tool,
//! so it answers as the spec asks (-32021, HTTP 400, `data.requiredCapabilities`) instead of
//! passing the call to a held session that would not know the tool.

use mcp_gateway_catalog::Catalog;
use mcp_gateway_protocol::TransportError;
use mcp_gateway_protocol::asks::AskClass;

/// The refusal of a call of `exposed` by a client of `class`, when the catalog offers that
/// tool only to classes declaring more: the fewest capabilities that would get it.
pub(crate) fn missing(catalog: &Catalog, exposed: &str, class: AskClass) -> Option<TransportError> {
    if catalog.offers_tool(exposed, class) {
        return None;
    }
    AskClass::all()
        .filter(|c| c.contains(class) && catalog.offers_tool(exposed, *c))
        .min_by_key(|c| c.count())
        .map(|c| TransportError::MissingCapability(c.without(class).capabilities().to_string()))
}
