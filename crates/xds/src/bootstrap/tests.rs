use std::path::Path;

use mcp_gateway_protocol::handoff;
use serde_yaml::Value;

use super::*;
use crate::traffic::{CALLER_RATE_LIMIT_FILTER, SERVER_RATE_LIMIT_FILTER, TOOL_RATE_LIMIT_FILTER};

fn parse(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).expect("bootstrap is YAML")
}

fn custom() -> BootstrapOptions {
    BootstrapOptions {
        listen: "127.0.0.2:18888".parse().expect("addr"),
        admin: "127.0.0.3:19901".parse().expect("addr"),
        routers: vec!["10.1.2.3:15051".parse().expect("addr")],
        brokers: vec!["10.1.2.4:18080".parse().expect("addr")],
        max_request_bytes: 1000,
        message_timeout: Duration::from_millis(2500),
        request_headers_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(45),
        idle_timeout: Duration::from_secs(120),
        max_connections: 777,
        tracing: None,
    }
}

fn socket(value: &Value) -> (String, u64) {
    let socket = &value["socket_address"];
    (
        socket["address"].as_str().expect("address").to_owned(),
        socket["port_value"].as_u64().expect("port"),
    )
}

fn endpoint(cluster: &Value) -> (String, u64) {
    socket(&cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"])
}

fn connection_manager(bootstrap: &Value) -> &Value {
    &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
}

#[test]
fn checked_in_envoy_yaml_matches_the_renderer() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../envoy/envoy.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == render_bootstrap(&BootstrapOptions::default()),
        "envoy/envoy.yaml ({}) is out of date with render_bootstrap(); regenerate it with \
         `cargo run -p mcp-gateway-cli -- envoy-config > envoy/envoy.yaml`",
        path.display()
    );
}

#[test]
fn defaults_are_the_documented_ports_and_limits() {
    let opts = BootstrapOptions::default();
    assert_eq!(opts.listen.to_string(), "0.0.0.0:8888");
    assert_eq!(opts.admin.to_string(), "127.0.0.1:9901");
    assert_eq!(opts.routers, ["127.0.0.1:50051".parse().expect("addr")]);
    assert_eq!(opts.brokers, ["127.0.0.1:8080".parse().expect("addr")]);
    assert_eq!(opts.max_request_bytes, 4 * 1024 * 1024);
    assert_eq!(opts.message_timeout, Duration::from_secs(10));
    assert_eq!(opts.request_headers_timeout, Duration::from_secs(10));
    assert_eq!(opts.request_timeout, Duration::from_secs(60));
    assert_eq!(opts.idle_timeout, Duration::from_secs(300));
    assert_eq!(opts.max_connections, 50_000);
}

/// Slow clients are cut off (headers, then the whole request, then an idle connection);
/// responses are not, so SSE streams and long tool calls stay open.
#[test]
fn slow_clients_are_timed_out_and_connections_bounded() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let hcm = connection_manager(&bootstrap);
    assert_eq!(hcm["request_headers_timeout"], "3s");
    assert_eq!(hcm["request_timeout"], "45s");
    assert_eq!(hcm["common_http_protocol_options"]["idle_timeout"], "120s");
    assert_eq!(
        hcm["common_http_protocol_options"]["headers_with_underscores_action"],
        "REJECT_REQUEST"
    );
    assert_eq!(hcm["http2_protocol_options"]["max_concurrent_streams"], 100);
    assert_eq!(
        bootstrap["overload_manager"]["resource_monitors"][0]["typed_config"]["max_active_downstream_connections"],
        777
    );
}

#[test]
fn addresses_come_from_the_options() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    assert_eq!(
        socket(&bootstrap["admin"]["address"]),
        ("127.0.0.3".into(), 19901)
    );
    let listener = &bootstrap["static_resources"]["listeners"][0];
    assert_eq!(socket(&listener["address"]), ("127.0.0.2".into(), 18888));
    let clusters = &bootstrap["static_resources"]["clusters"];
    assert_eq!(clusters[0]["name"], "mcp_router");
    assert_eq!(endpoint(&clusters[0]), ("10.1.2.3".into(), 15051));
    assert_eq!(clusters[1]["name"], "mcp_broker");
    assert_eq!(endpoint(&clusters[1]), ("10.1.2.4".into(), 18080));
}

