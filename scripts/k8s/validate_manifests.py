#!/usr/bin/env python3
"""Offline validation of mcp-gateway's Kubernetes packaging. Run by scripts/k8s/validate.sh.

1. The MCPServer CRD: config/crd/ and the chart's crds/ copy are identical, and the CRD is
   a valid apiextensions.k8s.io/v1 CustomResourceDefinition.
2. Static manifests (deploy/): built-in kinds against the Kubernetes JSON schemas of
   kubernetes-validate (strict: unknown fields fail, as kubectl's default field validation
   does); MCPServers against the CRD's openAPIV3Schema (jsonschema, unknown fields fail);
   the kind config against the kind v1alpha4 fields it uses; Gateway API and Istio kinds
   against their CRD schemas with --third-party-schemas (validation/node); Envoy Gateway's
   kinds, whose schemas are not available offline, are skipped by name. Then cross-reference rules
   (validation/static_rules.py).
3. The chart, rendered by Helm for several value sets: every document as in 2, plus the
   chart rules (validation/chart_rules.py, validation/monitoring_rules.py). Value sets that
   must be rejected are rejected. The chart's Grafana dashboard parses and every query names
   a metric in crates/metrics/exported-names.txt (kept equal to the code by a Rust test).
4. Self-check: every document in testdata/invalid/ must be rejected, and the dashboard's
   query check rejects unknown metric names.

Exit status 0 when nothing failed. The last line reads `validate: N passed, N failed, N skipped`.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml

from validation.chart_rules import chart_rules
from validation.monitoring_rules import DASHBOARD, dashboard_problems, load_exported, monitoring_rules, self_check
from validation.objects import Doc, group_of, ident
from validation.renderer import Renderer, RenderError
from validation.report import Report
from validation.schemas import SchemaValidator
from validation.static_rules import kind_rules, test_server_rules

# The CRDs, by file under config/crd/ (and the chart's crds/), and the kind each defines.
CRD_FILES = {
    "mcp.kagenti.com_mcpservers.yaml": "MCPServer",
    "mcp.kagenti.com_mcpvirtualservers.yaml": "MCPVirtualServer",
}
RELEASE = "mcp-gateway"
NAMESPACE = "mcp-system"
KIND_HOST_PORT = 8888


def load_docs(path: Path) -> list[Doc]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else value
        return merged
    return copy.deepcopy(override)


# --- Rendering -------------------------------------------------------------------------------


# --- The checks ------------------------------------------------------------------------------


def check_crd(
    root: Path, report: Report, schemas: Callable[[list[Doc]], SchemaValidator], file: str, kind: str
) -> Doc | None:
    source = root / "config" / "crd" / file
    chart_copy = root / "charts" / "mcp-gateway" / "crds" / file
    if not source.is_file():
        report.fail(f"crd: {source.relative_to(root)}", "missing: generate it with `make crds`")
        return None
    if not chart_copy.is_file():
        report.fail(
            f"crd: {chart_copy.relative_to(root)}", "missing: copy it into the chart with `make crds`"
        )
    elif source.read_bytes() != chart_copy.read_bytes():
        report.fail(
            f"crd: {chart_copy.relative_to(root)}",
            f"differs from {source.relative_to(root)}: run `make crds` to copy it into the chart",
        )
    else:
        report.ok(f"crd: {chart_copy.relative_to(root)} is identical to {source.relative_to(root)}")
    docs = load_docs(source)
    if len(docs) != 1 or docs[0].get("kind") != "CustomResourceDefinition":
        report.fail(f"crd: {source.relative_to(root)}", "is not exactly one CustomResourceDefinition")
        return None
    crd = docs[0]
    outcome, problems = schemas([]).validate(crd)
    spec = crd.get("spec", {})
    if (
        spec.get("group") != "mcp.kagenti.com"
        or spec.get("names", {}).get("kind") != kind
        or spec.get("scope") != "Namespaced"
    ):
        problems.append(f"not the namespaced mcp.kagenti.com {kind} CRD")
    storage = [v["name"] for v in spec.get("versions", []) if v.get("storage")]
    if storage != ["v1alpha1"]:
        problems.append(f"storage versions {storage}, want [v1alpha1]")
    for version in spec.get("versions", []):
        try:
            jsonschema.Draft7Validator.check_schema(version["schema"]["openAPIV3Schema"])
        except (KeyError, jsonschema.SchemaError) as error:
            problems.append(f"version {version.get('name')}: openAPIV3Schema is not a usable schema: {error}")
    report.check(f"crd: {source.relative_to(root)} ({outcome})", problems)
    return crd


def validate_documents(label: str, docs: list[Doc], validator: SchemaValidator, report: Report) -> None:
    """Each document counts as one check; a label's passes and skips print as one line each."""
    passed: dict[str, int] = {}
    skipped: list[str] = []
    validator.prefetch(docs)
    for doc in docs:
        outcome, problems = validator.validate(doc)
        if outcome.startswith("skip: "):
            report.skipped += 1
            key = f"{group_of(doc)}/{doc.get('kind')}"
            report.skipped_kinds[key] = report.skipped_kinds.get(key, 0) + 1
            skipped.append(ident(doc))
        elif problems:
            report.fail(f"{label}: {ident(doc)} ({outcome})", problems)
        else:
            report.passed += 1
            passed[outcome] = passed.get(outcome, 0) + 1
    if passed:
        counts = ", ".join(f"{n} by {outcome}" for outcome, n in sorted(passed.items()))
        print(f"ok    {label}: {sum(passed.values())} valid ({counts})")
    if skipped:
        print(f"skip  {label}: {len(skipped)} third-party ({'; '.join(skipped)})")


