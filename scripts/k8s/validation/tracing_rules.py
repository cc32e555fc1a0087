"""Rules for the chart's OpenTelemetry tracing (`tracing.*`): the broker-router exports to the
configured collector, the Gateway's Envoy gets the same tracer, tags and collector cluster as
`envoy-config --otlp-endpoint` renders (through the provider's patch), and nothing of it is
rendered while tracing is off."""

from __future__ import annotations

from typing import Any, Iterator

from .objects import Doc, broker_router, containers, find, ident

# Span attribute -> key of the router's `mcp` metadata (crates/xds/src/bootstrap/trace.rs).
TAGS = {
    "mcp.method.name": "method",
    "mcp_gateway.server": "server",
    "gen_ai.tool.name": "tool",
    "gen_ai.prompt.name": "prompt",
    "rpc.jsonrpc.error_code": "error_code",
}
TRACER = "envoy.tracers.opentelemetry"


def _walk(node: Any) -> Iterator[Doc]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _tracing_blocks(docs: list[Doc]) -> list[tuple[Doc, Doc]]:
    """(object, tracing config) of every connection-manager `tracing` a patch renders."""
    found = []
    for doc in docs:
        for node in _walk(doc):
            tracing = node.get("tracing")
            if isinstance(tracing, dict) and "provider" in tracing:
                found.append((doc, tracing))
            value = node.get("value")
            if node.get("path") == "/typed_config/tracing" and isinstance(value, dict):
                found.append((doc, value))
    return found


def _collector_clusters(docs: list[Doc], name: str) -> list[Doc]:
    return [
        node
        for doc in docs
        for node in _walk(doc)
        if node.get("name") == name and "load_assignment" in node
    ]


def tracing_rules(docs: list[Doc], values: Doc) -> list[str]:
    problems: list[str] = []
    tracing = values["tracing"]
    deployment = broker_router(docs)
    env = {}
    if deployment is not None:
        for container in containers(deployment):
            for var in container.get("env", []) or []:
                env[var.get("name")] = var.get("value")
    blocks = _tracing_blocks(docs)
    clusters = _collector_clusters(docs, tracing["clusterName"])
    if not tracing["enabled"]:
        if "OTEL_EXPORTER_OTLP_ENDPOINT" in env:
            problems.append("tracing is off but the broker-router exports spans")
        if blocks or clusters:
            problems.append("tracing is off but Envoy is configured to trace")
        return problems

    endpoint = tracing["otlpEndpoint"].removeprefix("http://").rstrip("/")
    host, _, port = endpoint.rpartition(":")
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") != f"http://{endpoint}":
        problems.append(
            f"the broker-router exports to {env.get('OTEL_EXPORTER_OTLP_ENDPOINT')!r}, "
            f"not the collector http://{endpoint}"
        )
    if not tracing["envoy"]:
        if blocks or clusters:
            problems.append("tracing.envoy is false but the chart configures Envoy's tracer")
        return problems
    if len(blocks) != 1:
        problems.append(f"expected one Envoy tracing config, found {len(blocks)}")
    for doc, block in blocks:
        provider = block.get("provider", {})
        if provider.get("name") != TRACER:
            problems.append(f"{ident(doc)}: tracer {provider.get('name')!r}, not {TRACER}")
        grpc = provider.get("typed_config", {}).get("grpc_service", {}).get("envoy_grpc", {})
        if grpc.get("cluster_name") != tracing["clusterName"]:
            problems.append(f"{ident(doc)}: spans go to cluster {grpc.get('cluster_name')!r}")
        if float(block.get("random_sampling", {}).get("value", -1)) != float(tracing["samplingPercentage"]):
            problems.append(f"{ident(doc)}: sampling is not tracing.samplingPercentage")
        tags = {
            tag.get("tag"): (
                tag.get("metadata", {}).get("metadata_key", {}).get("key"),
                [p.get("key") for p in tag.get("metadata", {}).get("metadata_key", {}).get("path", [])],
            )
            for tag in block.get("custom_tags", [])
        }
        for tag, key in TAGS.items():
            if tags.get(tag) != ("mcp", [key]):
                problems.append(f"{ident(doc)}: tag {tag} is not the router's mcp metadata {key}")
        if any("gateway_session" in keys for _, keys in tags.values()):
            problems.append(f"{ident(doc)}: the session id (a credential) is a span tag")
    if len(clusters) != 1:
        problems.append(f"expected one collector cluster {tracing['clusterName']}, found {len(clusters)}")
    for cluster in clusters:
        addresses = [
            (node.get("address"), node.get("port_value"))
            for node in _walk(cluster.get("load_assignment", {}))
            if "port_value" in node
        ]
        if addresses != [(host, int(port))]:
            problems.append(f"collector cluster points at {addresses}, not {endpoint}")
        if "http2_protocol_options" not in str(cluster):
            problems.append("the collector cluster does not speak HTTP/2 (OTLP/gRPC)")
    if values["gatewayProvider"] == "envoy-gateway" and not find(docs, "EnvoyPatchPolicy"):
        problems.append("tracing.envoy with envoy-gateway needs envoyGateway.patchPolicy.enabled")
    return problems
