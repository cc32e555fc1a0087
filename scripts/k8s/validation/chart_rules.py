"""Rules for one rendering of charts/mcp-gateway: the gateway mounts the ConfigMap the
controller writes, the controller's RBAC is what it needs and no more, the broker route
reaches the broker, and the provider's ext_proc wiring (provider_rules)."""

from __future__ import annotations

import yaml

from .objects import (
    Doc,
    broker_router,
    containers,
    find,
    flag_values,
    hostname_matches,
    ident,
    one,
    pod_labels,
    probes_use_declared_ports,
    services_select_pods,
)
from .auth_rules import auth_rules
from .policy_rules import policy_rules
from .provider_rules import envoy_gateway_rules, istio_rules
from .replica_rules import replica_rules
from .tracing_rules import tracing_rules

LEADER_LEASE = "mcp-gateway-controller"
# What the controller needs, per (apiGroup, resource): the verbs the ClusterRole must grant.
CONTROLLER_CLUSTER_VERBS = {
    ("mcp.kagenti.com", "mcpservers"): {"get", "list", "watch"},
    ("mcp.kagenti.com", "mcpservers/status"): {"patch"},
    ("mcp.kagenti.com", "mcpvirtualservers"): {"get", "list", "watch"},
    ("mcp.kagenti.com", "mcpvirtualservers/status"): {"patch"},
    ("gateway.networking.k8s.io", "httproutes"): {"get", "list", "watch"},
    ("", "services"): {"get", "list", "watch"},
}
# The only writes the controller makes, and so the only ones it may be granted: server-side
# apply of MCPServer and MCPVirtualServer status (cluster-wide), of the gateway ConfigMap (patch; create when it is
# new) and the Lease's read-modify-write (get, create, update).
CONTROLLER_STATUS_WRITES = {"patch"}
CONTROLLER_CONFIGMAP_VERBS = {"patch"}
CONTROLLER_LEASE_VERBS = {"get", "update"}


def chart_rules(docs: list[Doc], values: Doc, release_namespace: str) -> list[str]:
    """The rules for one rendering of charts/mcp-gateway with `values` (chart defaults merged)."""
    problems = services_select_pods(docs) + probes_use_declared_ports(docs)
    problems += _config_wiring(docs, values, release_namespace)
    if values["controller"]["enabled"]:
        problems += _controller_rbac(docs, values, release_namespace)
    problems += _broker_route(docs, values)
    problems += _network_policy(docs, values, release_namespace)
    problems += auth_rules(docs, values, release_namespace)
    problems += policy_rules(docs, values, release_namespace)
    problems += replica_rules(docs, values, release_namespace)
    problems += tracing_rules(docs, values)
    if values["gatewayProvider"] == "envoy-gateway":
        problems += envoy_gateway_rules(docs, values, release_namespace)
        if find(docs, "EnvoyFilter"):
            problems.append("provider envoy-gateway rendered an Istio EnvoyFilter")
    else:
        problems += istio_rules(docs, values, release_namespace)
        if find(docs, "EnvoyExtensionPolicy") or find(docs, "EnvoyPatchPolicy"):
            problems.append("provider istio rendered Envoy Gateway policies")
    for doc in docs:
        if doc.get("kind") in {"Deployment", "Service", "ConfigMap", "ServiceAccount", "Role", "RoleBinding", "Secret", "PodDisruptionBudget", "PersistentVolumeClaim"}:
            if doc["metadata"].get("namespace") != release_namespace:
                problems.append(f"{ident(doc)} is not in the release namespace {release_namespace}")
    return problems


