//! A server's traffic policy (`traffic:`): how long a request may take, what is retried,
//! how much load the backend is given and how fast callers may call it. Envoy enforces
//! all of it (the xds crate renders it into the server's cluster and routes); this module
//! only says what is allowed.
//!
//! ```yaml
//! servers:
//!   - name: weather
//!     url: http://weather:8080/mcp
//!     traffic:
//!       timeout: 10m                  # a request's answer must be complete in time; 0: none
//!       connectRetries: 2             # only requests the backend never received
//!       maxConnections: 100000        # circuit breaking: beyond these, fail at once
//!       maxPendingRequests: 100000
//!       maxRequests: 100000
//!       outlierDetection:
//!         consecutiveGatewayErrors: 5 # connect failures, resets, 502-504, timeouts; 0: off
//!         consecutive5xx: 0           # any 5xx; 0: off (a backend's 500 is an answer)
//!         baseEjectionTime: 5s
//!         maxEjectionTime: 30s
//!       rateLimit:                    # each optional: requests per window, in whole seconds
//!         server: {requests: 100, per: 1s}
//!         perTool: {requests: 10, per: 1s}
//!         perCaller: {requests: 20, per: 1m}
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Default `timeout`: long tool calls (and their SSE answers) must fit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Default `connectRetries`.
pub const DEFAULT_CONNECT_RETRIES: u32 = 2;
/// Most `connectRetries`.
pub const MAX_CONNECT_RETRIES: u32 = 10;
/// Default for each circuit-breaker threshold: high enough never to cap a healthy
/// deployment (an SSE answer holds its request and, over HTTP/1.1, its connection).
pub const DEFAULT_CIRCUIT_LIMIT: u32 = 100_000;
/// Default `consecutiveGatewayErrors`.
pub const DEFAULT_CONSECUTIVE_GATEWAY_ERRORS: u32 = 5;
/// Default `baseEjectionTime`.
pub const DEFAULT_BASE_EJECTION_TIME: Duration = Duration::from_secs(5);
/// Default `maxEjectionTime`.
pub const DEFAULT_MAX_EJECTION_TIME: Duration = Duration::from_secs(30);
/// Longest rate-limit window.
pub const MAX_RATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// `traffic:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawTraffic {
    /// Request timeout (`30s`, `10m`, `500ms`; `0` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retries of requests that never reached the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_retries: Option<u32>,
    /// Circuit breaker: most connections to the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Circuit breaker: most requests waiting for a connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<u32>,
    /// Circuit breaker: most requests in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
    /// Ejection of failing backend hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<RawOutlierDetection>,
    /// Local rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RawRateLimit>,
}

/// `traffic.outlierDetection` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawOutlierDetection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_gateway_errors: Option<u32>,
    #[serde(
        default,
        rename = "consecutive5xx",
        skip_serializing_if = "Option::is_none"
    )]
    pub consecutive_5xx: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_time: Option<String>,
}

/// `traffic.rateLimit` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawRateLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<RawLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_tool: Option<RawLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_caller: Option<RawLimit>,
}

/// One limit as written: `{requests: 10, per: 1m}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
}

/// A server's validated traffic policy; [`Traffic::default`] when `traffic:` is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// How long the backend may take to answer a request completely; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Retries of a request that never reached the backend (connect failure, refused
    /// stream, reset before the request was sent). Nothing the backend received is retried:
    /// MCP requests are not idempotent.
    pub connect_retries: u32,
    /// Circuit breaker thresholds.
    pub max_connections: u32,
    pub max_pending_requests: u32,
    pub max_requests: u32,
    /// Outlier detection.
    pub outlier: OutlierDetection,
    /// Local rate limits.
    pub rate_limit: RateLimit,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            timeout: Some(DEFAULT_TIMEOUT),
            connect_retries: DEFAULT_CONNECT_RETRIES,
            max_connections: DEFAULT_CIRCUIT_LIMIT,
            max_pending_requests: DEFAULT_CIRCUIT_LIMIT,
            max_requests: DEFAULT_CIRCUIT_LIMIT,
            outlier: OutlierDetection::default(),
            rate_limit: RateLimit::default(),
        }
    }
}