/// Replicas: one endpoint each in the router and broker clusters, round robin, active
/// health checks and no panic mode (a dead replica gets no traffic), and ext_proc streams
/// that could not reach a replica retried on another.
#[test]
fn every_replica_is_an_endpoint_and_dead_ones_get_no_traffic() {
    let opts = BootstrapOptions {
        routers: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
            .map(|a| a.parse().expect("addr"))
            .to_vec(),
        brokers: ["127.0.0.1:4", "127.0.0.1:5"]
            .map(|a| a.parse().expect("addr"))
            .to_vec(),
        ..BootstrapOptions::default()
    };
    let bootstrap = parse(&render_bootstrap(&opts));
    let clusters = &bootstrap["static_resources"]["clusters"];
    for (cluster, ports) in [(&clusters[0], &[1, 2, 3][..]), (&clusters[1], &[4, 5][..])] {
        let endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
            .as_sequence()
            .expect("lb_endpoints");
        let found: Vec<u64> = endpoints
            .iter()
            .map(|e| socket(&e["endpoint"]["address"]).1)
            .collect();
        assert_eq!(found, ports, "{:?}", cluster["name"]);
        assert_eq!(cluster["lb_policy"], "ROUND_ROBIN");
        assert_eq!(
            cluster["common_lb_config"]["healthy_panic_threshold"]["value"],
            0
        );
        assert!(cluster["health_checks"][0]["tcp_health_check"].is_mapping());
    }
    for name in ["envoy.filters.http.ext_proc", BACKEND_RESPONSE_FILTER] {
        let retry = &filter(&bootstrap, name)["typed_config"]["grpc_service"]["retry_policy"];
        let on = retry["retry_on"].as_str().expect("retry_on");
        assert!(on.contains("connect-failure"), "{name}: {on}");
        assert_eq!(
            retry["retry_host_predicate"][0]["name"],
            "envoy.retry_host_predicates.previous_hosts"
        );
    }
}

#[test]
fn ipv6_addresses_are_quoted_bare() {
    let opts = BootstrapOptions {
        listen: "[::]:8888".parse().expect("addr"),
        ..BootstrapOptions::default()
    };
    let bootstrap = parse(&render_bootstrap(&opts));
    let listener = &bootstrap["static_resources"]["listeners"][0];
    assert_eq!(socket(&listener["address"]), ("::".into(), 8888));
}

#[test]
fn body_limit_sets_the_buffer_and_the_413_message() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let listener = &bootstrap["static_resources"]["listeners"][0];
    assert_eq!(listener["per_connection_buffer_limit_bytes"], 1000);
    let mappers = &connection_manager(&bootstrap)["local_reply_config"]["mappers"];
    let too_large = &mappers[0];
    assert_eq!(
        too_large["filter"]["status_code_filter"]["comparison"]["value"]["default_value"],
        413
    );
    let body = &too_large["body_format_override"];
    assert_eq!(body["content_type"], "application/json");
    assert_eq!(body["json_format"]["error"]["code"], -32600);
    assert_eq!(
        body["json_format"]["error"]["message"],
        "request body too large (limit 1000 bytes)"
    );
}

