//! The parts of the bootstrap that turn errors a client would otherwise see as plain text
//! (or as nothing) into JSON-RPC: the HTTP connection manager's `local_reply_config` for
//! Envoy's own replies, and the `custom_response` filter for backends' answers.
//!
//! Bodies that carry the request id are written with `text_format` and the router's
//! `request_id_json` metadata (the id as the client wrote it): a `json_format` body can only
//! take the typed `request_id`, a double, which mangles integers beyond 2^53. Everything
//! else in those bodies is JSON-safe by construction: server names are validated to
//! `A-Za-z0-9_.-`, status codes and response flags are digits and letters.

use mcp_gateway_protocol::codes::{INTERNAL_ERROR, INVALID_REQUEST, RATE_LIMITED, REQUEST_TIMEOUT};
use mcp_gateway_protocol::handoff::{
    LOST_GATEWAY_SESSION_HEADER, LOST_REQUEST_ID_HEADER, LOST_SERVER_HEADER, REQUEST_ID_JSON_KEY,
    SESSION_LOST_PATH,
};

use crate::resources::ROUTED_HEADER;

/// The `local_reply_config` of the MCP listener's connection manager, indented for its place
/// in the bootstrap.
pub(super) fn local_reply_config(max_request_bytes: u32) -> String {
    format!(
        r#"          # Envoy's own errors as JSON-RPC bodies. Mappers see every local reply,
          # the router's ext_proc immediate responses included (never responses from
          # the broker or a backend), so each filter is narrow.
          local_reply_config:
            mappers:
            # The request body exceeded per_connection_buffer_limit_bytes. (A 413 the
            # router answered itself would be rewritten too.)
            - filter:
                status_code_filter:
                  comparison:
                    op: EQ
                    value:
                      default_value: 413
                      runtime_key: mcp.local_reply.body_too_large
              body_format_override:
                content_type: application/json
                json_format:
                  jsonrpc: "2.0"
                  id: null
                  error:
                    code: {INVALID_REQUEST}
                    message: "request body too large (limit {max_request_bytes} bytes)"
            # The server did not answer completely within its request timeout
            # (traffic.timeout); it may still be running the request.
            - filter:
                and_filter:
                  filters:
                  - header_filter:
                      header:
                        name: {ROUTED_HEADER}
                        present_match: true
                  - response_flag_filter:
                      flags: [UT]
              status_code: 200
              body_format_override:
                content_type: application/json
                text_format_source:
                  inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{REQUEST_TIMEOUT},"message":"MCP server ''%REQ({ROUTED_HEADER})%'' did not answer within its request timeout"}}}}'
            # The server's circuit breaker is open (traffic.maxConnections,
            # maxPendingRequests or maxRequests reached): refused without reaching it.
            - filter:
                and_filter:
                  filters:
                  - header_filter:
                      header:
                        name: {ROUTED_HEADER}
                        present_match: true
                  - response_flag_filter:
                      flags: [UO]
              status_code: 200
              body_format_override:
                content_type: application/json
                text_format_source:
                  inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{INTERNAL_ERROR},"message":"MCP server ''%REQ({ROUTED_HEADER})%'' is at its concurrency limit (circuit breaker open); the request did not reach it, retry later"}}}}'
            # The router picked a backend ({ROUTED_HEADER}) and Envoy could not reach
            # it: no healthy host, connect failure, reset. Requiring a response flag
            # leaves the router's own immediate responses alone.
            - filter:
                and_filter:
                  filters:
{unavailable_status}
                  - header_filter:
                      header:
                        name: {ROUTED_HEADER}
                        present_match: true
                  - response_flag_filter: {{}}
              # A JSON-RPC error answering the request, with status 200 so clients match it
              # to their call.
              status_code: 200
              body_format_override:
                content_type: application/json
                text_format_source:
                  inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{INTERNAL_ERROR},"message":"MCP server ''%REQ({ROUTED_HEADER})%'' is unavailable (Envoy response flags: %RESPONSE_FLAGS%)"}}}}'
            # The router itself is down or did not answer in time: Envoy's ext_proc filters
            # fail the request with details starting "ext_proc_error" (the router's own
            # answers carry other details). When the router had already read the body (its
            # {REQUEST_ID_JSON_KEY} metadata is there: the replica died after routing it, e.g.
            # in the response phase), the error answers the request, with status 200 so
            # clients match it to their call; the request may have reached the server.
            - filter:
                and_filter:
                  filters:
{ext_proc_error}
                  - metadata_filter:
                      matcher:
                        filter: mcp
                        path:
                        - key: {REQUEST_ID_JSON_KEY}
                        value:
                          present_match: true
                      match_if_key_not_found: false
              status_code: 200
              body_format_override:
                content_type: application/json
                text_format_source:
                  inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{INTERNAL_ERROR},"message":"the gateway replica handling this request stopped; the MCP server may have run it"}}}}'
            # The same before the router read the body: the request id is unknown here, and
            # the request reached no MCP server.
            - filter:
{ext_proc_error_alone}
              status_code: 503
              body_format_override:
                content_type: application/json
                json_format:
                  jsonrpc: "2.0"
                  id: null
                  error:
                    code: {INTERNAL_ERROR}
                    message: "the gateway's router is unavailable; retry later"
            # A request for the broker ({ROUTED_HEADER} absent) that Envoy could not
            # deliver: the broker is down.
            - filter:
                and_filter:
                  filters:
{unavailable_status}
                  - header_filter:
                      header:
                        name: {ROUTED_HEADER}
                        present_match: true
                        invert_match: true
                  - response_flag_filter: {{}}
              status_code: 503
              body_format_override:
                content_type: application/json
                json_format:
                  jsonrpc: "2.0"
                  id: null
                  error:
                    code: {INTERNAL_ERROR}
                    message: "the gateway's broker is unavailable; retry later"
            # Refused by an authorization filter the operator added after the router
            # (Envoy's rbac or ext_authz, matching the router's x-mcp-* headers or mcp
            # metadata): the status stays (403, or the authorization server's own), the body
            # answers the request; with null as its id when the router had not read it.
            # Which rule denied is in %RESPONSE_CODE_DETAILS% (access log), not in the body:
            # policy names are the operator's and need not be JSON-safe.
            - filter:
                and_filter:
                  filters:
{denied}
                  - metadata_filter:
                      matcher:
                        filter: mcp
                        path:
                        - key: {REQUEST_ID_JSON_KEY}
                        value:
                          present_match: true
                      match_if_key_not_found: false
              body_format_override:
                content_type: application/json
                text_format_source:
                  inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{INVALID_REQUEST},"message":"denied by an access policy of the gateway"}}}}'
            - filter:
{denied_alone}
              body_format_override:
                content_type: application/json
                json_format:
                  jsonrpc: "2.0"
                  id: null
                  error:
                    code: {INVALID_REQUEST}
                    message: "denied by an access policy of the gateway"
            # A rate limit of the server (traffic.rateLimit) refused the request: the 429
            # and its Retry-After stay, the body answers the request.
            - filter:
                and_filter:
                  filters:
                  - status_code_filter:
                      comparison:
                        op: EQ
                        value:
                          default_value: 429
                          runtime_key: mcp.local_reply.rate_limited
                  - header_filter:
                      header:
                        name: {ROUTED_HEADER}
                        present_match: true
              body_format_override:
                content_type: application/json
                text_format_source:
                  inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{RATE_LIMITED},"message":"rate limit of MCP server ''%REQ({ROUTED_HEADER})%'' exceeded; retry after %RESP(retry-after)% s"}}}}'"#,
        unavailable_status = UNAVAILABLE_STATUS.trim_end(),
        ext_proc_error = ext_proc_error_filter("                  - "),
        ext_proc_error_alone = ext_proc_error_filter("                "),
        denied = denied_filter("                  - "),
        denied_alone = denied_filter("                "),
    )
}

