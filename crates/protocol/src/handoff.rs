//! What Envoy's configuration and the router hand each other outside the ext_proc
//! messages themselves: the `mcp` dynamic metadata that Envoy's error bodies read, and the
//! internal request by which Envoy tells the router that a backend lost a session.
//!
//! A backend answers 404 to a request whose backend session it no longer knows (it
//! restarted, or expired the session). On the routes whose responses the router does not
//! see, Envoy turns that answer into an internal redirect: a `GET` of [`SESSION_LOST_PATH`]
//! carrying the server, the gateway session and the request id (from the router's
//! metadata) in the headers below, and the backend session id in `Mcp-Session-Id`. The
//! router answers it: it forgets that backend session if it is still the one on record, and
//! tells the client to retry.
//!
//! A client can send the same request itself. It gains nothing: the router forgets a
//! mapping only when given the backend's own session id, which clients never see, and a
//! forgotten mapping only means that the next call opens a new backend session.

/// `mcp` metadata key: the request's JSON-RPC id as raw JSON text (`null` when it has
/// none), so that Envoy's error bodies answer with exactly the id the client sent. (The
/// typed `request_id` key holds numbers as doubles, which cannot hold every JSON integer.)
pub const REQUEST_ID_JSON_KEY: &str = "request_id_json";

/// The path of the internal request for a backend's lost session.
pub const SESSION_LOST_PATH: &str = "/.mcp-gateway/backend-session-lost";

/// Header of the internal request: the server that lost the session.
pub const LOST_SERVER_HEADER: &str = "mcp-gateway-lost-server";

/// Header of the internal request: the gateway session the backend session belonged to.
pub const LOST_GATEWAY_SESSION_HEADER: &str = "mcp-gateway-lost-session";

/// Header of the internal request: the failed request's id as raw JSON text.
pub const LOST_REQUEST_ID_HEADER: &str = "mcp-gateway-lost-request-id";