def check_static(root: Path, validator: SchemaValidator, chart_values: Doc, report: Report) -> None:
    deploy = root / "deploy"
    files = sorted(
        p for p in deploy.rglob("*.yaml") if not p.name.endswith(".values.yaml") and p.parent.name != "image"
    )
    by_dir: dict[str, list[Doc]] = {}
    for path in files:
        label = str(path.relative_to(root))
        try:
            docs = load_docs(path)
        except yaml.YAMLError as error:
            report.fail(label, f"not YAML: {error}")
            continue
        validate_documents(label, docs, validator, report)
        by_dir.setdefault(str(path.parent.relative_to(root)), []).extend(docs)
    for path in sorted(deploy.rglob("*.values.yaml")):
        try:
            yaml.safe_load(path.read_text())
            report.ok(f"{path.relative_to(root)} (Helm values, YAML)")
        except yaml.YAMLError as error:
            report.fail(str(path.relative_to(root)), f"not YAML: {error}")

    cluster = [d for d in by_dir.get("deploy/kind", []) if d.get("kind") == "Cluster"]
    nodeports = [
        d
        for key, docs in by_dir.items()
        if key.startswith("deploy/kind/")
        for d in docs
        if d.get("kind") == "Service"
    ]
    if len(cluster) != 1:
        report.fail("deploy/kind: kind port mapping", "no single kind Cluster config")
    else:
        report.check(
            f"deploy/kind: 127.0.0.1:{KIND_HOST_PORT} -> NodePort -> Gateway listener port {chart_values['gateway']['port']}",
            kind_rules(cluster[0], nodeports, chart_values["gateway"]["port"], KIND_HOST_PORT),
        )
    report.check(
        "deploy/test-servers: MCPServer -> HTTPRoute -> Service -> Deployment",
        test_server_rules(by_dir.get("deploy/test-servers", []), chart_values["gateway"]),
    )