/// An access-log filter matching requests that Envoy's ext_proc filters failed (the router
/// is down or did not answer in time: details start "ext_proc_error"), `lead` being the
/// indentation (and list dash) of its first line.
fn ext_proc_error_filter(lead: &str) -> String {
    let pad = " ".repeat(lead.len());
    format!(
        r#"{lead}extension_filter:
{pad}  name: envoy.access_loggers.extension_filters.cel
{pad}  typed_config:
{pad}    "@type": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
{pad}    expression: "response.code_details.startsWith('ext_proc_error')""#
    )
}

/// An access-log filter matching requests an authorization filter refused: Envoy's `rbac`
/// (details start "rbac_access_denied") or `ext_authz` ("ext_authz_denied"); `lead` as in
/// [`ext_proc_error_filter`].
fn denied_filter(lead: &str) -> String {
    let pad = " ".repeat(lead.len());
    format!(
        r#"{lead}extension_filter:
{pad}  name: envoy.access_loggers.extension_filters.cel
{pad}  typed_config:
{pad}    "@type": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
{pad}    expression: "response.code_details.startsWith('rbac_access_denied') || response.code_details.startsWith('ext_authz_denied')""#
    )
}

/// Statuses 502 to 504: what Envoy answers when it cannot deliver a request.
const UNAVAILABLE_STATUS: &str = r#"                  - status_code_filter:
                      comparison:
                        op: GE
                        value:
                          default_value: 502
                          runtime_key: mcp.local_reply.unavailable_min
                  - status_code_filter:
                      comparison:
                        op: LE
                        value:
                          default_value: 504
                          runtime_key: mcp.local_reply.unavailable_max
"#;

