"""Rules for the ext_proc wiring of each Gateway API implementation: the settings the
router depends on (request body buffered, response headers sent so the router maps backend
session ids back, failure mode closed, mode override allowed, :authority writable) and that the
wiring reaches the router."""

from __future__ import annotations

from .objects import Doc, broker_router, find, ident, pod_labels

ROUTER_PROCESSING_MODE = {
    "request_header_mode": "SEND",
    # One filter for both ways (no per-route switch as in the standalone bootstrap): the
    # router must see every response to map a backend's session id back to the gateway's.
    "response_header_mode": "SEND",
    "request_body_mode": "BUFFERED",
    "response_body_mode": "NONE",
    "request_trailer_mode": "SKIP",
    "response_trailer_mode": "SKIP",
}


def router_service(docs: list[Doc], values: Doc, ns: str) -> Doc | None:
    br = broker_router(docs)
    if br is None:
        return None
    for svc in find(docs, "Service", namespace=ns):
        selector = svc["spec"].get("selector", {})
        if (
            selector
            and svc["spec"].get("clusterIP") != "None"
            and all(pod_labels(br).get(k) == v for k, v in selector.items())
        ):
            return svc
    return None


def envoy_gateway_rules(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    problems = []
    gw_ns = values["gateway"]["namespace"] or ns
    policies = find(docs, "EnvoyExtensionPolicy")
    if len(policies) != 1:
        return [f"{len(policies)} EnvoyExtensionPolicies rendered, want 1"]
    policy = policies[0]
    if policy["metadata"].get("namespace") != gw_ns:
        problems.append(f"{ident(policy)} is not in the Gateway's namespace {gw_ns}")
    targets = policy["spec"].get("targetRefs", [])
    if targets != [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": values["gateway"]["name"]}
    ]:
        problems.append(f"{ident(policy)} targets {targets}, want the Gateway {values['gateway']['name']}")
    ext = policy["spec"].get("extProc", [])
    if len(ext) != 1:
        return problems + [f"{ident(policy)} has {len(ext)} extProc entries"]
    ext = ext[0]
    svc = router_service(docs, values, ns)
    refs = ext.get("backendRefs", [])
    if svc is None or len(refs) != 1:
        problems.append(f"{ident(policy)} backendRefs {refs}: no router Service to check against")
    else:
        ref = refs[0]
        grpc = [p for p in svc["spec"]["ports"] if p["port"] == ref.get("port")]
        if ref.get("name") != svc["metadata"]["name"] or ref.get("namespace", gw_ns) != ns or not grpc:
            problems.append(f"{ident(policy)} backendRef {ref} is not {ident(svc)}'s router port")
        elif grpc[0].get("port") != values["brokerRouter"]["routerPort"]:
            problems.append(f"{ident(policy)} sends to port {ref.get('port')}, not the router's")
    mode = ext.get("processingMode", {})
    if mode.get("request", {}).get("body") != "Buffered":
        problems.append(
            f"{ident(policy)} request body mode is {mode.get('request', {}).get('body')}, want Buffered"
        )
    if "response" not in mode:
        problems.append(
            f"{ident(policy)} sends no response headers: backend session ids would reach clients"
        )
    if mode.get("allowModeOverride") is not True:
        problems.append(f"{ident(policy)} does not allow mode override")
    if ext.get("failOpen") is not False:
        problems.append(f"{ident(policy)} is not failOpen: false")
    if not ext.get("messageTimeout"):
        problems.append(f"{ident(policy)} has no messageTimeout")
    if ext.get("metadata", {}).get("writableNamespaces") != ["mcp"]:
        problems.append(f"{ident(policy)} drops the router's mcp metadata (metadata.writableNamespaces)")

    # The tracing patch (tracing_rules.py) is a policy of its own.
    patches = [
        p
        for p in find(docs, "EnvoyPatchPolicy")
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "tracing"
    ]
    if values["envoyGateway"]["patchPolicy"]["enabled"]:
        if len(patches) != 1:
            problems.append(f"{len(patches)} EnvoyPatchPolicies rendered, want 1")
        else:
            patch = patches[0]
            ops = patch["spec"].get("jsonPatches", [])
            filter_name = f"envoy.filters.http.ext_proc/envoyextensionpolicy/{policy['metadata']['namespace']}/{policy['metadata']['name']}/extproc/0"
            want_listener = (
                values["envoyGateway"]["patchPolicy"]["listenerName"] or f"tcp-{values['gateway']['port']}"
            )
            if (
                patch["metadata"].get("namespace") != gw_ns
                or patch["spec"].get("targetRef", {}).get("name") != values["gateway"]["name"]
            ):
                problems.append(f"{ident(patch)} does not target the Gateway in its namespace")
            # One patch gives the connection manager JSON-RPC local replies; the others
            # patch the router's filter.
            replies = [
                op for op in ops if op.get("operation", {}).get("path") == "/typed_config/local_reply_config"
            ]
            filter_ops = [op for op in ops if op not in replies]
            for op in ops:
                if (
                    op.get("type") != "type.googleapis.com/envoy.config.listener.v3.Listener"
                    or op.get("name") != want_listener
                ):
                    problems.append(
                        f"{ident(patch)} patches {op.get('type')} {op.get('name')}, want Listener {want_listener}"
                    )
            for op in filter_ops:
                if filter_name not in op.get("operation", {}).get("jsonPath", ""):
                    problems.append(f"{ident(patch)} does not select the filter {filter_name}")
            # path suffix -> value: what the router's filter needs beyond the policy's fields.
            wanted = {
                "/mutation_rules": {"allow_all_routing": True},
                # Without it a route Envoy picked from the client's own Host and x-mcp-*
                # headers could outlive the router's decision (a route bypass).
                "/route_cache_action": "CLEAR",
                # A router that cannot be reached: 503, mapped to a JSON-RPC error below.
                "/status_on_error": {"code": 503},
            }
            for suffix, value in wanted.items():
                if not any(
                    op.get("operation", {}).get("path", "").endswith(suffix)
                    and op.get("operation", {}).get("value") == value
                    for op in filter_ops
                ):
                    problems.append(f"{ident(patch)} does not set {suffix[1:]} to {value}")
            if len(filter_ops) != len(wanted):
                problems.append(f"{ident(patch)} has {len(filter_ops)} filter patches, want {len(wanted)}")
            if len(replies) != 1 or "http_connection_manager" not in replies[0]["operation"].get("jsonPath", ""):
                problems.append(f"{ident(patch)} does not set the connection manager's local_reply_config")
            else:
                problems += local_reply_problems(ident(patch), replies[0]["operation"].get("value", {}))
    elif patches:
        problems.append("envoyGateway.patchPolicy.enabled is false but an EnvoyPatchPolicy is rendered")

    if values["envoyGateway"]["clientTrafficPolicy"]["enabled"]:
        limits = values["clientLimits"]
        want = {
            ("headers", "withUnderscoresAction"): "RejectRequest",
            ("timeout", "http", "requestReceivedTimeout"): limits["requestTimeout"],
            ("timeout", "http", "idleTimeout"): limits["idleTimeout"],
        }
        for ctp in find(docs, "ClientTrafficPolicy"):
            for path, value in want.items():
                node = ctp["spec"]
                for key in path:
                    node = node.get(key, {}) if isinstance(node, dict) else {}
                if node != value:
                    problems.append(f"{ident(ctp)} {'.'.join(path)} is {node or None}, want {value}")

    grants = find(docs, "ReferenceGrant")
    if gw_ns != ns:
        ok = any(
            g["metadata"].get("namespace") == ns
            and {"group": "gateway.envoyproxy.io", "kind": "EnvoyExtensionPolicy", "namespace": gw_ns}
            in g["spec"].get("from", [])
            for g in grants
        )
        if not ok:
            problems.append(
                f"no ReferenceGrant lets EnvoyExtensionPolicies in {gw_ns} use the router Service in {ns}"
            )
    elif grants:
        problems.append("a ReferenceGrant is rendered although the Gateway is in the release namespace")
    return problems


def local_reply_problems(who: str, config: Doc) -> list[str]:
    """A local_reply_config must turn ext_proc's own failures (the router down or late) and an
    unreachable backend into JSON-RPC errors, as the standalone bootstrap does."""
    problems = []
    mappers = config.get("mappers", [])
    router = [
        m
        for m in mappers
        if "ext_proc_error"
        in m.get("filter", {}).get("extension_filter", {}).get("typed_config", {}).get("expression", "")
    ]
    if not router or router[0].get("status_code") != 503:
        problems.append(f"{who} does not answer a failing router with a JSON-RPC 503")
    elif router[0].get("body_format_override", {}).get("json_format", {}).get("error", {}).get("code") != -32603:
        problems.append(f"{who} answers a failing router without a JSON-RPC error")
    backend = [
        m
        for m in mappers
        if "request_id_json" in m.get("body_format_override", {}).get("text_format_source", {}).get("inline_string", "")
    ]
    if not backend:
        problems.append(f"{who} does not answer an unreachable backend with a JSON-RPC error and the client's id")
    return problems


def istio_rules(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    problems = []
    filters = find(docs, "EnvoyFilter")
    if len(filters) != 1:
        return [f"{len(filters)} EnvoyFilters rendered, want 1"]
    ef = filters[0]
    gw_ns = values["gateway"]["namespace"] or ns
    if ef["metadata"].get("namespace") != gw_ns:
        problems.append(f"{ident(ef)} is not in the Gateway's namespace {gw_ns}")
    selector = ef["spec"].get("workloadSelector", {}).get("labels", {})
    if not values["istio"]["workloadSelector"] and selector != {
        "gateway.networking.k8s.io/gateway-name": values["gateway"]["name"]
    }:
        problems.append(f"{ident(ef)} selects {selector}, not the Gateway's pods")
    patches = ef["spec"].get("configPatches", [])
    http = [p for p in patches if p.get("applyTo") == "HTTP_FILTER"]
    if len(http) != 1:
        return problems + [f"{ident(ef)} has {len(http)} HTTP_FILTER patches, want 1"]
    http = http[0]
    listener = http.get("match", {}).get("listener", {})
    if listener.get("portNumber") != values["gateway"]["port"]:
        problems.append(
            f"{ident(ef)} patches port {listener.get('portNumber')}, not the Gateway's {values['gateway']['port']}"
        )
    sub = listener.get("filterChain", {}).get("filter", {}).get("subFilter", {}).get("name")
    if http.get("patch", {}).get("operation") != "INSERT_BEFORE" or sub != "envoy.filters.http.router":
        problems.append(f"{ident(ef)} does not insert ext_proc before the router filter")
    value = http.get("patch", {}).get("value", {})
    config = value.get("typed_config", {})
    if value.get("name") != "envoy.filters.http.ext_proc" or not config.get("@type", "").endswith(
        "ext_proc.v3.ExternalProcessor"
    ):
        problems.append(f"{ident(ef)} inserts {value.get('name')}, not ext_proc")
    if config.get("processing_mode") != ROUTER_PROCESSING_MODE:
        problems.append(
            f"{ident(ef)} processing_mode {config.get('processing_mode')}, want {ROUTER_PROCESSING_MODE}"
        )
    for key, want in (("failure_mode_allow", False), ("allow_mode_override", True)):
        if config.get(key) is not want:
            problems.append(f"{ident(ef)} {key} is {config.get(key)}, want {want}")
    if config.get("mutation_rules", {}).get("allow_all_routing") is not True:
        problems.append(
            f"{ident(ef)} does not allow the router to set :authority (mutation_rules.allow_all_routing)"
        )
    if config.get("route_cache_action") != "CLEAR":
        problems.append(
            f"{ident(ef)} route_cache_action is {config.get('route_cache_action')}, want CLEAR:"
            " a route picked from the client's own headers could outlive the router's decision"
        )
    if not config.get("message_timeout"):
        problems.append(f"{ident(ef)} has no message_timeout")
    if config.get("status_on_error") != {"code": 503}:
        problems.append(f"{ident(ef)} status_on_error is {config.get('status_on_error')}, want 503")
    if config.get("metadata_options", {}).get("receiving_namespaces", {}).get("untyped") != ["mcp"]:
        problems.append(f"{ident(ef)} drops the router's mcp metadata (metadata_options.receiving_namespaces)")
    replies = [
        p["patch"]["value"].get("typed_config", {})["local_reply_config"]
        for p in patches
        if p.get("applyTo") == "NETWORK_FILTER"
        and p.get("patch", {}).get("operation") == "MERGE"
        and "local_reply_config" in p["patch"].get("value", {}).get("typed_config", {})
    ]
    if len(replies) != 1:
        problems.append(f"{ident(ef)} sets the connection manager's local_reply_config {len(replies)} times, want 1")
    else:
        problems += local_reply_problems(ident(ef), replies[0])
    cluster = config.get("grpc_service", {}).get("envoy_grpc", {}).get("cluster_name")
    clusters = [p["patch"]["value"] for p in patches if p.get("applyTo") == "CLUSTER"]
    port = values["brokerRouter"]["routerPort"]
    domain = values["clusterDomain"]
    if values["istio"]["useMeshCluster"]:
        svc = router_service(docs, values, ns)
        want = f"outbound|{port}||{svc['metadata']['name']}.{ns}.svc.{domain}" if svc else None
        if cluster != want or clusters:
            problems.append(f"{ident(ef)} uses cluster {cluster}, want Istio's {want} and no added cluster")
    else:
        added = [c for c in clusters if c.get("name") == cluster]
        if len(added) != 1:
            problems.append(f"{ident(ef)} uses cluster {cluster} that it does not add")
        else:
            endpoints = [
                lb["endpoint"]["address"]["socket_address"]
                for e in added[0].get("load_assignment", {}).get("endpoints", [])
                for lb in e.get("lb_endpoints", [])
            ]
            headless = [
                s for s in find(docs, "Service", namespace=ns) if s["spec"].get("clusterIP") == "None"
            ]
            hosts = {f"{s['metadata']['name']}.{ns}.svc.{domain}" for s in headless}
            if not endpoints or any(
                a.get("address") not in hosts or a.get("port_value") != port for a in endpoints
            ):
                problems.append(
                    f"{ident(ef)} cluster {cluster} points at {endpoints}, not the headless router Service {sorted(hosts)}:{port}"
                )
            if "http2_protocol_options" not in str(added[0].get("typed_extension_protocol_options", {})):
                problems.append(f"{ident(ef)} cluster {cluster} does not speak HTTP/2 (gRPC)")
    hcm = [
        p["patch"]["value"].get("typed_config", {})
        for p in patches
        if p.get("applyTo") == "NETWORK_FILTER"
        and p.get("patch", {}).get("operation") == "MERGE"
        and p.get("match", {}).get("listener", {}).get("portNumber") == values["gateway"]["port"]
    ]
    limits = values["clientLimits"]
    want = {
        "request_headers_timeout": limits["requestHeadersTimeout"],
        "request_timeout": limits["requestTimeout"],
    }
    if len(hcm) != 1:
        problems.append(f"{ident(ef)} has {len(hcm)} connection manager patches on the Gateway's port, want 1")
    else:
        for key, value in want.items():
            if hcm[0].get(key) != value:
                problems.append(f"{ident(ef)} {key} is {hcm[0].get(key)}, want {value}")
        common = hcm[0].get("common_http_protocol_options", {})
        if common.get("idle_timeout") != limits["idleTimeout"]:
            problems.append(f"{ident(ef)} idle_timeout is {common.get('idle_timeout')}, want {limits['idleTimeout']}")
        if common.get("headers_with_underscores_action") != "REJECT_REQUEST":
            problems.append(f"{ident(ef)} lets header names with `_` through")
    buffers = [p for p in patches if p.get("applyTo") == "LISTENER"]
    if not any(
        p["patch"]["value"].get("per_connection_buffer_limit_bytes")
        == values["brokerRouter"]["maxRequestBytes"]
        for p in buffers
    ):
        problems.append(f"{ident(ef)} does not raise the listener buffer to brokerRouter.maxRequestBytes")
    return problems