/// When a backend host is ejected, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlierDetection {
    /// Consecutive gateway errors (connect failure, reset, 502, 503, 504, timeout) that eject
    /// a host; 0: never.
    pub consecutive_gateway_errors: u32,
    /// Consecutive 5xx of any kind that eject a host; 0: never.
    pub consecutive_5xx: u32,
    /// The first ejection's length; each further one is longer, up to `max_ejection_time`.
    pub base_ejection_time: Duration,
    pub max_ejection_time: Duration,
}

impl Default for OutlierDetection {
    fn default() -> Self {
        Self {
            consecutive_gateway_errors: DEFAULT_CONSECUTIVE_GATEWAY_ERRORS,
            consecutive_5xx: 0,
            base_ejection_time: DEFAULT_BASE_EJECTION_TIME,
            max_ejection_time: DEFAULT_MAX_EJECTION_TIME,
        }
    }
}

/// Local rate limits (per Envoy instance); each `None` when not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// All requests routed to the server.
    pub server: Option<Limit>,
    /// Each tool of the server (`tools/call`) on its own.
    pub per_tool: Option<Limit>,
    /// Each caller on its own: the verified subject when `auth:` is on, else the client's
    /// address.
    pub per_caller: Option<Limit>,
}

/// At most `requests` per `per` (a whole number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub per: Duration,
}

impl From<&Traffic> for RawTraffic {
    fn from(traffic: &Traffic) -> Self {
        let limit = |limit: &Option<Limit>| {
            limit.map(|limit| RawLimit {
                requests: Some(limit.requests),
                per: Some(format_duration(limit.per)),
            })
        };
        let outlier = &traffic.outlier;
        Self {
            timeout: Some(
                traffic
                    .timeout
                    .map_or_else(|| "0".to_owned(), format_duration),
            ),
            connect_retries: Some(traffic.connect_retries),
            max_connections: Some(traffic.max_connections),
            max_pending_requests: Some(traffic.max_pending_requests),
            max_requests: Some(traffic.max_requests),
            outlier_detection: Some(RawOutlierDetection {
                consecutive_gateway_errors: Some(outlier.consecutive_gateway_errors),
                consecutive_5xx: Some(outlier.consecutive_5xx),
                base_ejection_time: Some(format_duration(outlier.base_ejection_time)),
                max_ejection_time: Some(format_duration(outlier.max_ejection_time)),
            }),
            rate_limit: Some(RawRateLimit {
                server: limit(&traffic.rate_limit.server),
                per_tool: limit(&traffic.rate_limit.per_tool),
                per_caller: limit(&traffic.rate_limit.per_caller),
            }),
        }
    }
}