#[test]
fn unavailable_backend_mapper_needs_the_server_header_and_an_envoy_failure() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let mapper = &connection_manager(&bootstrap)["local_reply_config"]["mappers"][3];
    let filters = mapper["filter"]["and_filter"]["filters"]
        .as_sequence()
        .expect("and filter");
    assert!(
        filters
            .iter()
            .any(|f| f["header_filter"]["header"]["name"] == "x-mcp-servername")
    );
    assert!(
        filters
            .iter()
            .any(|f| f.get("response_flag_filter").is_some())
    );
    // HTTP 200, so that clients match the JSON-RPC error to their call.
    assert_eq!(mapper["status_code"], 200);
    let body = &mapper["body_format_override"];
    assert_eq!(body["content_type"], "application/json");
    let error = json_body(&body["text_format_source"]["inline_string"]);
    assert_eq!(error["id"], serde_json::json!(9_007_199_254_740_993_u64));
    assert_eq!(error["error"]["code"], -32603);
    assert_eq!(
        error["error"]["message"],
        "MCP server 'calc' is unavailable (Envoy response flags: UF)"
    );
}

/// A `text_format` JSON-RPC body as Envoy renders it, for a request with id 2^53 + 1 routed
/// to `calc`, parsed (so a template that is not JSON fails here).
fn json_body(template: &Value) -> serde_json::Value {
    let template = template.as_str().expect("an inline string");
    assert!(
        !template.contains("%DYNAMIC_METADATA(mcp:request_id)%"),
        "the typed id is a double and would round big ids"
    );
    let rendered = template
        .replace(
            "%DYNAMIC_METADATA(mcp:request_id_json)%",
            "9007199254740993",
        )
        .replace("%REQ(x-mcp-servername)%", "calc")
        .replace("%RESPONSE_FLAGS%", "UF")
        .replace("%RESPONSE_CODE%", "415");
    assert!(!rendered.contains('%'), "unexpected operator in {template}");
    serde_json::from_str(&rendered).unwrap_or_else(|e| panic!("{rendered}: {e}"))
}

#[test]
fn a_failing_router_or_broker_is_a_json_rpc_503() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let mappers = &connection_manager(&bootstrap)["local_reply_config"]["mappers"];
    // ext_proc's own failures (connect, timeout) carry details "ext_proc_error…"; the
    // router's immediate responses never do.
    let router = &mappers[5];
    let cel = &router["filter"]["extension_filter"]["typed_config"]["expression"];
    assert_eq!(
        cel.as_str(),
        Some("response.code_details.startsWith('ext_proc_error')")
    );
    let broker = &mappers[6];
    let filters = broker["filter"]["and_filter"]["filters"]
        .as_sequence()
        .expect("and filter");
    let header = &filters
        .iter()
        .find(|f| f.get("header_filter").is_some())
        .expect("a header filter")["header_filter"]["header"];
    assert_eq!(header["name"], "x-mcp-servername");
    assert_eq!(header["invert_match"], true, "only requests for the broker");
    assert!(
        filters
            .iter()
            .any(|f| f.get("response_flag_filter").is_some())
    );
    for (mapper, who) in [(router, "router"), (broker, "broker")] {
        assert_eq!(mapper["status_code"], 503);
        let error = &mapper["body_format_override"]["json_format"]["error"];
        assert_eq!(error["code"], -32603);
        let message = error["message"].as_str().expect("a message");
        assert!(message.contains(&format!("the gateway's {who} is unavailable")));
    }
}

#[test]
fn a_router_failing_after_it_read_the_body_answers_the_request_id() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let mappers = &connection_manager(&bootstrap)["local_reply_config"]["mappers"];
    // Before the id-less mapper of the same failures, which would otherwise take them all.
    let routed = &mappers[4];
    let filters = routed["filter"]["and_filter"]["filters"]
        .as_sequence()
        .expect("and filter");
    assert!(filters.iter().any(|f| {
        f["extension_filter"]["typed_config"]["expression"]
            == "response.code_details.startsWith('ext_proc_error')"
    }));
    let metadata = &filters
        .iter()
        .find(|f| f.get("metadata_filter").is_some())
        .expect("a metadata filter")["metadata_filter"];
    assert_eq!(metadata["matcher"]["filter"], "mcp");
    assert_eq!(
        metadata["matcher"]["path"][0]["key"],
        handoff::REQUEST_ID_JSON_KEY
    );
    assert_eq!(metadata["match_if_key_not_found"], false);
    // HTTP 200, so that clients match the JSON-RPC error to their call.
    assert_eq!(routed["status_code"], 200);
    let body = &routed["body_format_override"];
    let error = json_body(&body["text_format_source"]["inline_string"]);
    assert_eq!(error["id"], serde_json::json!(9_007_199_254_740_993_u64));
    assert_eq!(error["error"]["code"], -32603);
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("may have run it"))
    );
}

