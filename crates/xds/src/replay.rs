//! Replaying a call after a backend restart, on Envoy's side (see
//! `mcp_gateway_protocol::handoff` for the exchange and `mcp_gateway_routing`'s `replay`
//! for the router's): each backend cluster's upstream filters and each backend route's
//! internal redirect policy.
//!
//! - `mcp.backend_session` (`header_mutation`, every upstream request): `Mcp-Session-Id`
//!   from the router's internal backend session header, so the client's request keeps its
//!   gateway session id for a replay; on the response, the backend's own replay headers
//!   removed (a backend's 307 names no server), then the backend session the request
//!   carried and whether it was a replay already, for the next filter (and removed by the
//!   route before the client);
//! - `mcp.replay_on_404` (Lua, skipped by its matcher unless the status is 404): a 404 to a
//!   request that carried a backend session, not itself a replay, becomes a 307 to the
//!   gateway naming the refused session and the server;
//! - the routes follow one such 307 internally (`max_internal_redirects: 1`), copying those
//!   two headers into the replayed request.
//!
//! A request that did not come from the ext_proc router with the internal header (module
//! mode, a resumed GET) is untouched: the mutation's value is empty, and Envoy then adds
//! nothing.

use envoy_types::pb::envoy::config::common::mutation_rules::v3::{
    HeaderMutation as HeaderChange, header_mutation,
};
use envoy_types::pb::envoy::config::core::v3::{
    DataSource, HeaderValue, HeaderValueOption, Http1ProtocolOptions, data_source,
    header_value_option,
};
use envoy_types::pb::envoy::config::route::v3::InternalRedirectPolicy;
use envoy_types::pb::envoy::extensions::common::matching::v3::ExtensionWithMatcher;
use envoy_types::pb::envoy::extensions::filters::common::matcher::action::v3::SkipFilter;
use envoy_types::pb::envoy::extensions::filters::http::header_mutation::v3::{
    HeaderMutation, Mutations,
};
use envoy_types::pb::envoy::extensions::filters::http::lua::v3::Lua;
use envoy_types::pb::envoy::extensions::filters::http::upstream_codec::v3::UpstreamCodec;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpFilter, http_filter,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions,
    http_protocol_options::{
        ExplicitHttpConfig, UpstreamProtocolOptions, explicit_http_config::ProtocolConfig,
    },
};
use envoy_types::pb::envoy::r#type::matcher::v3::HttpResponseHeaderMatchInput;
use envoy_types::pb::google::protobuf::{Any, UInt32Value};
use envoy_types::pb::xds::core::v3::TypedExtensionConfig;
use envoy_types::pb::xds::r#type::matcher::v3::{Matcher, StringMatcher, matcher, string_matcher};
use mcp_gateway_protocol::{handoff, transport};

use crate::resources::to_any;

/// The key of a cluster's upstream HTTP options in `typed_extension_protocol_options`.
pub(crate) const HTTP_PROTOCOL_OPTIONS: &str =
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/// The headers the backend cluster adds to a response for the replay, which the client
/// never sees (the routes remove them).
pub(crate) const RESPONSE_ONLY_HEADERS: [&str; 4] = [
    handoff::REFUSED_SESSION_HEADER,
    handoff::REPLAY_SESSION_HEADER,
    handoff::REPLAYED_RESPONSE_HEADER,
    handoff::REPLAY_SERVER_HEADER,
];

/// The upstream HTTP options of `server`'s cluster: HTTP/1.1, as without them, and the
/// upstream filters above.
pub(crate) fn protocol_options(server: &str) -> Any {
    let options = HttpProtocolOptions {
        upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(
            ExplicitHttpConfig {
                protocol_config: Some(ProtocolConfig::HttpProtocolOptions(
                    Http1ProtocolOptions::default(),
                )),
            },
        )),
        // Responses go through upstream filters last to first: the mutation names the
        // refused session before the Lua filter reads it.
        http_filters: vec![
            filter("mcp.replay_on_404", to_any(&replay_on_404(server))),
            filter("mcp.backend_session", to_any(&backend_session())),
            filter(
                "envoy.filters.http.upstream_codec",
                to_any(&UpstreamCodec::default()),
            ),
        ],
        ..Default::default()
    };
    to_any(&options)
}

