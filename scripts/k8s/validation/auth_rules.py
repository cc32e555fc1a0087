"""Rules for caller authentication (values `auth`): the provider's JWT resource verifies what
the gateway config's `auth:` section trusts, missing tokens reach the router (which answers
with a JSON-RPC 401), the router receives the verified payload, and the controller publishes
the `auth:` section."""

from __future__ import annotations

import yaml

from .objects import Doc, containers, find, flag_values, ident, one

JWT_NAMESPACE = "envoy.filters.http.jwt_authn"


def auth_rules(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    auth = values.get("auth", {})
    issuers = auth.get("issuers") or []
    provider = values["gatewayProvider"]
    policies = find(docs, "SecurityPolicy") + find(docs, "RequestAuthentication")
    if not issuers:
        return [f"{ident(p)} rendered without auth.issuers" for p in policies]
    wanted = {
        i["issuer"]: (i["jwksUri"], sorted(i.get("audiences") or [auth.get("resource")]))
        for i in issuers
    }
    problems = _published_auth(docs, values, ns, wanted)
    if provider == "envoy-gateway":
        problems += _security_policy(docs, values, wanted)
    else:
        problems += _request_authentication(docs, values, wanted)
    return problems


def _published_auth(docs: list[Doc], values: Doc, ns: str, wanted: dict) -> list[str]:
    """The `auth:` the gateway loads: in the static config, or in the controller's
    --base-config (a mounted ConfigMap)."""
    if values["controller"]["enabled"]:
        ctrl = next((d for d in find(docs, "Deployment") if d["metadata"]["name"].endswith("controller")), None)
        if ctrl is None:
            return ["no controller Deployment"]
        container = containers(ctrl)[0]
        path = flag_values(container.get("args", [])).get("base-config")
        if not path:
            return [f"{ident(ctrl)} has no --base-config: the published config would have no auth:"]
        mount = next(
            (m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")),
            None,
        )
        if mount is None:
            return [f"{ident(ctrl)} --base-config={path} is not in a mounted volume"]
        volume = next(
            (v for v in ctrl["spec"]["template"]["spec"].get("volumes", []) if v["name"] == mount["name"]), None
        )
        cm_name = (volume or {}).get("configMap", {}).get("name")
        cm = one(docs, "ConfigMap", cm_name, ns) if cm_name else None
        if cm is None:
            return [f"{ident(ctrl)} --base-config comes from no rendered ConfigMap"]
        key = path[len(mount["mountPath"].rstrip("/")) + 1 :]
        text = cm.get("data", {}).get(key, "")
        where = f"{ident(cm)} key {key}"
    else:
        cm = one(docs, "ConfigMap", values["config"]["configMapName"], ns)
        if cm is None:
            return ["the static gateway ConfigMap is not rendered"]
        key = values["config"]["key"]
        text = cm.get("data", {}).get(key, "")
        where = f"{ident(cm)} key {key}"
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        return [f"{where} is not YAML: {error}"]
    section = config.get("auth") if isinstance(config, dict) else None
    if not isinstance(section, dict):
        return [f"{where} has no auth: section"]
    problems = []
    if section.get("resource") != values["auth"].get("resource"):
        problems.append(f"{where} auth.resource {section.get('resource')!r} is not the chart's")
    got = {
        i.get("issuer"): (i.get("jwksUri"), sorted(i.get("audiences") or [section.get("resource")]))
        for i in section.get("issuers") or []
    }
    if got != wanted:
        problems.append(f"{where} trusts {got}, the chart's values {wanted}")
    return problems


def _security_policy(docs: list[Doc], values: Doc, wanted: dict) -> list[str]:
    problems = []
    policies = find(docs, "SecurityPolicy")
    if len(policies) != 1:
        return [f"{len(policies)} SecurityPolicy rendered, want 1"]
    policy = policies[0]
    spec = policy["spec"]
    refs = spec.get("targetRefs") or []
    if not any(r.get("kind") == "Gateway" and r.get("name") == values["gateway"]["name"] for r in refs):
        problems.append(f"{ident(policy)} does not target Gateway {values['gateway']['name']}")
    jwt = spec.get("jwt", {})
    if jwt.get("optional") is not True:
        problems.append(
            f"{ident(policy)} refuses missing tokens itself (jwt.optional): the 401 would carry "
            "no JSON-RPC id and no resource_metadata"
        )
    got = {
        p.get("issuer"): (p.get("remoteJWKS", {}).get("uri"), sorted(p.get("audiences") or []))
        for p in jwt.get("providers") or []
    }
    if got != wanted:
        problems.append(f"{ident(policy)} verifies {got}, the gateway config trusts {wanted}")
    ext = [p for p in find(docs, "EnvoyExtensionPolicy")]
    for e in ext:
        for proc in e["spec"].get("extProc", []):
            if JWT_NAMESPACE not in proc.get("metadata", {}).get("accessibleNamespaces", []):
                problems.append(
                    f"{ident(e)} does not forward {JWT_NAMESPACE} metadata: the router never sees the caller"
                )
    return problems


def _request_authentication(docs: list[Doc], values: Doc, wanted: dict) -> list[str]:
    problems = []
    ras = find(docs, "RequestAuthentication")
    if len(ras) != 1:
        return [f"{len(ras)} RequestAuthentication rendered, want 1"]
    ra = ras[0]
    selector = ra["spec"].get("selector", {}).get("matchLabels", {})
    ef = one(docs, "EnvoyFilter")
    if ef is not None and selector != ef["spec"].get("workloadSelector", {}).get("labels", {}):
        problems.append(f"{ident(ra)} selects {selector}, not the Gateway pods the router's EnvoyFilter patches")
    got = {
        r.get("issuer"): (r.get("jwksUri"), sorted(r.get("audiences") or []))
        for r in ra["spec"].get("jwtRules") or []
    }
    if got != wanted:
        problems.append(f"{ident(ra)} verifies {got}, the gateway config trusts {wanted}")
    if ef is not None:
        for patch in ef["spec"].get("configPatches", []):
            value = patch.get("patch", {}).get("value", {})
            if value.get("name") != "envoy.filters.http.ext_proc":
                continue
            namespaces = (
                value.get("typed_config", {}).get("metadata_options", {}).get("forwarding_namespaces", {}).get("untyped", [])
            )
            if JWT_NAMESPACE not in namespaces:
                problems.append(
                    f"{ident(ef)} does not forward {JWT_NAMESPACE} metadata: the router never sees the caller"
                )
    return problems