#[test]
fn backend_answers_that_are_not_json_rpc_are_mapped() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let config = &filter(&bootstrap, "envoy.filters.http.custom_response")["typed_config"];
    let matchers = &config["custom_response_matcher"]["matcher_list"]["matchers"];
    // Only answers to requests the router routed to a backend.
    for i in 0..2 {
        let predicates = matchers[i]["predicate"]["and_matcher"]["predicate"]
            .as_sequence()
            .expect("and matcher");
        assert_eq!(
            predicates[0]["single_predicate"]["input"]["typed_config"]["header_name"],
            "x-mcp-servername"
        );
    }
    // A 404 with a backend session: handed to the router, which forgets it.
    let lost = &matchers[0]["on_match"]["action"]["typed_config"];
    assert_eq!(
        lost["redirect_action"]["path_redirect"],
        handoff::SESSION_LOST_PATH
    );
    let added: Vec<(&str, &str)> = lost["request_headers_to_add"]
        .as_sequence()
        .expect("headers")
        .iter()
        .map(|h| {
            let header = &h["header"];
            (
                header["key"].as_str().expect("key"),
                header["value"].as_str().expect("value"),
            )
        })
        .collect();
    assert_eq!(
        added,
        [
            (
                handoff::LOST_SERVER_HEADER,
                "%DYNAMIC_METADATA(mcp:server)%"
            ),
            (
                handoff::LOST_GATEWAY_SESSION_HEADER,
                "%DYNAMIC_METADATA(mcp:gateway_session)%"
            ),
            (
                handoff::LOST_REQUEST_ID_HEADER,
                "%DYNAMIC_METADATA(mcp:request_id_json)%"
            ),
        ]
    );
    // Any other 4xx/5xx that is neither JSON nor SSE: a JSON-RPC error, status 200.
    let plain = &matchers[1]["on_match"]["action"]["typed_config"];
    assert_eq!(plain["status_code"], 200);
    assert_eq!(
        plain["response_headers_to_add"][0]["header"]["value"],
        "application/json"
    );
    let error = json_body(&plain["body_format"]["text_format_source"]["inline_string"]);
    assert_eq!(error["id"], serde_json::json!(9_007_199_254_740_993_u64));
    assert_eq!(
        error["error"]["message"],
        "MCP server 'calc' failed the request: HTTP 415 without a JSON-RPC answer"
    );
}

#[test]
fn routes_come_from_ads_and_clusters_too() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let rds = &connection_manager(&bootstrap)["rds"];
    assert_eq!(rds["route_config_name"], ROUTE_CONFIG_NAME);
    assert!(rds["config_source"]["ads"].is_mapping());
    let dynamic = &bootstrap["dynamic_resources"];
    assert_eq!(dynamic["ads_config"]["api_type"], "GRPC");
    assert_eq!(
        dynamic["ads_config"]["grpc_services"][0]["envoy_grpc"]["cluster_name"],
        ROUTER_CLUSTER
    );
    assert!(dynamic["cds_config"]["ads"].is_mapping());
}

/// The filter named `name` in the listener's chain.
fn filter<'a>(bootstrap: &'a Value, name: &str) -> &'a Value {
    let filters = connection_manager(bootstrap)["http_filters"]
        .as_sequence()
        .expect("http_filters");
    filters
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("filter {name} missing"))
}