# Value sets rendered by the chart checks: (name, values files, overrides).
CHART_CASES: list[tuple[str, list[str], Doc]] = [
    ("defaults (envoy-gateway)", [], {}),
    ("istio", [], {"gatewayProvider": "istio"}),
    (
        "kind envoy-gateway",
        ["deploy/kind/envoy-gateway/mcp-gateway.values.yaml"],
        {"image": {"repository": "mcp-gateway", "tag": "dev"}},
    ),
    (
        "kind istio",
        ["deploy/kind/istio/mcp-gateway.values.yaml"],
        {"image": {"repository": "mcp-gateway", "tag": "dev"}},
    ),
    (
        "istio, mesh cluster, 2 replicas",
        [],
        {
            "gatewayProvider": "istio",
            "istio": {"useMeshCluster": True},
            "brokerRouter": {"replicas": 2},
            "redis": {"enabled": True},
        },
    ),
    (
        "existing Gateway in another namespace, static config, no controller",
        [],
        {
            "controller": {"enabled": False},
            "gateway": {"create": False, "name": "shared", "namespace": "gateways", "port": 80},
            "config": {
                "servers": [
                    {
                        "name": "calc",
                        "url": "http://calc.mcp-test.svc:9090/mcp",
                        "hostname": "calc.mcp.local",
                        "toolPrefix": "calc_",
                    }
                ]
            },
            "brokerRouter": {
                "sessionKey": {"existingSecret": "mcp-session"},
                "oauth": {"resource": "https://mcp.example.com/mcp"},
            },
            "envoyGateway": {"clientTrafficPolicy": {"enabled": False}},
        },
    ),
    (
        "custom names, no broker route, no patch policy",
        [],
        {
            "fullnameOverride": "gw",
            "config": {"configMapName": "routes", "key": "gateway.yaml"},
            "brokerRoute": {"create": False},
            "envoyGateway": {"patchPolicy": {"enabled": False}},
        },
    ),
]
AUTH_VALUES: Doc = {
    "auth": {
        "resource": "https://mcp.example.com/mcp",
        "requiredScopes": ["mcp"],
        "issuers": [
            {"issuer": "https://login.example.com", "jwksUri": "https://login.example.com/jwks"},
            {
                "issuer": "https://idp.example.org/realms/mcp",
                "jwksUri": "https://idp.example.org/realms/mcp/protocol/openid-connect/certs",
                "audiences": ["mcp-gateway"],
            },
        ],
    }
}
CHART_CASES += [
    ("auth (envoy-gateway SecurityPolicy)", [], AUTH_VALUES),
    ("auth (istio RequestAuthentication)", [], {**AUTH_VALUES, "gatewayProvider": "istio"}),
    (
        "auth, static config, no controller",
        [],
        {**AUTH_VALUES, "controller": {"enabled": False}, "config": {"servers": []}},
    ),
]
# The alice/bob policy of `make run-auth`.
POLICY_VALUES: Doc = {
    "policy": {
        "rules": [
            {"name": "alice-all", "when": {"clientIds": ["alice"]}, "allow": {"servers": ["*"]}},
            {
                "name": "bob-calc",
                "when": {"clientIds": ["bob"]},
                "allow": {"tools": ["calc_*"], "prompts": ["calc_*"]},
                "deny": {"tools": ["calc_divide"]},
            },
        ]
    }
}
# Prometheus Operator monitors and the Grafana dashboard.
MONITORING_VALUES: Doc = {
    "monitoring": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "podMonitor": {"enabled": True},
        "dashboard": {"enabled": True},
    },
    "networkPolicy": {
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    },
}
CHART_CASES += [
    ("monitoring: ServiceMonitor, PodMonitor, dashboard", [], MONITORING_VALUES),
    (
        "monitoring without a NetworkPolicy, istio",
        [],
        {
            "gatewayProvider": "istio",
            "networkPolicy": {"enabled": False},
            "monitoring": {"serviceMonitor": {"enabled": True}, "dashboard": {"enabled": True}},
        },
    ),
    ("metrics port admitted without monitors", [], {"networkPolicy": MONITORING_VALUES["networkPolicy"]}),
]
CHART_CASES += [
    ("auth and policy (controller's base config)", [], {**AUTH_VALUES, **POLICY_VALUES}),
    (
        "auth and policy, static config, no controller",
        [],
        {**AUTH_VALUES, **POLICY_VALUES, "controller": {"enabled": False}, "config": {"servers": []}},
    ),
    (
        "a policy for anonymous callers only, no auth",
        [],
        {"policy": {"rules": [{"name": "calc-for-all", "allow": {"servers": ["calc"]}}]}},
    ),
]
# Replicas sharing sessions: bundled Redis (with and without a volume), external Redis.
CHART_CASES += [
    ("three replicas, bundled Redis", [], {"brokerRouter": {"replicas": 3}, "redis": {"enabled": True}}),
    (
        "three replicas, bundled Redis on a volume, own session key",
        [],
        {
            "brokerRouter": {"replicas": 3, "sessionKey": {"existingSecret": "mcp-session"}},
            "redis": {"enabled": True, "persistence": {"enabled": True, "size": "2Gi"}},
        },
    ),
    (
        "two replicas, external Redis URL from a Secret",
        [],
        {"brokerRouter": {"replicas": 2, "sessionStore": {"existingSecret": "redis-url", "key": "url"}}},
    ),
    (
        "one replica, external Redis URL",
        [],
        {"brokerRouter": {"sessionStore": {"url": "redis://redis.data.svc:6379/"}}},
    ),
]
# OpenTelemetry traces: both providers, and only the broker-router's side.
TRACING_VALUES: Doc = {
    "tracing": {
        "enabled": True,
        "otlpEndpoint": "otel-collector.monitoring.svc.cluster.local:4317",
        "samplingPercentage": 25,
    }
}
CHART_CASES += [
    ("tracing (envoy-gateway EnvoyPatchPolicy)", [], TRACING_VALUES),
    ("tracing (istio EnvoyFilter)", [], {**TRACING_VALUES, "gatewayProvider": "istio"}),
    (
        "tracing of the broker-router only (the Gateway traces already)",
        [],
        {"tracing": {**TRACING_VALUES["tracing"], "envoy": False, "otlpEndpoint": "http://otel:4317"}},
    ),
]
# Value sets Helm must refuse.
CHART_REJECTED: list[tuple[str, Doc]] = [
    ("auth issuer without jwksUri", {"auth": {"resource": "https://g/mcp", "issuers": [{"issuer": "i"}]}}),
    ("auth issuers without resource", {"auth": {"issuers": [{"issuer": "i", "jwksUri": "https://i/k"}]}}),
    ("unknown provider", {"gatewayProvider": "nginx"}),
    ("policy rule that neither allows nor denies", {"policy": {"rules": [{"name": "r", "when": {"groups": ["g"]}}]}}),
    ("policy rule with an empty pattern", {"policy": {"rules": [{"name": "r", "allow": {"tools": [""]}}]}}),
    ("router port out of range", {"brokerRouter": {"routerPort": 70000}}),
    ("two replicas on the memory session store", {"brokerRouter": {"replicas": 2}}),
    (
        "bundled and external Redis at once",
        {"redis": {"enabled": True}, "brokerRouter": {"sessionStore": {"url": "redis://r:6379/"}}},
    ),
    ("misspelt top-level value", {"gatewaProvider": "istio"}),
    ("broker-router duration the binary cannot parse", {"brokerRouter": {"sessionLifetime": "1d"}}),
    ("a monitor behind a NetworkPolicy that admits no one to metrics", {"monitoring": {"podMonitor": {"enabled": True}}}),
    ("a monitor interval Prometheus cannot parse", {"monitoring": {"serviceMonitor": {"interval": "often"}}}),
    ("tracing without a collector", {"tracing": {"enabled": True}}),
    ("tracing to a URL with a path", {"tracing": {"enabled": True, "otlpEndpoint": "http://c:4318/v1/traces"}}),
    ("trace sampling above 100%", {"tracing": {"samplingPercentage": 150}}),
    (
        "Envoy Gateway tracing without its patch policy",
        {
            "tracing": {"enabled": True, "otlpEndpoint": "otel:4317"},
            "envoyGateway": {"patchPolicy": {"enabled": False}},
        },
    ),
]


