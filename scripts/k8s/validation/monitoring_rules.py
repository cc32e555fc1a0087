"""Rules for the chart's monitoring: the broker-router exposes its metrics port on the
container and the Service, the ServiceMonitor and PodMonitor select it by that port, and the
Grafana dashboard parses and names only metrics the gateway exports. The exported names come
from crates/metrics/exported-names.txt, which a test in crates/metrics keeps equal to what
the code exports, so neither side can drift silently."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .objects import Doc, broker_router, containers, find, flag_values, ident, one, pod_labels

EXPORTED_NAMES = Path("crates/metrics/exported-names.txt")
DASHBOARD = Path("charts/mcp-gateway/dashboards/mcp-gateway.json")
DASHBOARD_KEY = "mcp-gateway.json"

# PromQL words that are not metric names: aggregations and their modifiers, binary-operator
# keywords, and the functions the dashboard may call (a name followed by `(` is a function
# anyway; these are listed for the modifiers written without one).
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER_SUFFIX = re.compile(r"^[0-9.]+(e[+-]?[0-9]+)?$")


def load_exported(root: Path) -> set[str]:
    return {line.strip() for line in (root / EXPORTED_NAMES).read_text().splitlines() if line.strip()}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, label names and
    Grafana's `$variables` left out)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "", text)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(0)
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or word.lower() in PROMQL_WORDS or _NUMBER_SUFFIX.match(word):
            continue
        # A number's exponent (`1e-9`) is split by the tokenizer: `e` follows a digit.
        if match.start() > 0 and text[match.start() - 1].isdigit():
            continue
        names.add(word)
    return names


def dashboard_problems(label: str, text: str, exported: set[str]) -> list[str]:
    """The dashboard JSON parses, has panels with queries, and every query names only
    exported metrics (at least one each)."""
    try:
        dashboard = json.loads(text)
    except json.JSONDecodeError as error:
        return [f"{label}: not JSON: {error}"]
    problems = []
    queries = 0
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            queries += 1
            names = metric_names(expr)
            if not names:
                problems.append(f"{label}: panel {panel.get('title')!r} query names no metric: {expr}")
            for name in sorted(names - exported):
                problems.append(
                    f"{label}: panel {panel.get('title')!r} names {name}, which the gateway does not "
                    f"export (see {EXPORTED_NAMES})"
                )
    if queries == 0:
        problems.append(f"{label}: no queries")
    return problems


def self_check() -> list[str]:
    """The query check itself rejects what it must (a check that cannot fail is no check)."""
    exported = {"mcp_gateway_calls_total", "mcp_gateway_router_decision_seconds_bucket"}
    cases = {
        'sum by (server) (rate(mcp_gateway_calls_total{outcome!="ok"}[5m]))': set(),
        "histogram_quantile(0.99, sum by (le) (rate(mcp_gateway_router_decision_seconds_bucket[$__rate_interval])))": set(),
        "rate(mcp_gateway_calls[5m]) / clamp_min(mcp_gateway_nope, 1e-9)": {"mcp_gateway_calls", "mcp_gateway_nope"},
    }
    problems = []
    for expr, unknown in cases.items():
        got = metric_names(expr) - exported
        if got != unknown:
            problems.append(f"metric_names({expr!r}) leaves {sorted(got)} unknown, want {sorted(unknown)}")
    return problems


def monitoring_rules(docs: list[Doc], values: Doc, exported: set[str]) -> list[str]:
    """The rules for one rendering with `values` (chart defaults merged)."""
    problems = []
    mon = values["monitoring"]
    port = values["brokerRouter"]["metricsPort"]
    br = broker_router(docs)
    if br is None:
        return ["no broker-router Deployment"]
    pod_ports = {p.get("name"): p.get("containerPort") for c in containers(br) for p in c.get("ports", [])}
    if pod_ports.get("metrics") != port:
        problems.append(f"{ident(br)} has no container port `metrics` on {port}")
    args = flag_values([a for c in containers(br) for a in c.get("args", [])])
    address = args.get("mcp-metrics-address", "")
    if not address.endswith(f":{port}"):
        problems.append(f"{ident(br)} --mcp-metrics-address={address!r} does not bind port {port}")
    services = [
        s
        for s in find(docs, "Service")
        if s["spec"].get("selector")
        and all(pod_labels(br).get(k) == v for k, v in s["spec"]["selector"].items())
        and s["spec"].get("clusterIP") != "None"
    ]
    service = services[0] if len(services) == 1 else None
    if service is None:
        problems.append(f"{len(services)} Services select the broker-router pods, want 1")
    elif not any(p.get("name") == "metrics" and p.get("port") == port for p in service["spec"]["ports"]):
        problems.append(f"{ident(service)} has no port `metrics` on {port}")

    monitors = {
        "ServiceMonitor": (mon["serviceMonitor"], "endpoints"),
        "PodMonitor": (mon["podMonitor"], "podMetricsEndpoints"),
    }
    for kind, (settings, endpoints_key) in monitors.items():
        rendered = find(docs, kind)
        if not settings["enabled"]:
            problems += [f"monitoring is off but {ident(m)} is rendered" for m in rendered]
            continue
        if len(rendered) != 1:
            problems.append(f"{len(rendered)} {kind}s rendered, want 1")
            continue
        monitor = rendered[0]
        selector = monitor["spec"].get("selector", {}).get("matchLabels", {})
        target = service["metadata"].get("labels", {}) if kind == "ServiceMonitor" and service else pod_labels(br)
        if not selector or any(target.get(k) != v for k, v in selector.items()):
            problems.append(f"{ident(monitor)} does not select the broker-router {'Service' if kind == 'ServiceMonitor' else 'pods'}")
        for key, value in settings.get("labels", {}).items():
            if monitor["metadata"].get("labels", {}).get(key) != value:
                problems.append(f"{ident(monitor)} lacks the label {key}={value}")
        endpoints = monitor["spec"].get(endpoints_key, [])
        if [e.get("port") for e in endpoints] != ["metrics"] or any(e.get("path") != "/metrics" for e in endpoints):
            problems.append(f"{ident(monitor)} does not scrape port `metrics` at /metrics: {endpoints}")

    if (mon["serviceMonitor"]["enabled"] or mon["podMonitor"]["enabled"]) and values["networkPolicy"]["enabled"]:
        policy = one(docs, "NetworkPolicy")
        opened = policy is not None and any(
            p.get("port") == port for rule in policy["spec"].get("ingress", []) for p in rule.get("ports", [])
        )
        if not opened:
            problems.append(f"monitors are on but the NetworkPolicy does not admit anyone to port {port}")

    dashboards = [
        c for c in find(docs, "ConfigMap") if DASHBOARD_KEY in (c.get("data") or {})
    ]
    if not mon["dashboard"]["enabled"]:
        problems += [f"the dashboard is off but {ident(c)} is rendered" for c in dashboards]
    elif len(dashboards) != 1:
        problems.append(f"{len(dashboards)} dashboard ConfigMaps rendered, want 1")
    else:
        cm = dashboards[0]
        for key, value in mon["dashboard"]["labels"].items():
            if cm["metadata"].get("labels", {}).get(key) != value:
                problems.append(f"{ident(cm)} lacks the label {key}={value} Grafana's sidecar looks for")
        problems += dashboard_problems(ident(cm), cm["data"][DASHBOARD_KEY], exported)
    return problems