#[test]
fn filter_chain_strips_internal_headers_then_routes() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let names: Vec<&str> = connection_manager(&bootstrap)["http_filters"]
        .as_sequence()
        .expect("http_filters")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "envoy.filters.http.header_mutation",
            "envoy.filters.http.custom_response",
            JWT_AUTHN_FILTER,
            "envoy.filters.http.ext_proc",
            SERVER_RATE_LIMIT_FILTER,
            TOOL_RATE_LIMIT_FILTER,
            CALLER_RATE_LIMIT_FILTER,
            BACKEND_RESPONSE_FILTER,
            "envoy.filters.http.router"
        ],
        "client x-mcp-* headers go first; tokens are verified before the router reads the \
         verified payload; the router's filter before routing; backends' errors are mapped \
         after the router has seen them"
    );
    let jwt = &filter(&bootstrap, JWT_AUTHN_FILTER)["config_discovery"];
    assert!(
        jwt["config_source"]["ads"].is_mapping(),
        "hot-reloaded over ADS"
    );
    assert_eq!(
        jwt["type_urls"][0],
        "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
    );
    assert_eq!(jwt["default_config"]["@type"], jwt["type_urls"][0]);
    assert_eq!(jwt["apply_default_config_without_warming"], true);
    let strip = &filter(&bootstrap, "envoy.filters.http.header_mutation")["typed_config"];
    assert_eq!(
        strip["mutations"]["request_mutations"][0]["remove_on_match"]["key_matcher"]["prefix"],
        "x-mcp-"
    );
    let ext_proc = &filter(&bootstrap, "envoy.filters.http.ext_proc")["typed_config"];
    assert_eq!(ext_proc["failure_mode_allow"], false);
    assert_eq!(
        ext_proc["route_cache_action"], "CLEAR",
        "a route picked from the client's own headers must not outlive the router's answer"
    );
    assert_eq!(ext_proc["message_timeout"], "2.5s");
    assert_eq!(ext_proc["max_message_timeout"], "60s");
    assert_eq!(ext_proc["mutation_rules"]["allow_all_routing"], true);
    assert_eq!(
        ext_proc["metadata_options"]["receiving_namespaces"]["untyped"][0],
        "mcp"
    );
    assert_eq!(
        ext_proc["metadata_options"]["forwarding_namespaces"]["untyped"][0],
        "envoy.filters.http.jwt_authn",
        "the router reads the verified token payload"
    );
    let mode = &ext_proc["processing_mode"];
    assert_eq!(
        mode["request_header_mode"], "SEND",
        "header changes sent with the body need the headers phase"
    );
    assert_eq!(mode["request_body_mode"], "BUFFERED");
    assert_eq!(mode["response_header_mode"], "SKIP");
    assert_eq!(mode["response_body_mode"], "NONE");

    let responses = &filter(&bootstrap, BACKEND_RESPONSE_FILTER)["typed_config"];
    let mode = &responses["processing_mode"];
    assert_eq!(mode["request_header_mode"], "SKIP");
    assert_eq!(mode["request_body_mode"], "NONE");
    assert_eq!(mode["response_header_mode"], "SEND");
    assert_eq!(
        responses["metadata_options"]["forwarding_namespaces"]["untyped"][0],
        "mcp"
    );
}

#[test]
fn long_message_timeouts_raise_the_override_ceiling() {
    let opts = BootstrapOptions {
        message_timeout: Duration::from_secs(90),
        ..BootstrapOptions::default()
    };
    let bootstrap = parse(&render_bootstrap(&opts));
    let ext_proc = &filter(&bootstrap, "envoy.filters.http.ext_proc")["typed_config"];
    assert_eq!(ext_proc["max_message_timeout"], "90s");
}