def check_chart(
    root: Path, renderer: Renderer, validator: SchemaValidator, defaults: Doc, report: Report
) -> None:
    if renderer.kind == "none":
        # A validation that quietly skips the chart would pass without checking it.
        if os.environ.get("K8S_VALIDATE_ALLOW_SKIP") != "1":
            report.fail(
                "chart rendering",
                f"{renderer.why_none}: the chart templates cannot be rendered; install helm, "
                "or set K8S_VALIDATE_ALLOW_SKIP=1 to skip them",
            )
            return
        report.skip("chart rendering", renderer.why_none)
        print(f"SKIPPED: helm not installed: the chart templates were not rendered ({renderer.why_none})")
        return
    print(f"chart: rendering with {renderer.describe()}")
    lint = renderer.lint({})
    report.check("chart: helm lint --strict (default values)", lint)
    for name, files, overrides in CHART_CASES:
        values: Doc = {}
        for file in files:
            values = deep_merge(values, yaml.safe_load((root / file).read_text()) or {})
        values = deep_merge(values, overrides)
        label = f"chart [{name}]"
        try:
            docs = renderer.render(values)
        except RenderError as error:
            report.fail(f"{label}: render", str(error).splitlines()[:10])
            continue
        report.ok(f"{label}: rendered {len(docs)} objects")
        validate_documents(label, docs, validator, report)
        merged = deep_merge(defaults, values)
        report.check(f"{label}: chart rules", chart_rules(docs, merged, NAMESPACE))
        report.check(f"{label}: monitoring rules", monitoring_rules(docs, merged, load_exported(root)))
    for name, values in CHART_REJECTED:
        try:
            renderer.render(values)
        except RenderError as error:
            report.ok(f"chart rejects {name}: {str(error).splitlines()[-1].strip()}")
        else:
            report.fail(f"chart rejects {name}", "Helm rendered it")


