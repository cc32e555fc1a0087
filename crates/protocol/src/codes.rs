//! JSON-RPC 2.0 and MCP error codes.

/// The body is not valid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON is not a valid JSON-RPC request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;
/// Implementation-defined server error used by the MCP SDKs when a connection closes.
pub const CONNECTION_CLOSED: i64 = -32000;
/// Implementation-defined server error used by the MCP SDKs when a request times out.
pub const REQUEST_TIMEOUT: i64 = -32001;
/// MCP: the requested resource does not exist (`resources/read`).
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// MCP (2026-07-28): the request's protocol version is not one the server speaks; `data`
/// holds `requested` and `supported`, so a client can retry with a version of the list.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// The request needs a client capability its `_meta` did not declare (MCP 2026-07-28).
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
/// MCP (2026-07-28): the `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` header is
/// missing or disagrees with the body (HTTP 400).
pub const HEADER_MISMATCH: i64 = -32020;
/// Gateway: no new session now, the gateway holds as many as it may (HTTP 503); retry later.
pub const SESSION_LIMIT: i64 = -32003;
/// Gateway: a rate limit of the server refused the request (HTTP 429 with `Retry-After`).
pub const RATE_LIMITED: i64 = -32029;
