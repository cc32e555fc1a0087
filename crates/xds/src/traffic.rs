//! A server's traffic policy on its routes: the request timeout, the retry policy and the
//! local rate limits (the circuit breakers and outlier detection are on its cluster, see
//! `resources.rs`).
//!
//! Rate limits use Envoy's `local_ratelimit` filter, one instance per dimension in the
//! listener ([`RATE_LIMIT_FILTERS`], placed after the ext_proc router, so they see its
//! headers and the route it picked). An instance does nothing on a route without its
//! per-route config, so a server without limits costs nothing. Separate instances, not one
//! with several descriptors, keep each limit's window independent of the others' (Envoy
//! requires a descriptor's window to be a multiple of the route's default bucket's).
//!
//! - **server**: one token bucket for every request routed to the server.
//! - **tool**: a bucket per `x-mcp-toolname` (set by the router on `tools/call` only).
//! - **caller**: a bucket per verified caller (issuer and subject, in the router's
//!   `x-mcp-caller-key`) when `auth:` is on, per client address otherwise.
//!
//! A refused request gets HTTP 429 with `Retry-After` (Envoy computes it from the bucket
//! that refused) and a JSON-RPC error body (the bootstrap's `local_reply_config`).

use envoy_types::pb::envoy::config::core::v3::RuntimeFractionalPercent;
use envoy_types::pb::envoy::config::route::v3::{RateLimit, RetryPolicy, rate_limit};
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::{
    LocalRateLimitDescriptor, rate_limit_descriptor,
};
use envoy_types::pb::envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit;
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, TokenBucket, fractional_percent};
use envoy_types::pb::google::protobuf::{Any, BoolValue, Duration, UInt32Value};
use mcp_gateway_config::{Limit, Server, Traffic};
use mcp_gateway_protocol::transport;

use crate::resources::{proto_duration, seconds, to_any};

/// Filter name of the per-server limit.
pub const SERVER_RATE_LIMIT_FILTER: &str = "mcp.ratelimit.server";
/// Filter name of the per-tool limit.
pub const TOOL_RATE_LIMIT_FILTER: &str = "mcp.ratelimit.tool";
/// Filter name of the per-caller limit.
pub const CALLER_RATE_LIMIT_FILTER: &str = "mcp.ratelimit.caller";
/// The listener's rate-limit filters, in chain order.
pub const RATE_LIMIT_FILTERS: [&str; 3] = [
    SERVER_RATE_LIMIT_FILTER,
    TOOL_RATE_LIMIT_FILTER,
    CALLER_RATE_LIMIT_FILTER,
];

/// Most distinct tools or callers one route keeps a bucket for at once (least recently
/// used first out; one that comes back starts with a full bucket).
const MAX_DYNAMIC_BUCKETS: u32 = 10_000;

/// The route timeout: the backend's whole answer (an SSE answer to its last event) must
/// arrive in time; 0 turns it off.
pub(crate) fn route_timeout(traffic: &Traffic) -> Duration {
    traffic.timeout.map_or(seconds(0), proto_duration)
}

/// Retries of what never reached the backend: a connection that failed or was refused, a
/// stream refused or reset before any of the request was sent. A request the backend
/// received is never sent again (an MCP `tools/call` is not idempotent), whatever it
/// answered and however long it took. `None` when retries are off.
pub(crate) fn connect_retry_policy(traffic: &Traffic) -> Option<RetryPolicy> {
    (traffic.connect_retries > 0).then(|| RetryPolicy {
        retry_on: "connect-failure,refused-stream,reset-before-request".to_owned(),
        num_retries: Some(UInt32Value {
            value: traffic.connect_retries,
        }),
        ..Default::default()
    })
}