def value_paths(values: Doc, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves of a values tree (a non-empty map is not a leaf)."""
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths += value_paths(value, path + ".")
        else:
            paths.append(path)
    return paths


def check_chart_readme(chart: Path, defaults: Doc, report: Report) -> None:
    """Every value is documented: the chart README's table has a row for it or for a map
    holding it."""
    readme = (chart / "README.md").read_text()
    missing = []
    for path in value_paths(defaults):
        parts = path.split(".")
        # Documented: a table row for the value or for a map holding it (`brokerRouter.resources`).
        if not any(f"\n| `{'.'.join(parts[:n])}` |" in readme for n in range(len(parts), 0, -1)):
            missing.append(path)
    report.check(
        f"chart: README.md documents every value of values.yaml ({len(value_paths(defaults))})",
        [f"{path} is not documented" for path in missing],
    )


def check_dashboard(root: Path, report: Report) -> None:
    """The chart's Grafana dashboard, whether or not the chart can be rendered."""
    exported = load_exported(root)
    report.check(
        f"dashboard: {DASHBOARD} parses and names only the {len(exported)} exported metrics",
        dashboard_problems(str(DASHBOARD), (root / DASHBOARD).read_text(), exported),
    )


def check_self(root: Path, validator: SchemaValidator, report: Report) -> None:
    """The validator itself must reject known-bad documents; otherwise a green run means nothing."""
    report.check("self-check: the dashboard query check rejects unknown metrics", self_check())
    invalid = sorted((root / "scripts" / "k8s" / "testdata" / "invalid").glob("*.yaml"))
    if not invalid:
        report.fail("self-check", "no documents in scripts/k8s/testdata/invalid")
    for path in invalid:
        for doc in load_docs(path):
            outcome, problems = validator.validate(doc)
            what = f"self-check: {path.relative_to(root)}: {ident(doc)}"
            if outcome.startswith("skip: ") or not problems:
                report.fail(what, f"accepted ({outcome}) although it is invalid")
            else:
                report.ok(f"{what} rejected: {problems[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--kubernetes-version", default="1.33.0")
    parser.add_argument("--renderer", choices=["auto", "helm", "sdk", "none"], default="auto")
    parser.add_argument(
        "--third-party-schemas",
        type=Path,
        help="validation/node with its packages installed: validates Gateway API and Istio kinds",
    )
    args = parser.parse_args()
    root: Path = args.root.resolve()
    report = Report()

    def schemas(crds: list[Doc]) -> SchemaValidator:
        return SchemaValidator(args.kubernetes_version, crds, args.third_party_schemas)

    crds = [check_crd(root, report, schemas, file, kind) for file, kind in CRD_FILES.items()]
    validator = schemas([crd for crd in crds if crd is not None])
    chart = root / "charts" / "mcp-gateway"
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    check_static(root, validator, defaults, report)
    check_chart_readme(chart, defaults, report)
    check_dashboard(root, report)
    check_chart(
        root,
        Renderer(chart, args.renderer, RELEASE, NAMESPACE, args.kubernetes_version),
        validator,
        defaults,
        report,
    )
    check_self(root, validator, report)

    if report.skipped_kinds:
        kinds = ", ".join(f"{k} ({n})" for k, n in sorted(report.skipped_kinds.items()))
        print(f"skipped third-party kinds (no schema offline): {kinds}")
    print(f"validate: {report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
