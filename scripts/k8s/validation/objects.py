"""Helpers over parsed Kubernetes objects (YAML documents as dicts), and the rules that
hold for any set of them: Services select pods that have the ports they name, probes use
declared ports."""

from __future__ import annotations

from typing import Any, Iterable

Doc = dict[str, Any]


def group_of(doc: Doc) -> str:
    api_version = doc.get("apiVersion", "")
    return api_version.split("/")[0] if "/" in api_version else ""


def ident(doc: Doc) -> str:
    if doc.get("apiVersion", "").startswith("kind.x-k8s.io/"):
        return f"kind {doc.get('kind')} {doc.get('name', '(unnamed)')}"
    meta = doc.get("metadata", {})
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{doc.get('kind')} {ns + '/' if ns else ''}{name}"


def find(docs: Iterable[Doc], kind: str, name: str | None = None, namespace: str | None = None) -> list[Doc]:
    found = []
    for doc in docs:
        meta = doc.get("metadata", {})
        if doc.get("kind") != kind:
            continue
        if name is not None and meta.get("name") != name:
            continue
        if namespace is not None and meta.get("namespace") != namespace:
            continue
        found.append(doc)
    return found


def one(docs: Iterable[Doc], kind: str, name: str | None = None, namespace: str | None = None) -> Doc | None:
    found = find(docs, kind, name, namespace)
    return found[0] if len(found) == 1 else None


def flag_values(args: list[str]) -> dict[str, str]:
    """`--name=value` and `--name value` arguments as a dict (`--flag` alone maps to "")."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = str(args[i])
        if arg.startswith("--"):
            if "=" in arg:
                key, value = arg[2:].split("=", 1)
                values[key] = value
            elif i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
                values[arg[2:]] = str(args[i + 1])
                i += 1
            else:
                values[arg[2:]] = ""
        i += 1
    return values


def containers(deployment: Doc) -> list[Doc]:
    return deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])


def pod_labels(deployment: Doc) -> dict[str, str]:
    return deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


def hostname_matches(pattern: str, hostname: str) -> bool:
    """Gateway API listener host name matching: `*.example.com` matches one or more labels."""
    if pattern.startswith("*."):
        return hostname.endswith(pattern[1:]) and len(hostname) > len(pattern) - 1
    return pattern == hostname


# --- Services and workloads -------------------------------------------------------------


def services_select_pods(docs: list[Doc]) -> list[str]:
    """Every Service with a selector selects a Deployment in its namespace, whose containers
    have every named targetPort (and every numeric one)."""
    problems = []
    for svc in find(docs, "Service"):
        selector = svc.get("spec", {}).get("selector")
        if not selector:
            continue
        ns = svc["metadata"].get("namespace")
        selected = [
            d
            for d in find(docs, "Deployment", namespace=ns)
            if all(pod_labels(d).get(k) == v for k, v in selector.items())
        ]
        if not selected:
            # Services that select pods some other controller makes (the Gateway's Envoy).
            if svc["metadata"]["name"] == "mcp-gateway-nodeport":
                continue
            problems.append(f"{ident(svc)} selects no Deployment ({selector})")
            continue
        for dep in selected:
            ports = {
                p.get("name"): p.get("containerPort") for c in containers(dep) for p in c.get("ports", [])
            }
            for port in svc["spec"].get("ports", []):
                target = port.get("targetPort", port.get("port"))
                if isinstance(target, str) and target not in ports:
                    problems.append(
                        f"{ident(svc)} port {port.get('name')}: {ident(dep)} has no container port named {target!r}"
                    )
                if isinstance(target, int) and target not in ports.values():
                    problems.append(
                        f"{ident(svc)} port {port.get('name')}: {ident(dep)} does not listen on {target}"
                    )
    return problems


def probes_use_declared_ports(docs: list[Doc]) -> list[str]:
    problems = []
    for dep in find(docs, "Deployment"):
        for c in containers(dep):
            names = {p.get("name") for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in names:
                    problems.append(f"{ident(dep)} {probe} uses undeclared port {port!r}")
    return problems


def broker_router(docs: list[Doc]) -> Doc | None:
    return next(
        (
            d
            for d in find(docs, "Deployment")
            if pod_labels(d).get("app.kubernetes.io/component") == "broker-router"
        ),
        None,
    )
