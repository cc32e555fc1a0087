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

// Replaying a call after a backend restart (standalone bootstrap, ext_proc mode).
//
// The router names the backend session in [`BACKEND_SESSION_HEADER`], and the backend
// cluster's upstream `header_mutation` sets `Mcp-Session-Id` from it. A backend's 404 to such a request becomes a 307 in the cluster's upstream filters
// (naming the refused backend session in [`REFUSED_SESSION_HEADER`] and the server in
// [`REPLAY_SERVER_HEADER`]), which the route's internal redirect policy turns into the same
// request again, body included, through the whole listener: the router sees the body as it
// went to the backend, those two headers and the gateway session ([`REPLAY_SESSION_HEADER`]). It
// forgets the refused backend session if it is still on record, opens a new one and routes
// the body again to the same server, marked with [`REPLAYED_HEADER`] so that a second 404
// is not redirected again (it gets the retryable error, through the hand-off above).

/// Internal request header: the backend session id a routed request must carry upstream.
pub const BACKEND_SESSION_HEADER: &str = "x-mcp-backend-session";

/// Internal request header (`1`): this routed request is a replay.
pub const REPLAYED_HEADER: &str = "x-mcp-replayed";

/// Header of the replayed request (copied from the backend cluster's 307): the backend
/// session id the backend refused.
pub const REFUSED_SESSION_HEADER: &str = "mcp-gateway-refused-session";

/// Header of the replayed request (copied from the backend cluster's 307): the server whose
/// backend refused the session.
pub const REPLAY_SERVER_HEADER: &str = "mcp-gateway-replay-server";

/// Header of the replayed request (copied from the backend cluster's 307): the client's
/// gateway session, from the router's `mcp` metadata. (Envoy's upstream filters change the
/// request's own headers in place, so the redirect carries the refused backend session in
/// `Mcp-Session-Id`.)
pub const REPLAY_SESSION_HEADER: &str = "mcp-gateway-replay-session";

/// Namespace of the dynamic metadata the router sets for Envoy.
pub const METADATA_NAMESPACE: &str = "mcp";

/// `mcp` metadata key of the gateway session a routed request belongs to.
pub const GATEWAY_SESSION_KEY: &str = "gateway_session";

/// `mcp` metadata key of the request's method label (also read by Envoy's trace tags).
pub const METHOD_KEY: &str = "method";

/// `mcp` metadata key of the server a routed request went to.
pub const SERVER_KEY: &str = "server";

/// `mcp` metadata key of the tool a `tools/call` names (its name at the server).
pub const TOOL_KEY: &str = "tool";

/// `mcp` metadata key of the prompt a `prompts/get` names (its name at the server).
pub const PROMPT_KEY: &str = "prompt";

/// `mcp` metadata key of the JSON-RPC error code the router answered a request with.
pub const ERROR_CODE_KEY: &str = "error_code";

/// Header of the backend cluster's upstream response: the request was a replay already.
pub const REPLAYED_RESPONSE_HEADER: &str = "mcp-gateway-replayed";

/// gRPC metadata Envoy's ext_proc filter sends (`initial_metadata`, value `1`) when its
/// backend clusters move [`BACKEND_SESSION_HEADER`] into `Mcp-Session-Id` and replay refused
/// calls: the standalone bootstrap's clusters, served over ADS by the gateway itself.
pub const UPSTREAM_SESSIONS_METADATA: &str = "x-mcp-gateway-upstream-sessions";

/// gRPC metadata Envoy's ext_proc filter sends (`initial_metadata`) to say which phases of a
/// request reach its stream: [`PHASES_REQUEST`], [`PHASES_RESPONSE`] or [`PHASES_BOTH`]. The
/// router closes the stream (status OK) once the last of them is answered, so a replica that
/// stops after routing a call costs that call nothing: Envoy fails a request whose ext_proc
/// stream breaks while it is open, even with every phase done. Without it, Envoy ends the
/// stream.
pub const PHASES_METADATA: &str = "x-mcp-gateway-phases";
/// [`PHASES_METADATA`]: request headers and body only (the standalone bootstrap's first filter).
pub const PHASES_REQUEST: &str = "request";
/// [`PHASES_METADATA`]: response headers (and a body the router asks for) only (the
/// standalone bootstrap's response filter).
pub const PHASES_RESPONSE: &str = "response";
/// [`PHASES_METADATA`]: the request's phases, then the response's (one filter for both).
pub const PHASES_BOTH: &str = "both";

/// Where the backend cluster's 307 points: Envoy needs an absolute URL; the router routes
/// the replayed request again whatever its authority.
pub const REPLAY_LOCATION: &str = "http://mcp-gateway.internal/mcp";
