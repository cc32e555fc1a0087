"""Rules for authorization (values `policy`): the gateway loads exactly the chart's policy
(in the static config, or in the controller's --base-config), and no rule depends on claims
while authentication is off (every caller is then anonymous: such a rule never applies)."""

from __future__ import annotations

import yaml

from .objects import Doc, containers, find, flag_values, ident, one


def policy_rules(docs: list[Doc], values: Doc, ns: str) -> list[str]:
    rules = (values.get("policy") or {}).get("rules") or []
    problems = []
    if rules and not (values.get("auth") or {}).get("issuers"):
        problems += [
            f"policy.rules[{i}] ({r.get('name')}) has when: but auth.issuers is empty: every caller "
            "is anonymous, so the rule never applies"
            for i, r in enumerate(rules)
            if r.get("when")
        ]
    published = _published_config(docs, values, ns)
    if isinstance(published, str):
        # No base config at all is right when there is nothing to add.
        return problems + ([published] if rules else [])
    where, config = published
    got = config.get("policy")
    if rules and got != {"rules": rules}:
        problems.append(f"{where}: policy {got!r} is not the chart's {{'rules': {rules!r}}}")
    if not rules and got is not None:
        problems.append(f"{where}: has a policy: section but policy.rules is empty")
    return problems


def _published_config(docs: list[Doc], values: Doc, ns: str) -> tuple[str, Doc] | str:
    """The config sections the gateway loads besides `servers:`: the static ConfigMap, or the
    file the controller reads with --base-config. A string says why there is none."""
    if values["controller"]["enabled"]:
        ctrl = next((d for d in find(docs, "Deployment") if d["metadata"]["name"].endswith("controller")), None)
        if ctrl is None:
            return "no controller Deployment"
        container = containers(ctrl)[0]
        path = flag_values(container.get("args", [])).get("base-config")
        if not path:
            return f"{ident(ctrl)} has no --base-config: the published config would have no policy:"
        mount = next(
            (m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")),
            None,
        )
        if mount is None:
            return f"{ident(ctrl)} --base-config={path} is not in a mounted volume"
        volume = next(
            (v for v in ctrl["spec"]["template"]["spec"].get("volumes", []) if v["name"] == mount["name"]), None
        )
        cm_name = (volume or {}).get("configMap", {}).get("name")
        cm = one(docs, "ConfigMap", cm_name, ns) if cm_name else None
        if cm is None:
            return f"{ident(ctrl)} --base-config comes from no rendered ConfigMap"
        key = path[len(mount["mountPath"].rstrip("/")) + 1 :]
    else:
        cm = one(docs, "ConfigMap", values["config"]["configMapName"], ns)
        if cm is None:
            return "the static gateway ConfigMap is not rendered"
        key = values["config"]["key"]
    where = f"{ident(cm)} key {key}"
    try:
        config = yaml.safe_load(cm.get("data", {}).get(key, "")) or {}
    except yaml.YAMLError as error:
        return f"{where} is not YAML: {error}"
    if not isinstance(config, dict):
        return f"{where} is not a map"
    return where, config