def _config_wiring(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    problems = []
    br = broker_router(docs)
    if br is None:
        return ["no broker-router Deployment"]
    cm_name, key = values["config"]["configMapName"], values["config"]["key"]
    container = containers(br)[0]
    flags = flag_values(container.get("args", []))
    volumes = br["spec"]["template"]["spec"].get("volumes", [])
    config_volumes = [v for v in volumes if v.get("configMap", {}).get("name") == cm_name]
    if len(config_volumes) != 1:
        return [f"{ident(br)} does not mount ConfigMap {cm_name}"]
    volume = config_volumes[0]
    items = {i["key"]: i["path"] for i in volume["configMap"].get("items", [])} or {key: key}
    mounts = [m for m in container.get("volumeMounts", []) if m.get("name") == volume["name"]]
    if len(mounts) != 1:
        return [f"{ident(br)} mounts volume {volume['name']} {len(mounts)} times"]
    if "subPath" in mounts[0]:
        problems.append(f"{ident(br)} mounts the config with subPath: ConfigMap updates would never arrive")
    expected = f"{mounts[0]['mountPath'].rstrip('/')}/{items.get(key, '?')}"
    if flags.get("mcp-gateway-config") != expected:
        problems.append(
            f"{ident(br)} --mcp-gateway-config={flags.get('mcp-gateway-config')} but the config is mounted at {expected}"
        )
    for flag, port in (
        ("mcp-router-address", values["brokerRouter"]["routerPort"]),
        ("mcp-broker-address", values["brokerRouter"]["brokerPort"]),
    ):
        if not flags.get(flag, "").endswith(f":{port}"):
            problems.append(f"{ident(br)} --{flag}={flags.get(flag)} does not use port {port}")
    if br["spec"]["template"]["spec"].get("automountServiceAccountToken") is not False:
        problems.append(f"{ident(br)} mounts a service account token it never uses")

    cm = one(docs, "ConfigMap", cm_name, ns)
    if cm is None:
        problems.append(f"ConfigMap {ns}/{cm_name} is not rendered")
    else:
        try:
            config = yaml.safe_load(cm.get("data", {}).get(key, ""))
        except yaml.YAMLError as error:
            config = None
            problems.append(f"{ident(cm)} key {key} is not YAML: {error}")
        if not isinstance(config, dict) or not isinstance(config.get("servers"), list):
            problems.append(f"{ident(cm)} key {key} has no `servers` list")
        hook = cm["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        if values["controller"]["enabled"] and "pre-install" not in hook:
            problems.append(f"{ident(cm)} is owned by the release although the controller writes it")
        if not values["controller"]["enabled"] and hook:
            problems.append(f"{ident(cm)} is a hook although Helm owns the static config")

    if values["controller"]["enabled"]:
        ctrl = next(
            (
                d
                for d in find(docs, "Deployment")
                if pod_labels(d).get("app.kubernetes.io/component") == "controller"
            ),
            None,
        )
        if ctrl is None:
            return problems + ["controller.enabled but no controller Deployment"]
        c = containers(ctrl)[0]
        cflags = flag_values(c.get("args", []))
        if "controller" not in cflags:
            problems.append(f"{ident(ctrl)} does not pass --controller")
        for flag, want in (
            ("configmap-name", cm_name),
            ("configmap-namespace", ns),
            ("configmap-key", key),
            ("cluster-domain", values["clusterDomain"]),
            ("leader-election-lease", LEADER_LEASE),
            ("health-address", "0.0.0.0:8081"),
            ("metrics-address", "0.0.0.0:8082"),
        ):
            if cflags.get(flag) != want:
                problems.append(f"{ident(ctrl)} --{flag}={cflags.get(flag)}, want {want}")
        env = {e["name"]: e for e in c.get("env", [])}
        for var, path in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")):
            if env.get(var, {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != path:
                problems.append(f"{ident(ctrl)} env {var} is not the downward API {path}")
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if ports.get("health") != 8081 or ports.get("metrics") != 8082:
            problems.append(f"{ident(ctrl)} ports {ports}, want health 8081 and metrics 8082")
    elif find(docs, "Deployment") and any(
        pod_labels(d).get("app.kubernetes.io/component") == "controller" for d in find(docs, "Deployment")
    ):
        problems.append("controller.enabled is false but a controller Deployment is rendered")
    return problems


def _granted(rules: list[Doc]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                granted.setdefault((group, resource), set()).update(rule.get("verbs", []))
    return granted


def _controller_rbac(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    problems = []
    ctrl = next(
        d
        for d in find(docs, "Deployment")
        if pod_labels(d).get("app.kubernetes.io/component") == "controller"
    )
    sa = ctrl["spec"]["template"]["spec"].get("serviceAccountName")
    if not values["rbac"]["create"]:
        return problems
    for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        bindings = [
            b
            for b in find(docs, kind)
            if any(s.get("name") == sa and s.get("namespace") == ns for s in b.get("subjects", []))
        ]
        if len(bindings) != 1:
            problems.append(f"service account {ns}/{sa} has {len(bindings)} {kind}s")
            continue
        ref = bindings[0]["roleRef"]
        role = one(docs, role_kind, ref["name"], None if role_kind == "ClusterRole" else ns)
        if role is None or ref.get("kind") != role_kind:
            problems.append(f"{ident(bindings[0])} refers to a missing {role_kind} {ref.get('name')}")
            continue
        rules = role.get("rules", [])
        for rule in rules:
            if (
                "*" in rule.get("verbs", [])
                or "*" in rule.get("resources", [])
                or "*" in rule.get("apiGroups", [])
            ):
                problems.append(f"{ident(role)} grants a wildcard: {rule}")
            if "secrets" in rule.get("resources", []):
                problems.append(f"{ident(role)} grants access to secrets")
        if role_kind == "ClusterRole":
            granted = _granted(rules)
            for key, verbs in CONTROLLER_CLUSTER_VERBS.items():
                missing = verbs - granted.get(key, set())
                if missing:
                    problems.append(f"{ident(role)} lacks {sorted(missing)} on {key[1]} ({key[0] or 'core'})")
            writes = {
                k: v & {"create", "update", "patch", "delete", "deletecollection"} for k, v in granted.items()
            }
            allowed_writes = {
                ("mcp.kagenti.com", "mcpservers/status"): CONTROLLER_STATUS_WRITES,
                ("mcp.kagenti.com", "mcpvirtualservers/status"): CONTROLLER_STATUS_WRITES,
            }
            for key, verbs in writes.items():
                unused = verbs - allowed_writes.get(key, set())
                if unused:
                    problems.append(f"{ident(role)} may write {key[1]} cluster-wide ({sorted(unused)})")
        else:
            cm_name = values["config"]["configMapName"]
            named = {
                (r.get("apiGroups", [""])[0], res): (set(r.get("resourceNames", [])), set(r.get("verbs", [])))
                for r in rules
                for res in r.get("resources", [])
                if r.get("resourceNames")
            }
            unnamed = _granted([r for r in rules if not r.get("resourceNames")])
            cm_names, cm_verbs = named.get(("", "configmaps"), (set(), set()))
            if cm_name not in cm_names or cm_verbs != CONTROLLER_CONFIGMAP_VERBS:
                problems.append(f"{ident(role)} must grant exactly patch on ConfigMap {cm_name}, not {sorted(cm_verbs)}")
            lease_names, lease_verbs = named.get(("coordination.k8s.io", "leases"), (set(), set()))
            if LEADER_LEASE not in lease_names or lease_verbs != CONTROLLER_LEASE_VERBS:
                problems.append(f"{ident(role)} must grant exactly get/update on Lease {LEADER_LEASE}, not {sorted(lease_verbs)}")
            for key in (("", "configmaps"), ("coordination.k8s.io", "leases")):
                if unnamed.get(key, set()) - {"create"}:
                    problems.append(
                        f"{ident(role)} grants {sorted(unnamed[key] - {'create'})} on every {key[1]}"
                    )
                if "create" not in unnamed.get(key, set()):
                    problems.append(f"{ident(role)} cannot create {key[1]}")
    return problems


def _gateway_listeners(docs: list[Doc], values: Doc) -> dict[str, str] | None:
    gw_ns = values["gateway"]["namespace"] or None
    gw = one(docs, "Gateway", values["gateway"]["name"], gw_ns)
    if gw is None:
        return None
    return {lst["name"]: lst.get("hostname", "") for lst in gw["spec"].get("listeners", [])}


def _broker_route(docs: list[Doc], values: Doc) -> list[str]:
    problems = []
    routes = [r for r in find(docs, "HTTPRoute")]
    if not values["brokerRoute"]["create"]:
        return [f"{ident(r)} rendered although brokerRoute.create is false" for r in routes]
    if len(routes) != 1:
        return [f"{len(routes)} HTTPRoutes rendered, want the broker route only"]
    route = routes[0]
    hostnames = route["spec"].get("hostnames", [])
    if values["gateway"]["publicHostname"] not in hostnames and not values["brokerRoute"]["hostnames"]:
        problems.append(f"{ident(route)} does not serve {values['gateway']['publicHostname']}")
    for rule in route["spec"].get("rules", []):
        for ref in rule.get("backendRefs", []):
            svc = one(docs, "Service", ref["name"], route["metadata"]["namespace"])
            if svc is None:
                problems.append(f"{ident(route)} sends to missing Service {ref['name']}")
            elif ref.get("port") not in [p["port"] for p in svc["spec"]["ports"]]:
                problems.append(f"{ident(route)} sends to port {ref.get('port')} that {ident(svc)} lacks")
            elif ref.get("port") != values["brokerRouter"]["brokerPort"]:
                problems.append(f"{ident(route)} sends to port {ref.get('port')}, not the broker's")
    listeners = _gateway_listeners(docs, values)
    if listeners is not None:
        for parent in route["spec"].get("parentRefs", []):
            section = parent.get("sectionName")
            if parent.get("name") != values["gateway"]["name"]:
                problems.append(f"{ident(route)} attaches to Gateway {parent.get('name')}")
            if section is not None and section not in listeners:
                problems.append(f"{ident(route)} attaches to missing listener {section}")
            elif section is not None and not any(hostname_matches(listeners[section], h) for h in hostnames):
                problems.append(
                    f"{ident(route)} host names {hostnames} do not match listener {section} ({listeners[section]})"
                )
        for name, hostname in listeners.items():
            if name != values["gateway"]["publicListenerName"] and hostname_matches(
                hostname, values["gateway"]["publicHostname"]
            ):
                problems.append(f"listener {name} ({hostname}) also matches the public host name")
    return problems


def _network_policy(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    """Only the Gateway's Envoy reaches the router and broker ports: neither authenticates
    its callers (the router also serves the whole config over ADS)."""
    every = find(docs, "NetworkPolicy")
    if not values["networkPolicy"]["enabled"]:
        return [f"networkPolicy.enabled is false but {ident(p)} is rendered" for p in every]
    # The bundled Redis has its own (replica_rules checks who it admits).
    policies = [
        p
        for p in every
        if (p["spec"].get("podSelector", {}).get("matchLabels") or {}).get("app.kubernetes.io/component") != "redis"
    ]
    problems = _redis_policy(docs, every, values)
    br = broker_router(docs)
    if len(policies) != 1 or br is None:
        return problems + [f"{len(policies)} NetworkPolicies rendered, want 1 for the broker-router"]
    policy = policies[0]
    spec = policy["spec"]
    if policy["metadata"].get("namespace") != ns:
        problems.append(f"{ident(policy)} is not in the release namespace {ns}")
    selected = spec.get("podSelector", {}).get("matchLabels", {})
    if not selected or any(pod_labels(br).get(k) != v for k, v in selected.items()):
        problems.append(f"{ident(policy)} does not select the broker-router pods")
    if "Ingress" not in spec.get("policyTypes", []):
        problems.append(f"{ident(policy)} does not restrict ingress")
    rules = spec.get("ingress", [])
    ports = {
        (p.get("protocol", "TCP"), p.get("port")) for rule in rules for p in rule.get("ports", [])
    }
    want = {("TCP", values["brokerRouter"]["routerPort"]), ("TCP", values["brokerRouter"]["brokerPort"])}
    metrics = ("TCP", values["brokerRouter"]["metricsPort"])
    metrics_from = values["networkPolicy"].get("metricsFrom") or []
    if metrics_from:
        want.add(metrics)
    if ports != want:
        problems.append(f"{ident(policy)} opens ports {sorted(ports)}, want {sorted(want)}")
    for rule in rules:
        peers = rule.get("from", [])
        if not peers or any(not peer for peer in peers):
            problems.append(f"{ident(policy)} lets any pod reach the router and broker")
        if not rule.get("ports"):
            problems.append(f"{ident(policy)} has a rule for every port")
        rule_ports = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports", [])}
        # The metrics port has its own rule, for networkPolicy.metricsFrom only.
        if metrics in rule_ports and (rule_ports != {metrics} or peers != metrics_from):
            problems.append(f"{ident(policy)} admits others than networkPolicy.metricsFrom to metrics")
    return problems


def _redis_policy(docs: list[Doc], policies: list[Doc], values: Doc) -> list[str]:
    """The bundled Redis holds every session and has no password: only the broker-router
    pods may reach it."""
    if not (values.get("redis") or {}).get("enabled"):
        return []
    br = broker_router(docs)
    mine = [
        p
        for p in policies
        if (p["spec"].get("podSelector", {}).get("matchLabels") or {}).get("app.kubernetes.io/component") == "redis"
    ]
    if len(mine) != 1 or br is None:
        return [f"{len(mine)} NetworkPolicies for the bundled Redis, want 1"]
    problems = []
    for rule in mine[0]["spec"].get("ingress", []):
        for peer in rule.get("from", []) or [{}]:
            selected = (peer.get("podSelector") or {}).get("matchLabels") or {}
            if set(peer) != {"podSelector"} or not selected or any(pod_labels(br).get(k) != v for k, v in selected.items()):
                problems.append(f"{ident(mine[0])} admits {peer}, not only the broker-router pods")
    return problems