#[test]
fn durations_use_protobuf_notation() {
    assert_eq!(proto_duration(Duration::from_secs(10)), "10s");
    assert_eq!(proto_duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(proto_duration(Duration::from_nanos(1)), "0.000000001s");
    assert_eq!(proto_duration(Duration::ZERO), "0s");
}

#[test]
fn an_authorization_denial_keeps_its_status_and_answers_the_request() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    let mappers = connection_manager(&bootstrap)["local_reply_config"]["mappers"]
        .as_sequence()
        .expect("mappers");
    let expression = "response.code_details.startsWith('rbac_access_denied') || \
                      response.code_details.startsWith('ext_authz_denied')";
    // Before the rate-limit mapper, the last.
    let [with_id, without_id] = &mappers[mappers.len() - 3..mappers.len() - 1] else {
        panic!("two mappers for denials");
    };
    let filters = with_id["filter"]["and_filter"]["filters"]
        .as_sequence()
        .expect("and filter");
    assert_eq!(
        filters[0]["extension_filter"]["typed_config"]["expression"].as_str(),
        Some(expression)
    );
    assert_eq!(
        filters[1]["metadata_filter"]["matcher"]["path"][0]["key"],
        "request_id_json"
    );
    // The status stays: 403 from rbac, or what the authorization service answered.
    assert!(with_id.get("status_code").is_none() && without_id.get("status_code").is_none());
    let body = &with_id["body_format_override"];
    assert_eq!(body["content_type"], "application/json");
    let error = json_body(&body["text_format_source"]["inline_string"]);
    assert_eq!(error["id"], serde_json::json!(9_007_199_254_740_993_u64));
    assert_eq!(error["error"]["code"], -32600);
    assert_eq!(
        without_id["filter"]["extension_filter"]["typed_config"]["expression"].as_str(),
        Some(expression)
    );
    let body = &without_id["body_format_override"]["json_format"];
    assert_eq!(body["id"], Value::Null);
    assert_eq!(body["error"]["code"], -32600);
}

#[test]
fn tracing_is_off_unless_a_collector_is_named() {
    let bootstrap = parse(&render_bootstrap(&custom()));
    assert!(connection_manager(&bootstrap).get("tracing").is_none());
    let clusters = bootstrap["static_resources"]["clusters"]
        .as_sequence()
        .expect("clusters");
    assert!(clusters.iter().all(|c| c["name"] != COLLECTOR_CLUSTER));
}

#[test]
fn tracing_sends_spans_to_the_collector_tagged_from_the_router_metadata() {
    let opts = BootstrapOptions {
        tracing: Some(Tracing::parse("http://otel.monitoring:4317", 2.5).expect("valid")),
        ..custom()
    };
    let bootstrap = parse(&render_bootstrap(&opts));
    let tracing = &connection_manager(&bootstrap)["tracing"];
    assert_eq!(tracing["random_sampling"]["value"].as_f64(), Some(2.5));
    assert_eq!(tracing["spawn_upstream_span"].as_bool(), Some(true));
    let provider = &tracing["provider"];
    assert_eq!(provider["name"], "envoy.tracers.opentelemetry");
    assert_eq!(
        provider["typed_config"]["grpc_service"]["envoy_grpc"]["cluster_name"],
        COLLECTOR_CLUSTER
    );
    let tags: Vec<(&str, &str, &str)> = tracing["custom_tags"]
        .as_sequence()
        .expect("tags")
        .iter()
        .map(|t| {
            let key = &t["metadata"]["metadata_key"];
            (
                t["tag"].as_str().expect("tag"),
                key["key"].as_str().expect("namespace"),
                key["path"][0]["key"].as_str().expect("key"),
            )
        })
        .collect();
    assert!(tags.contains(&("mcp.method.name", "mcp", handoff::METHOD_KEY)));
    assert!(tags.contains(&("gen_ai.tool.name", "mcp", handoff::TOOL_KEY)));
    assert!(tags.contains(&("rpc.jsonrpc.error_code", "mcp", handoff::ERROR_CODE_KEY)));
    // The session id authorises requests: never a tag.
    assert!(
        tags.iter()
            .all(|(_, _, key)| *key != handoff::GATEWAY_SESSION_KEY)
    );
    let collector = bootstrap["static_resources"]["clusters"]
        .as_sequence()
        .expect("clusters")
        .iter()
        .find(|c| c["name"] == COLLECTOR_CLUSTER)
        .expect("the collector's cluster");
    assert_eq!(endpoint(collector), ("otel.monitoring".to_owned(), 4317));
}