/// The per-route configs of the rate-limit filters for `server`: (filter name, config),
/// one per limit it has. `auth` says whether callers are identified by token.
pub(crate) fn rate_limit_configs(server: &Server, auth: bool) -> Vec<(&'static str, Any)> {
    let limits = &server.traffic.rate_limit;
    let mut configs = Vec::new();
    if let Some(limit) = limits.server {
        configs.push((
            SERVER_RATE_LIMIT_FILTER,
            to_any(&local_rate_limit(server, "server", limit, None)),
        ));
    }
    if let Some(limit) = limits.per_tool {
        let action = rate_limit::action::ActionSpecifier::RequestHeaders(
            rate_limit::action::RequestHeaders {
                header_name: transport::ROUTED_TOOL.to_owned(),
                descriptor_key: "tool".to_owned(),
                skip_if_absent: true,
            },
        );
        configs.push((
            TOOL_RATE_LIMIT_FILTER,
            to_any(&local_rate_limit(
                server,
                "tool",
                limit,
                Some(("tool", action)),
            )),
        ));
    }
    if let Some(limit) = limits.per_caller {
        let (key, action) = if auth {
            // The router's key of the verified (issuer, subject): `sub` alone would put the
            // same subject at two issuers in one bucket.
            let caller = rate_limit::action::ActionSpecifier::RequestHeaders(
                rate_limit::action::RequestHeaders {
                    header_name: transport::ROUTED_CALLER.to_owned(),
                    descriptor_key: "caller".to_owned(),
                    skip_if_absent: false,
                },
            );
            ("caller", caller)
        } else {
            (
                "remote_address",
                rate_limit::action::ActionSpecifier::RemoteAddress(
                    rate_limit::action::RemoteAddress {},
                ),
            )
        };
        configs.push((
            CALLER_RATE_LIMIT_FILTER,
            to_any(&local_rate_limit(
                server,
                "caller",
                limit,
                Some((key, action)),
            )),
        ));
    }
    configs
}

/// One filter's per-route config: `limit` on the route's own bucket, or, with `keyed`
/// (descriptor key and the action producing its value), on one bucket per value; requests
/// without a value pass.
fn local_rate_limit(
    server: &Server,
    dimension: &str,
    limit: Limit,
    keyed: Option<(&str, rate_limit::action::ActionSpecifier)>,
) -> LocalRateLimit {
    let bucket = |requests: u32| TokenBucket {
        max_tokens: requests,
        tokens_per_fill: Some(UInt32Value { value: requests }),
        fill_interval: Some(proto_duration(limit.per)),
    };
    let always = |key: &str| RuntimeFractionalPercent {
        default_value: Some(FractionalPercent {
            numerator: 100,
            denominator: fractional_percent::DenominatorType::Hundred as i32,
        }),
        runtime_key: format!("mcp.ratelimit.{dimension}.{key}"),
    };
    let mut config = LocalRateLimit {
        stat_prefix: format!("mcp_ratelimit_{dimension}_{}", server.name),
        token_bucket: Some(bucket(limit.requests)),
        filter_enabled: Some(always("enabled")),
        filter_enforced: Some(always("enforced")),
        enable_retry_after_header: true,
        ..Default::default()
    };
    if let Some((key, action)) = keyed {
        // The route's own bucket is only a fallback nobody exhausts; each value gets a
        // bucket of its own.
        config.token_bucket = Some(bucket(u32::MAX));
        config.always_consume_default_token_bucket = Some(BoolValue { value: false });
        config.rate_limits = vec![RateLimit {
            actions: vec![rate_limit::Action {
                action_specifier: Some(action),
            }],
            ..Default::default()
        }];
        config.descriptors = vec![LocalRateLimitDescriptor {
            entries: vec![rate_limit_descriptor::Entry {
                key: key.to_owned(),
                value: String::new(),
            }],
            token_bucket: Some(bucket(limit.requests)),
            shadow_mode: false,
        }];
        config.max_dynamic_descriptors = Some(UInt32Value {
            value: MAX_DYNAMIC_BUCKETS,
        });
    }
    config
}

#[cfg(test)]
mod tests;
