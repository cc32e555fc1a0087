#!/usr/bin/env bash
# `make k8s-validate`: validate the Kubernetes packaging offline (no cluster, no Docker).
#
#   - the MCPServer CRD, and that the chart's copy is identical to config/crd/;
#   - deploy/ manifests against the Kubernetes schemas (kubernetes-validate, strict), the
#     MCPServer samples against the CRD's schema (jsonschema), Gateway API and Istio objects
#     against their CRD schemas (the pinned @kubernetes-models packages on Node.js, in
#     scripts/k8s/validation/node), the kind config;
#   - charts/mcp-gateway rendered by Helm for several value sets, each object validated
#     the same way, plus cross-reference rules (scripts/k8s/validation/);
#   - a self-check: the documents in scripts/k8s/testdata/invalid/ must all be rejected.
#
# Rendering uses `helm` from PATH, else Helm's Go SDK from the pinned helm-python-sdk wheel;
# with neither the run fails, unless K8S_VALIDATE_ALLOW_SKIP=1: then it prints
# "SKIPPED: helm not installed" and validates everything else.
# Python packages (pinned) go into <repo>/.venv; a second run does no network access.
#
#   K8S_VALIDATE_RENDERER=auto|helm|sdk|none   force a renderer (default auto; none needs
#                                              K8S_VALIDATE_ALLOW_SKIP=1)
#   K8S_VALIDATE_ALLOW_SKIP=1                  skip the chart when it cannot be rendered
#   K8S_VALIDATE_VERSION=1.33.0                Kubernetes version of the schemas
set -euo pipefail

K8S_SCRIPT="k8s-validate"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${K8S_REPO_ROOT}"

readonly PYTHON_PACKAGES=(
    "kubernetes-validate==1.37.0"
    "jsonschema==4.26.0"
    "PyYAML==6.0.3"
)
# Helm v4's Go SDK as a shared library (renders charts without a helm binary).
readonly HELM_SDK_PACKAGE="helm-python-sdk==0.2.2"
readonly RENDERER="${K8S_VALIDATE_RENDERER:-auto}"

venv="${K8S_REPO_ROOT}/.venv"
python="${venv}/bin/python"

# installed NAME==VERSION: whether exactly that version is installed in the venv.
installed() {
    local name="${1%%==*}" version="${1##*==}"
    [[ "$("${python}" - "${name}" <<'EOF' 2>/dev/null
import sys
from importlib import metadata
try:
    print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError:
    pass
EOF
)" == "${version}" ]]
}

# pip_install PACKAGE...: install the ones not already there at the pinned version.
pip_install() {
    local missing=() package
    for package in "$@"; do
        installed "${package}" || missing+=("${package}")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]} into ${venv}"
        "${python}" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
    fi
}

if [[ ! -x "${python}" ]]; then
    require_tool python3 "Install Python 3.10 or newer."
    log "creating ${venv}"
    python3 -m venv "${venv}" >&2
fi
pip_install "${PYTHON_PACKAGES[@]}"

if [[ "${RENDERER}" == "sdk" || ("${RENDERER}" == "auto" && -z "$(command -v helm || true)") ]]; then
    # The wheel is Linux/macOS/Windows x86_64 and arm64 only: elsewhere the chart part
    # fails (is skipped with K8S_VALIDATE_ALLOW_SKIP=1).
    if ! pip_install "${HELM_SDK_PACKAGE}"; then
        [[ "${RENDERER}" == "sdk" ]] && die "cannot install ${HELM_SDK_PACKAGE}"
        log "no helm on PATH and ${HELM_SDK_PACKAGE} does not install here"
    fi
fi

# Gateway API and Istio schemas: the pinned @kubernetes-models packages, run with Node.js
# (npm ci when node_modules is missing or older than the lock file).
node_dir="${K8S_REPO_ROOT}/scripts/k8s/validation/node"
third_party=()
if command -v node >/dev/null && command -v npm >/dev/null; then
    "${K8S_REPO_ROOT}/scripts/ensure-node-packages.sh" "${node_dir}" \
        "the Gateway API and Istio schema packages"
    third_party=(--third-party-schemas "${node_dir}")
elif [[ "${K8S_VALIDATE_ALLOW_SKIP:-}" == "1" ]]; then
    log "SKIPPED: Gateway API and Istio schemas (no node/npm)"
else
    die "node and npm are needed for the Gateway API and Istio schemas (or set K8S_VALIDATE_ALLOW_SKIP=1)"
fi

# No __pycache__ left in the source tree.
PYTHONDONTWRITEBYTECODE=1 exec "${python}" scripts/k8s/validate_manifests.py \
    --root "${K8S_REPO_ROOT}" \
    --renderer "${RENDERER}" \
    --kubernetes-version "${K8S_VALIDATE_VERSION:-1.33.0}" \
    "${third_party[@]}"
