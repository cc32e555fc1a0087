"""Renders charts/mcp-gateway offline: with the helm CLI, or with Helm's Go SDK through the
helm-python-sdk wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from .objects import Doc


class Renderer:
    """Renders the chart with the `helm` CLI when on PATH, else with Helm's Go SDK through the
    helm-python-sdk wheel (no cluster is contacted either way)."""

    def __init__(self, chart: Path, mode: str, release: str, namespace: str, kube_version: str) -> None:
        self.chart = chart
        self.kube_version = kube_version
        self.release = release
        self.namespace = namespace
        self.kind = "none"
        self.sdk = None
        self.why_none = (
            "K8S_VALIDATE_RENDERER=none" if mode == "none" else "no helm on PATH and no helm-python-sdk"
        )
        if mode in ("auto", "helm") and shutil.which("helm"):
            self.kind = "helm"
        elif mode in ("auto", "sdk"):
            try:
                import helm_python  # noqa: PLC0415 (optional dependency)

                self.sdk = helm_python
                self.kind = "sdk"
            except (ImportError, OSError):
                pass

    def describe(self) -> str:
        if self.kind == "helm":
            version = subprocess.run(
                ["helm", "version", "--short"], capture_output=True, text=True
            ).stdout.strip()
            return f"helm CLI {version}"
        if self.kind == "sdk":
            return f"Helm SDK {self.sdk.helm_sdk_version()} (helm-python-sdk {self.sdk.helm_c_version()})"
        return "none"

    def lint(self, values: Doc) -> list[str]:
        if self.kind == "helm":
            with values_file(values) as path:
                out = subprocess.run(
                    ["helm", "lint", "--strict", str(self.chart), "--namespace", self.namespace, "-f", path],
                    capture_output=True,
                    text=True,
                )
            return [] if out.returncode == 0 else (out.stdout + out.stderr).strip().splitlines()
        report = self.sdk.lint(
            str(self.chart),
            values,
            strict=True,
            namespace=self.namespace,
            kube_version=f"v{self.kube_version}",
        )
        # Severity 1 is informational (e.g. "icon is recommended").
        return [
            f"{m['path']}: {m['error']}" for m in report.get("messages", []) if m.get("severity", 0) >= 2
        ] + list(report.get("errors", []))

    def render(self, values: Doc) -> list[Doc]:
        """The rendered objects, NOTES.txt left out. Raises RenderError when Helm refuses."""
        if self.kind == "helm":
            with values_file(values) as path:
                out = subprocess.run(
                    [
                        "helm",
                        "template",
                        self.release,
                        str(self.chart),
                        "--namespace",
                        self.namespace,
                        "--kube-version",
                        self.kube_version,
                        "-f",
                        path,
                    ],
                    capture_output=True,
                    text=True,
                )
            if out.returncode != 0:
                raise RenderError(out.stderr.strip())
            text = out.stdout
        else:
            try:
                with self.sdk.Chart.load(str(self.chart)) as chart:
                    manifests = chart.render(
                        values, name=self.release, namespace=self.namespace, is_install=True
                    )
            except self.sdk.HelmError as error:
                raise RenderError(str(error)) from error
            text = "\n---\n".join(
                body for path, body in sorted(manifests.items()) if not path.endswith("NOTES.txt")
            )
        try:
            return [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as error:
            raise RenderError(f"rendered output is not YAML: {error}") from error


class RenderError(Exception):
    pass


class values_file:
    """A temporary values file for the helm CLI."""

    def __init__(self, values: Doc) -> None:
        self.values = values

    def __enter__(self) -> str:
        self.file = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        json.dump(self.values, self.file)
        self.file.close()
        return self.file.name

    def __exit__(self, *exc: object) -> None:
        Path(self.file.name).unlink(missing_ok=True)
