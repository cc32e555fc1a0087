#!/usr/bin/env bash
# `make inspect-gateway`: open the MCP Inspector on the local cluster's gateway,
# http://mcp.127-0-0-1.sslip.io:8888/mcp.
#
# When that address does not answer (e.g. the kind port mapping is unavailable), the
# Gateway's NodePort Service is port-forwarded to 127.0.0.1:8888 for as long as the
# Inspector runs.
#
#   INSPECTOR_MODE=cli   list the tools with the Inspector's CLI instead of opening its UI
#   INSPECTOR_VERSION    the @modelcontextprotocol/inspector version (2.x needs Node >= 22.19)
set -euo pipefail

K8S_SCRIPT="inspect-gateway"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tool npx "Install Node.js 22 (it ships npx): https://nodejs.org/en/download"
require_tool curl "Install curl with your package manager."

# The Inspector 2.x requires Node >= 22.19.
node_major="$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')"
if [[ "${INSPECTOR_VERSION}" == 2.* && -n "${node_major}" && "${node_major}" -lt 22 ]]; then
    die "@modelcontextprotocol/inspector ${INSPECTOR_VERSION} needs Node >= 22.19 (found $(node --version)); install Node 22 or set INSPECTOR_VERSION"
fi

gateway_answers() {
    curl --silent --output /dev/null --max-time 3 --fail \
        --resolve "${MCP_HOST}:${MCP_PORT}:127.0.0.1" "http://${MCP_HOST}:${MCP_PORT}/healthz"
}

forward_pid=""
cleanup() {
    if [[ -n "${forward_pid}" ]]; then
        kill "${forward_pid}" 2>/dev/null || true
        wait "${forward_pid}" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

if ! gateway_answers; then
    require_kubectl
    namespace=""
    for candidate in envoy-gateway-system "${MCP_NAMESPACE}"; do
        if kc -n "${candidate}" get service mcp-gateway-nodeport >/dev/null 2>&1; then
            namespace="${candidate}"
            break
        fi
    done
    [[ -n "${namespace}" ]] ||
        die "${MCP_URL} does not answer and context ${KUBE_CONTEXT} has no gateway Service; run 'make local-env-setup' first"
    log "${MCP_URL} does not answer; port-forwarding ${namespace}/mcp-gateway-nodeport to 127.0.0.1:${MCP_PORT}"
    # kubectl itself, not the kc function: $! must be the process that holds the port.
    kubectl --context "${KUBE_CONTEXT}" -n "${namespace}" \
        port-forward service/mcp-gateway-nodeport "${MCP_PORT}:8080" >/dev/null &
    forward_pid=$!
    for _ in $(seq 1 50); do
        gateway_answers && break
        kill -0 "${forward_pid}" 2>/dev/null || die "kubectl port-forward exited (is 127.0.0.1:${MCP_PORT} in use?)"
        sleep 0.2
    done
    gateway_answers || die "the gateway does not answer through the port-forward either; see docs/kubernetes.md#troubleshooting"
fi

if command -v getent >/dev/null 2>&1 && ! getent hosts "${MCP_HOST}" >/dev/null 2>&1; then
    log "warning: ${MCP_HOST} does not resolve here (sslip.io needs public DNS); add '127.0.0.1 ${MCP_HOST}' to /etc/hosts"
fi

inspector="@modelcontextprotocol/inspector@${INSPECTOR_VERSION}"
if [[ "${INSPECTOR_MODE:-ui}" == "cli" ]]; then
    npx -y "${inspector}" --cli "${MCP_URL}" --transport http --method tools/list
else
    log "opening the MCP Inspector on ${MCP_URL} (Ctrl-C stops it)"
    npx -y "${inspector}" --transport http --server-url "${MCP_URL}"
fi