/// The routes' policy: follow the cluster's 307 once, with the replay headers.
pub(crate) fn internal_redirect() -> InternalRedirectPolicy {
    InternalRedirectPolicy {
        max_internal_redirects: Some(UInt32Value { value: 1 }),
        redirect_response_codes: vec![307],
        // The listener may be HTTPS while the location is not.
        allow_cross_scheme_redirect: true,
        response_headers_to_copy: vec![
            handoff::REFUSED_SESSION_HEADER.to_owned(),
            handoff::REPLAY_SESSION_HEADER.to_owned(),
            handoff::REPLAY_SERVER_HEADER.to_owned(),
        ],
        ..Default::default()
    }
}

fn filter(name: &str, config: Any) -> HttpFilter {
    HttpFilter {
        name: name.to_owned(),
        config_type: Some(http_filter::ConfigType::TypedConfig(config)),
        ..Default::default()
    }
}

/// `name` removed.
fn remove(name: &str) -> HeaderChange {
    HeaderChange {
        action: Some(header_mutation::Action::Remove(name.to_owned())),
    }
}

/// `name: %REQ(from)%`, replacing any value; nothing when the request has no `from`.
fn copy(name: &str, from: &str) -> HeaderChange {
    set(name, format!("%REQ({from})%"))
}

/// `name: <value>` (a substitution format), replacing any value; nothing when it is empty.
fn set(name: &str, value: String) -> HeaderChange {
    HeaderChange {
        action: Some(header_mutation::Action::Append(HeaderValueOption {
            header: Some(HeaderValue {
                key: name.to_owned(),
                value,
                ..Default::default()
            }),
            append_action: header_value_option::HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
            ..Default::default()
        })),
    }
}

