"""Rules for the gateway's replicas in one rendering of charts/mcp-gateway: more than one
replica shares sessions through Redis (bundled or external) with one signing key, a
PodDisruptionBudget keeps all but one running through voluntary disruptions, and every pod
drains on SIGTERM after endpoints stopped sending it traffic."""

from __future__ import annotations

from .objects import Doc, broker_router, containers, find, ident, pod_labels

# How long the binary drains after SIGTERM at most (crates/cli: shutdown grace).
DRAIN_SECONDS = 10


def _selects(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels", {}) or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def replica_rules(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    br = broker_router(docs)
    if br is None:
        return ["no broker-router Deployment"]
    problems: list[str] = []
    brv = values["brokerRouter"]
    replicas = int(brv.get("replicas", 1))
    store = brv.get("sessionStore") or {}
    redis = values.get("redis") or {}
    bundled = bool(redis.get("enabled"))
    shared = bundled or bool(store.get("url")) or bool(store.get("existingSecret"))
    container = containers(br)[0]
    env = {e["name"]: e for e in container.get("env", [])}
    secrets = {d["metadata"]["name"] for d in find(docs, "Secret")}

    if shared:
        wired = env.get("MCP_SESSION_STORE")
        if wired is None:
            problems.append(f"{ident(br)} is given no MCP_SESSION_STORE though Redis is configured")
        elif bundled:
            services = [
                s
                for s in find(docs, "Service")
                if s["metadata"].get("namespace") == ns
                and any(
                    _selects({"matchLabels": s["spec"].get("selector", {})}, pod_labels(d))
                    for d in find(docs, "Deployment") + find(docs, "StatefulSet")
                    if pod_labels(d).get("app.kubernetes.io/component") == "redis"
                )
            ]
            urls = {f"redis://{s['metadata']['name']}:{p['port']}/" for s in services for p in s["spec"]["ports"]}
            if not urls:
                problems.append("redis.enabled renders no Service selecting the bundled Redis pods")
            elif wired.get("value") not in urls:
                problems.append(f"{ident(br)} MCP_SESSION_STORE={wired.get('value')!r}, not the bundled Redis ({sorted(urls)})")
        key = env.get("MCP_SESSION_KEY")
        if key is None:
            problems.append(f"{ident(br)} has no MCP_SESSION_KEY: replicas could not verify each other's session ids")
        else:
            ref = key.get("valueFrom", {}).get("secretKeyRef", {})
            if ref.get("name") not in secrets and ref.get("name") != brv["sessionKey"].get("existingSecret"):
                problems.append(f"{ident(br)} MCP_SESSION_KEY names Secret {ref.get('name')!r}, which is neither rendered nor given")
    elif replicas > 1:
        problems.append(f"{ident(br)} runs {replicas} replicas on the memory session store")

    pdbs = [p for p in find(docs, "PodDisruptionBudget") if _selects(p["spec"].get("selector", {}), pod_labels(br))]
    if replicas > 1:
        if len(pdbs) != 1:
            problems.append(f"{ident(br)} has {replicas} replicas and {len(pdbs)} PodDisruptionBudgets selecting them")
        else:
            spec = pdbs[0]["spec"]
            if "maxUnavailable" in spec and int(spec["maxUnavailable"]) < 1:
                problems.append(f"{ident(pdbs[0])} allows no disruption: node drains would hang")
            if "minAvailable" in spec and int(spec["minAvailable"]) >= replicas:
                problems.append(f"{ident(pdbs[0])} minAvailable {spec['minAvailable']} allows no disruption")
    elif pdbs:
        problems.append(f"{ident(pdbs[0])} for a single replica blocks node drains")

    pod = br["spec"]["template"]["spec"]
    sleep = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
    if sleep is None:
        problems.append(f"{ident(br)} has no preStop sleep: it would stop accepting before endpoints stop sending to it")
    elif int(pod.get("terminationGracePeriodSeconds", 30)) < int(sleep) + DRAIN_SECONDS:
        problems.append(
            f"{ident(br)} terminationGracePeriodSeconds {pod.get('terminationGracePeriodSeconds')} is shorter "
            f"than its preStop sleep ({sleep}) plus the {DRAIN_SECONDS} s drain"
        )
    if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        problems.append(f"{ident(br)} readiness is not /readyz (which fails while Redis is unreachable)")

    if bundled:
        for dep in find(docs, "Deployment"):
            if pod_labels(dep).get("app.kubernetes.io/component") != "redis":
                continue
            args = " ".join(str(a) for c in containers(dep) for a in c.get("args", []))
            if "--appendonly yes" not in args:
                problems.append(f"{ident(dep)} runs without the append-only file: a restart would end every session")
    return problems