/// Validates a server's `traffic:`; problems are reported under `servers[index].traffic`.
pub(crate) fn validate(
    index: usize,
    raw: RawTraffic,
    errors: &mut Vec<FieldError>,
) -> Option<Traffic> {
    let before = errors.len();
    let mut report = |field: &str, value: Option<String>, message: &str| {
        errors.push(FieldError::at(
            format!("servers[{index}].traffic.{field}"),
            value.as_deref(),
            message.to_owned(),
        ));
    };
    let mut traffic = Traffic::default();

    if let Some(text) = raw.timeout {
        match parse_duration(&text) {
            Ok(duration) if duration.is_zero() => traffic.timeout = None,
            Ok(duration) if duration < Duration::from_millis(100) => report(
                "timeout",
                Some(text),
                "must be at least 100ms (or 0 for no timeout)",
            ),
            Ok(duration) => traffic.timeout = Some(duration),
            Err(problem) => report("timeout", Some(text), problem),
        }
    }
    if let Some(retries) = raw.connect_retries {
        if retries > MAX_CONNECT_RETRIES {
            report(
                "connectRetries",
                Some(retries.to_string()),
                &format!("must be at most {MAX_CONNECT_RETRIES}"),
            );
        } else {
            traffic.connect_retries = retries;
        }
    }
    for (field, value, slot) in [
        (
            "maxConnections",
            raw.max_connections,
            &mut traffic.max_connections,
        ),
        (
            "maxPendingRequests",
            raw.max_pending_requests,
            &mut traffic.max_pending_requests,
        ),
        ("maxRequests", raw.max_requests, &mut traffic.max_requests),
    ] {
        match value {
            Some(0) => report(
                field,
                Some("0".to_owned()),
                "must be at least 1 (0 would refuse every request)",
            ),
            Some(n) => *slot = n,
            None => {}
        }
    }

    if let Some(outlier) = raw.outlier_detection {
        let detection = &mut traffic.outlier;
        if let Some(n) = outlier.consecutive_gateway_errors {
            detection.consecutive_gateway_errors = n;
        }
        if let Some(n) = outlier.consecutive_5xx {
            detection.consecutive_5xx = n;
        }
        for (field, text, slot) in [
            (
                "outlierDetection.baseEjectionTime",
                outlier.base_ejection_time,
                &mut detection.base_ejection_time,
            ),
            (
                "outlierDetection.maxEjectionTime",
                outlier.max_ejection_time,
                &mut detection.max_ejection_time,
            ),
        ] {
            let Some(text) = text else { continue };
            match parse_duration(&text) {
                Ok(duration) if duration < Duration::from_secs(1) => {
                    report(field, Some(text), "must be at least 1s");
                }
                Ok(duration) => *slot = duration,
                Err(problem) => report(field, Some(text), problem),
            }
        }
        if detection.max_ejection_time < detection.base_ejection_time {
            report(
                "outlierDetection.maxEjectionTime",
                Some(format_duration(detection.max_ejection_time)),
                &format!(
                    "must not be shorter than baseEjectionTime ({})",
                    format_duration(detection.base_ejection_time)
                ),
            );
        }
    }

    if let Some(rate) = raw.rate_limit {
        for (field, limit, slot) in [
            (
                "rateLimit.server",
                rate.server,
                &mut traffic.rate_limit.server,
            ),
            (
                "rateLimit.perTool",
                rate.per_tool,
                &mut traffic.rate_limit.per_tool,
            ),
            (
                "rateLimit.perCaller",
                rate.per_caller,
                &mut traffic.rate_limit.per_caller,
            ),
        ] {
            let Some(limit) = limit else { continue };
            match check_limit(limit) {
                Ok(limit) => *slot = Some(limit),
                Err((key, value, problem)) => {
                    report(&format!("{field}.{key}"), value, &problem);
                }
            }
        }
    }

    (errors.len() == before).then_some(traffic)
}

/// A limit's two fields, or the first that is wrong: (key, value, problem).
fn check_limit(raw: RawLimit) -> Result<Limit, (&'static str, Option<String>, String)> {
    let requests = match raw.requests {
        None => return Err(("requests", None, "is required".to_owned())),
        Some(0) => {
            return Err((
                "requests",
                Some("0".to_owned()),
                "must be at least 1 (disable a server instead of allowing it nothing)".to_owned(),
            ));
        }
        Some(n) => n,
    };
    let Some(text) = raw.per else {
        return Err(("per", None, "is required (e.g. 1s, 1m)".to_owned()));
    };
    let per = parse_duration(&text).map_err(|p| ("per", Some(text.clone()), p.to_owned()))?;
    if per < Duration::from_secs(1) || per.subsec_nanos() != 0 || per > MAX_RATE_WINDOW {
        return Err((
            "per",
            Some(text),
            "must be a whole number of seconds from 1s to 24h".to_owned(),
        ));
    }
    Ok(Limit { requests, per })
}

/// `500ms`, `90`, `90s`, `5m` or `1h`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    const PROBLEM: &str = "must be a whole number followed by ms, s, m or h (e.g. 30s)";
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| PROBLEM)?;
    let seconds = |factor: u64| n.checked_mul(factor).map(Duration::from_secs);
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    }
    .ok_or(PROBLEM)
}

/// The shortest text [`parse_duration`] reads back as `duration` (millisecond precision).
fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !millis.is_multiple_of(1000) {
        format!("{millis}ms")
    } else {
        format!("{}s", millis / 1000)
    }
}

#[cfg(test)]
mod tests;
