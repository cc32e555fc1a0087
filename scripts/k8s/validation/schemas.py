"""Which schema validates a document: the Kubernetes JSON schemas of kubernetes-validate
(strict), the MCPServer CRD's openAPIV3Schema, the kind config fields deploy/kind uses; the
Gateway API and Istio kinds by their CRD schemas compiled in the pinned @kubernetes-models
packages (validation/node, run with Node.js); Envoy Gateway's kinds are skipped by name."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from .objects import Doc, group_of

# Kinds of other projects. Those of the Gateway API and Istio are validated by
# validation/node/validate.mjs; Envoy Gateway's have no schema offline and are checked by the
# chart and static rules instead, where it matters; so are the Prometheus Operator's
# (validation/monitoring_rules.py).
THIRD_PARTY = {
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("gateway.networking.k8s.io", "ReferenceGrant"),
    ("gateway.envoyproxy.io", "EnvoyExtensionPolicy"),
    ("gateway.envoyproxy.io", "EnvoyPatchPolicy"),
    ("gateway.envoyproxy.io", "ClientTrafficPolicy"),
    ("gateway.envoyproxy.io", "EnvoyProxy"),
    ("gateway.envoyproxy.io", "SecurityPolicy"),
    ("networking.istio.io", "EnvoyFilter"),
    ("security.istio.io", "RequestAuthentication"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PodMonitor"),
}
# Groups whose kinds validation/node/validate.mjs has schemas for.
NODE_GROUPS = {"gateway.networking.k8s.io", "networking.istio.io", "security.istio.io"}
# The fields of a kind cluster config (kind.x-k8s.io/v1alpha4) that deploy/kind uses.
KIND_CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "apiVersion", "nodes"],
    "properties": {
        "kind": {"const": "Cluster"},
        "apiVersion": {"const": "kind.x-k8s.io/v1alpha4"},
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "nodes": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["role"],
                "properties": {
                    "role": {"enum": ["control-plane", "worker"]},
                    "image": {"type": "string"},
                    "extraPortMappings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["containerPort", "hostPort"],
                            "properties": {
                                "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
                                "hostPort": {"type": "integer", "minimum": 1, "maximum": 65535},
                                "listenAddress": {"type": "string"},
                                "protocol": {"enum": ["TCP", "UDP", "SCTP"]},
                            },
                        },
                    },
                },
            },
        },
    },
}


class SchemaValidator:
    """Validates one document against the schema that applies to its kind."""

    def __init__(self, k8s_version: str, crds: list[Doc], node: Path | None = None) -> None:
        self.k8s_version = k8s_version
        self.crds = crds
        # validation/node with its packages installed; None leaves third-party kinds skipped.
        self.node = node
        self.third_party_results: dict[str, tuple[str, list[str]] | None] = {}
        self.cr_validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}
        for crd in crds:
            spec = crd["spec"]
            for version in spec.get("versions", []):
                if version.get("served"):
                    schema = strict_schema(version["schema"]["openAPIV3Schema"])
                    key = (spec["group"], version["name"], spec["names"]["kind"])
                    self.cr_validators[key] = jsonschema.Draft7Validator(schema)

    def validate(self, doc: Doc) -> tuple[str, list[str]]:
        """Returns (outcome, problems): outcome is "validated by ...", or "skip: ..."."""
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            return "not a Kubernetes object", ["no apiVersion/kind"]
        group = group_of(doc)
        kind = doc["kind"]
        if (group, kind) in THIRD_PARTY:
            result = self.third_party([doc])[0] if group in NODE_GROUPS else None
            if result is None:
                return f"skip: third-party kind {group}/{kind}, no schema offline", []
            return result
        if doc["apiVersion"] == "kind.x-k8s.io/v1alpha4":
            return "kind config schema", errors_of(jsonschema.Draft7Validator(KIND_CONFIG_SCHEMA), doc)
        if group == "mcp.kagenti.com":
            version = doc["apiVersion"].split("/", 1)[1]
            validator = self.cr_validators.get((group, version, kind))
            if validator is None:
                return "CRD schema", [f"{doc['apiVersion']} {kind} is not served by the gateway's CRDs"]
            problems = errors_of(validator, doc)
            problems += metadata_problems(doc)
            return f"{kind} CRD schema", problems
        try:
            kubernetes_validate.validate(doc, self.k8s_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError as error:
            return "Kubernetes schema", [error.message]
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(p) for p in error.path)
            return "Kubernetes schema", [f"{path or '(root)'}: {error.message}"]
        return f"Kubernetes {rules_version(self.k8s_version)} schema, strict", metadata_problems(doc)

    def prefetch(self, docs: list[Doc]) -> None:
        """Validates every Gateway API and Istio document of `docs` in one Node.js run, so
        that `validate` finds them done."""
        self.third_party(
            [d for d in docs if isinstance(d, dict) and group_of(d) in NODE_GROUPS and "kind" in d]
        )

    def third_party(self, docs: list[Doc]) -> list[tuple[str, list[str]] | None]:
        """(outcome, problems) per document from validation/node/validate.mjs, or None when
        it has no schema for the kind (or no Node.js packages were given); results are kept."""
        if self.node is None:
            return [None for _ in docs]
        keys = [json.dumps(d, sort_keys=True) for d in docs]
        todo = [(k, d) for k, d in zip(keys, docs) if k not in self.third_party_results]
        if todo:
            try:
                run = subprocess.run(
                    ["node", str(self.node / "validate.mjs")],
                    input=json.dumps([d for _, d in todo]),
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=120,
                )
                failure = run.stderr.strip()[-500:] if run.returncode != 0 else None
            except subprocess.TimeoutExpired:
                failure = "timed out after 120 s"
            if failure is not None:
                for key, _ in todo:
                    self.third_party_results[key] = (
                        "third-party schema",
                        [f"validate.mjs failed: {failure}"],
                    )
            else:
                for (key, doc), result in zip(todo, json.loads(run.stdout)):
                    self.third_party_results[key] = (
                        None
                        if result["schema"] is None
                        else (result["schema"], result["problems"] + metadata_problems(doc))
                    )
        return [self.third_party_results[k] for k in keys]


def rules_version(version: str) -> str:
    return ".".join(version.split(".")[:2])


def metadata_problems(doc: Doc) -> list[str]:
    name = doc.get("metadata", {}).get("name")
    if not isinstance(name, str) or not name:
        return ["metadata.name is missing"]
    if len(name) > 253 or name != name.lower():
        return [f"metadata.name {name!r} is not a valid object name"]
    return []


def errors_of(validator: jsonschema.protocols.Validator, doc: Doc) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def strict_schema(schema: Any) -> Any:
    """The CRD schema as the API server applies it with strict field validation (kubectl's
    default): objects with `properties` reject unknown fields unless they preserve them."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("nullable") is True and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # The root object also carries apiVersion, kind and metadata (not in the CRD schema).
    props = schema.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props.setdefault("metadata", {"type": "object"})
    return schema
