"""Rules for the static manifests under deploy/: the kind port mapping reaches the Gateway,
and each example MCPServer resolves the way the controller will resolve it."""

from __future__ import annotations

from .objects import (
    Doc,
    containers,
    find,
    flag_values,
    hostname_matches,
    ident,
    one,
    probes_use_declared_ports,
    services_select_pods,
)


def kind_rules(cluster: Doc, nodeports: list[Doc], gateway_port: int, host_port: int) -> list[str]:
    """The kind port mapping reaches each provider's NodePort Service, which reaches the
    Gateway's listener port."""
    problems = []
    mappings = [m for n in cluster.get("nodes", []) for m in n.get("extraPortMappings", [])]
    wanted = [m for m in mappings if m.get("hostPort") == host_port]
    if len(wanted) != 1:
        return [f"kind config maps host port {host_port} {len(wanted)} times, want once"]
    container_port = wanted[0].get("containerPort")
    if wanted[0].get("listenAddress") not in (None, "127.0.0.1"):
        problems.append(
            f"kind config exposes the gateway on {wanted[0].get('listenAddress')}, not 127.0.0.1 only"
        )
    if not nodeports:
        problems.append("no NodePort Service for the Gateway")
    for svc in nodeports:
        ports = svc["spec"].get("ports", [])
        if svc["spec"].get("type") != "NodePort" or [p.get("nodePort") for p in ports] != [container_port]:
            problems.append(
                f"{ident(svc)} does not expose nodePort {container_port} (the kind mapping's containerPort)"
            )
        if any(p.get("targetPort") != gateway_port for p in ports):
            problems.append(
                f"{ident(svc)} targets {[p.get('targetPort') for p in ports]}, not the Gateway listener port {gateway_port}"
            )
    return problems


def test_server_rules(docs: list[Doc], gateway: Doc) -> list[str]:
    """Each MCPServer's targets resolve, like the controller will resolve them: HTTPRoute with
    an exact host name on a chart listener, a Service backend, a Deployment behind it that
    listens where the Service sends."""
    problems = services_select_pods(docs) + probes_use_declared_ports(docs)
    listeners = {lst["name"]: lst["hostname"] for lst in gateway["serverListeners"]}
    prefixes: dict[str, str] = {}
    for server in find(docs, "MCPServer"):
        ns = server["metadata"].get("namespace", "default")
        for target in server["spec"].get("targetRefs", []):
            prefix = target.get("toolPrefix", "")
            if prefix in prefixes:
                problems.append(f"{ident(server)} reuses tool prefix {prefix!r} of {prefixes[prefix]}")
            prefixes[prefix] = ident(server)
            route = one(docs, "HTTPRoute", target["name"], target.get("namespace", ns))
            if route is None:
                problems.append(
                    f"{ident(server)} names HTTPRoute {target['name']}, which is not in these manifests"
                )
                continue
            hostnames = route["spec"].get("hostnames", [])
            exact = [h for h in hostnames if "*" not in h]
            if not exact:
                problems.append(f"{ident(route)} has no exact host name (the controller reports NoHostname)")
            for parent in route["spec"].get("parentRefs", []):
                if parent.get("name") != gateway["name"] or parent.get("namespace") != "mcp-system":
                    problems.append(
                        f"{ident(route)} attaches to {parent.get('namespace')}/{parent.get('name')}, not the chart's Gateway"
                    )
                section = parent.get("sectionName")
                if section not in listeners:
                    problems.append(
                        f"{ident(route)} attaches to listener {section}, not one of {sorted(listeners)}"
                    )
                elif not all(hostname_matches(listeners[section], h) for h in exact):
                    problems.append(
                        f"{ident(route)} host names {exact} are outside listener {section} ({listeners[section]})"
                    )
            for rule in route["spec"].get("rules", []):
                for ref in rule.get("backendRefs", []):
                    svc = one(docs, "Service", ref["name"], route["metadata"].get("namespace"))
                    if svc is None:
                        problems.append(
                            f"{ident(route)} sends to Service {ref['name']}, which is not in these manifests"
                        )
                    elif ref.get("port") not in [p["port"] for p in svc["spec"]["ports"]]:
                        problems.append(
                            f"{ident(route)} sends to port {ref.get('port')} that {ident(svc)} lacks"
                        )
    for dep in find(docs, "Deployment"):
        for c in containers(dep):
            listen = flag_values(c.get("args", [])).get("listen")
            ports = [p["containerPort"] for p in c.get("ports", [])]
            if listen is not None and (
                not listen.startswith("0.0.0.0:") or int(listen.rsplit(":", 1)[1]) not in ports
            ):
                problems.append(
                    f"{ident(dep)} listens on {listen}, not on all interfaces at a declared port {ports}"
                )
    return problems