/// The `custom_response` filter, a list item for the listener's `http_filters`.
///
/// It looks only at answers to requests the router sent to a backend (it set
/// [`ROUTED_HEADER`]); the broker's answers and JSON or SSE answers of backends pass
/// untouched. Placed before the ext_proc filters, it sees a response after the router's
/// response filter (Envoy runs encoders in reverse order), which on the observed route has
/// already dealt with a lost session.
pub(super) fn custom_response_filter() -> String {
    format!(
        r#"          # Backends' answers that are not JSON-RPC. A 404 to a request that carried a
          # backend session means the backend lost that session (restart, expiry): it is
          # handed to the router as an internal GET of {SESSION_LOST_PATH}, and the router
          # forgets the session and tells the client to retry. Any other 4xx/5xx that is
          # neither JSON nor SSE (e.g. a plain-text 415 for an id the backend cannot parse)
          # becomes a JSON-RPC error naming the server, with the client's request id.
          - name: envoy.filters.http.custom_response
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.custom_response.v3.CustomResponse
              custom_response_matcher:
                matcher_list:
                  matchers:
                  - predicate:
                      and_matcher:
                        predicate:
{routed}
                        - single_predicate:
                            input:
                              name: backend_session
                              typed_config:
                                "@type": type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput
                                header_name: mcp-session-id
                            value_match:
                              safe_regex:
                                google_re2: {{}}
                                regex: ".+"
                        - single_predicate:
                            input:
                              name: status
                              typed_config:
                                "@type": type.googleapis.com/envoy.type.matcher.v3.HttpResponseStatusCodeMatchInput
                            value_match:
                              exact: "404"
                    on_match:
                      action:
                        name: backend_session_lost
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.http.custom_response.redirect_policy.v3.RedirectPolicy
                          redirect_action:
                            path_redirect: "{SESSION_LOST_PATH}"
                          # The router's answer to the hand-off is a JSON-RPC error (200).
                          status_code: 200
                          request_headers_to_add:
                          - header:
                              key: {LOST_SERVER_HEADER}
                              value: "%DYNAMIC_METADATA(mcp:server)%"
                            append_action: OVERWRITE_IF_EXISTS_OR_ADD
                          - header:
                              key: {LOST_GATEWAY_SESSION_HEADER}
                              value: "%DYNAMIC_METADATA(mcp:gateway_session)%"
                            append_action: OVERWRITE_IF_EXISTS_OR_ADD
                          - header:
                              key: {LOST_REQUEST_ID_HEADER}
                              value: "%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%"
                            append_action: OVERWRITE_IF_EXISTS_OR_ADD
                  - predicate:
                      and_matcher:
                        predicate:
{routed}
                        - or_matcher:
                            predicate:
                            - single_predicate:
                                input:
                                  name: status_class
                                  typed_config:
                                    "@type": type.googleapis.com/envoy.type.matcher.v3.HttpResponseStatusCodeClassMatchInput
                                value_match:
                                  exact: 4xx
                            - single_predicate:
                                input:
                                  name: status_class
                                  typed_config:
                                    "@type": type.googleapis.com/envoy.type.matcher.v3.HttpResponseStatusCodeClassMatchInput
                                value_match:
                                  exact: 5xx
{not_json}
{not_sse}
{not_rate_limited}
                    on_match:
                      action:
                        name: backend_error_not_json_rpc
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.http.custom_response.local_response_policy.v3.LocalResponsePolicy
                          # A JSON-RPC error answering the request: status 200 so clients
                          # match it to their call (as for an unreachable backend).
                          status_code: 200
                          response_headers_to_add:
                          - header:
                              key: content-type
                              value: application/json
                            append_action: OVERWRITE_IF_EXISTS_OR_ADD
                          body_format:
                            text_format_source:
                              inline_string: '{{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:{REQUEST_ID_JSON_KEY})%,"error":{{"code":{INTERNAL_ERROR},"message":"MCP server ''%REQ({ROUTED_HEADER})%'' failed the request: HTTP %RESPONSE_CODE% without a JSON-RPC answer"}}}}'"#,
        routed = routed_predicate(),
        not_json = content_type_is_not("application/json"),
        not_sse = content_type_is_not("text/event-stream"),
        not_rate_limited = not_rate_limited(),
    )
}

/// The response is not a local rate-limit refusal (Envoy's `local_ratelimit` marks its 429
/// with `x-envoy-ratelimited`): that is the gateway's answer, not the backend's, and
/// `local_reply_config` already turned it into JSON-RPC.
fn not_rate_limited() -> &'static str {
    r#"                        - not_matcher:
                            single_predicate:
                              input:
                                name: rate_limited
                                typed_config:
                                  "@type": type.googleapis.com/envoy.type.matcher.v3.HttpResponseHeaderMatchInput
                                  header_name: x-envoy-ratelimited
                              value_match:
                                safe_regex:
                                  google_re2: {}
                                  regex: ".*""#
}

/// The request was routed to a backend: the router set [`ROUTED_HEADER`].
fn routed_predicate() -> String {
    format!(
        r#"                        - single_predicate:
                            input:
                              name: routed
                              typed_config:
                                "@type": type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput
                                header_name: {ROUTED_HEADER}
                            value_match:
                              safe_regex:
                                google_re2: {{}}
                                regex: ".+""#
    )
}

/// The response's content type does not start with `media_type` (any case); true as well
/// when it has none.
fn content_type_is_not(media_type: &str) -> String {
    format!(
        r#"                        - not_matcher:
                            single_predicate:
                              input:
                                name: content_type
                                typed_config:
                                  "@type": type.googleapis.com/envoy.type.matcher.v3.HttpResponseHeaderMatchInput
                                  header_name: content-type
                              value_match:
                                prefix: {media_type}
                                ignore_case: true"#
    )
}