fn backend_session() -> HeaderMutation {
    HeaderMutation {
        mutations: Some(Mutations {
            request_mutations: vec![copy(transport::SESSION_ID, handoff::BACKEND_SESSION_HEADER)],
            // A backend's own replay headers are removed first: only this filter and the
            // Lua (the server, on a 404 it turns into the 307) name a replay.
            response_mutations: RESPONSE_ONLY_HEADERS
                .into_iter()
                .map(remove)
                .chain([
                    copy(
                        handoff::REFUSED_SESSION_HEADER,
                        handoff::BACKEND_SESSION_HEADER,
                    ),
                    copy(handoff::REPLAYED_RESPONSE_HEADER, handoff::REPLAYED_HEADER),
                    set(
                        handoff::REPLAY_SESSION_HEADER,
                        // The router's `mcp` metadata (the request's own session header holds
                        // the backend's by now).
                        format!("%DYNAMIC_METADATA(mcp:{})%", handoff::GATEWAY_SESSION_KEY),
                    ),
                ])
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Lua filter, wrapped in a matcher that skips it unless the status is 404 (so calls
/// that succeed never run Lua).
fn replay_on_404(server: &str) -> ExtensionWithMatcher {
    let not_404 = matcher::matcher_list::Predicate {
        match_type: Some(matcher::matcher_list::predicate::MatchType::NotMatcher(
            Box::new(matcher::matcher_list::Predicate {
                match_type: Some(matcher::matcher_list::predicate::MatchType::SinglePredicate(
                    matcher::matcher_list::predicate::SinglePredicate {
                        input: Some(TypedExtensionConfig {
                            name: "status".to_owned(),
                            typed_config: Some(to_any(&HttpResponseHeaderMatchInput {
                                header_name: ":status".to_owned(),
                            })),
                        }),
                        matcher: Some(
                            matcher::matcher_list::predicate::single_predicate::Matcher::ValueMatch(
                                StringMatcher {
                                    match_pattern: Some(string_matcher::MatchPattern::Exact(
                                        "404".to_owned(),
                                    )),
                                    ..Default::default()
                                },
                            ),
                        ),
                    },
                )),
            }),
        )),
    };
    let skip = matcher::OnMatch {
        on_match: Some(matcher::on_match::OnMatch::Action(TypedExtensionConfig {
            name: "skip".to_owned(),
            typed_config: Some(to_any(&SkipFilter::default())),
        })),
        ..Default::default()
    };
    ExtensionWithMatcher {
        xds_matcher: Some(Matcher {
            matcher_type: Some(matcher::MatcherType::MatcherList(matcher::MatcherList {
                matchers: vec![matcher::matcher_list::FieldMatcher {
                    predicate: Some(not_404),
                    on_match: Some(skip),
                }],
            })),
            ..Default::default()
        }),
        extension_config: Some(
            envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig {
                name: "mcp.replay_on_404.lua".to_owned(),
                typed_config: Some(to_any(&Lua {
                    default_source_code: Some(DataSource {
                        specifier: Some(data_source::Specifier::InlineString(lua(server))),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            },
        ),
        ..Default::default()
    }
}

/// The Lua code for `server`'s cluster.
fn lua(server: &str) -> String {
    format!(
        r#"function envoy_on_response(response)
  local headers = response:headers()
  if headers:get("{refused}") ~= nil and headers:get("{replayed}") == nil then
    headers:replace(":status", "307")
    headers:replace("location", "{location}")
    headers:replace("{server_header}", {server})
  end
end
"#,
        refused = handoff::REFUSED_SESSION_HEADER,
        replayed = handoff::REPLAYED_RESPONSE_HEADER,
        location = handoff::REPLAY_LOCATION,
        server_header = handoff::REPLAY_SERVER_HEADER,
        server = lua_string(server),
    )
}

/// `text` as a Lua string literal: every byte that is not a plain ASCII letter, digit,
/// `-`, `_` or `.` as a decimal escape.
fn lua_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("\\{byte:03}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// Upstream filters run in order on requests and in reverse on responses: the Lua filter
    /// first (it sees the response last, after the mutation named the refused session), the
    /// codec last (Envoy requires it).
    #[test]
    fn backend_clusters_name_sessions_upstream_and_turn_a_refusal_into_a_redirect() {
        let any = protocol_options("calc");
        let options = HttpProtocolOptions::decode(any.value.as_slice()).expect("decodes");
        let names: Vec<_> = options
            .http_filters
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "mcp.replay_on_404",
                "mcp.backend_session",
                "envoy.filters.http.upstream_codec"
            ]
        );
        let code = lua("calc");
        assert!(code.contains(r#"headers:replace("mcp-gateway-replay-server", "calc")"#));
        assert!(code.contains(handoff::REPLAY_LOCATION));
        let Some(http_filter::ConfigType::TypedConfig(mutation)) =
            &options.http_filters[1].config_type
        else {
            panic!("typed config expected");
        };
        let mutation = HeaderMutation::decode(mutation.value.as_slice()).expect("decodes");
        let mutations = mutation.mutations.expect("mutations");
        assert_eq!(
            mutations.request_mutations,
            [copy("mcp-session-id", "x-mcp-backend-session")]
        );
        // Whatever replay headers the backend sent are removed before any is set: a
        // backend's own 307 names no server.
        let removed: Vec<_> = mutations.response_mutations[..4]
            .iter()
            .filter_map(|m| match &m.action {
                Some(header_mutation::Action::Remove(name)) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(removed, RESPONSE_ONLY_HEADERS);
        assert_eq!(mutations.response_mutations.len(), 7);
    }

    #[test]
    fn server_names_are_lua_literals_whatever_they_hold() {
        assert_eq!(lua_string("calc-1.a_b"), "\"calc-1.a_b\"");
        assert_eq!(lua_string("a\"]]\n"), "\"a\\034\\093\\093\\010\"");
    }
}
