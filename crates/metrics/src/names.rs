//! Every metric name the gateway exports, defined once. The registry registers them under
//! [`PREFIX`]; dashboards and alerts name them with the prefix and, for counters, the
//! `_total` suffix OpenMetrics adds (histograms: `_bucket`, `_sum`, `_count`).

/// Prefix of every metric of the broker-router.
pub const PREFIX: &str = "mcp_gateway";

/// Requests the router answered or routed, by server, tool, method and outcome.
pub const CALLS: &str = "calls";
/// Time the router took to decide a request body (including a lazy backend session open).
pub const DECISION_SECONDS: &str = "router_decision_seconds";
/// ext_proc streams Envoy opened (one per HTTP request and filter).
pub const EXT_PROC_STREAMS: &str = "ext_proc_streams";
/// ext_proc messages received.
pub const EXT_PROC_MESSAGES: &str = "ext_proc_messages";
/// Live gateway sessions.
pub const SESSIONS: &str = "sessions";
/// Backend sessions opened, by server.
pub const BACKEND_SESSION_OPENS: &str = "backend_session_opens";
/// Backend sessions that could not be opened, by server.
pub const BACKEND_SESSION_FAILURES: &str = "backend_session_failures";
/// Backend sessions forgotten because the backend lost them, by server.
pub const BACKEND_SESSION_HEALS: &str = "backend_session_heals";
/// 1 when the last discovery of a server succeeded, by server.
pub const BACKEND_UP: &str = "backend_up";
/// Tools the catalog holds, by server.
pub const CATALOG_TOOLS: &str = "catalog_tools";
/// Discovery listings of a backend, by server and result.
pub const DISCOVERY_LISTINGS: &str = "discovery_listings";
/// Unix time of the last successful discovery listing, by server.
pub const DISCOVERY_LAST_SUCCESS: &str = "discovery_last_success_timestamp_seconds";
/// Config files applied since start.
pub const CONFIG_RELOADS: &str = "config_reloads";
/// Config files rejected since start.
pub const CONFIG_REJECTIONS: &str = "config_rejections";
/// 1 when the config in force matches its source.
pub const CONFIG_IN_SYNC: &str = "config_in_sync";
/// Aggregated lists the broker served from its cache, by list.
pub const BROKER_LISTS: &str = "broker_lists_served";
/// Audit lines dropped because the writer fell behind.
pub const AUDIT_DROPPED: &str = "audit_lines_dropped";
/// Token requests to token endpoints, by server and result.
pub const TOKEN_REQUESTS: &str = "credential_token_requests";
