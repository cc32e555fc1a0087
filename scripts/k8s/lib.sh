# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
# Shared settings and helpers of scripts/k8s/*.sh. Sourced, never run.
#
# Every setting can be overridden from the environment (or on the make command line,
# e.g. `make local-env-setup GATEWAY_PROVIDER=istio`).

K8S_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly K8S_REPO_ROOT

# The kind cluster and the kubectl context kind creates for it.
CLUSTER_NAME="${CLUSTER_NAME:-mcp-gateway}"
KUBE_CONTEXT="${KUBE_CONTEXT:-kind-${CLUSTER_NAME}}"
# envoy-gateway or istio.
GATEWAY_PROVIDER="${GATEWAY_PROVIDER:-envoy-gateway}"
# The one image with mcp-broker-router and mcp-example-server, built locally and loaded
# into kind (deploy/test-servers/*.yaml name mcp-gateway:dev).
IMAGE="${IMAGE:-mcp-gateway:dev}"

# Pinned versions of what the local cluster runs.
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.4.0}"
ENVOY_GATEWAY_VERSION="${ENVOY_GATEWAY_VERSION:-v1.9.1}"
ISTIO_VERSION="${ISTIO_VERSION:-1.28.0}"
INSPECTOR_VERSION="${INSPECTOR_VERSION:-2.12.0}"

readonly MCP_NAMESPACE="mcp-system"
readonly TEST_NAMESPACE="mcp-test"
readonly RELEASE="mcp-gateway"
readonly GATEWAY_NAME="mcp-gateway"
# The gateway's public address: kind maps 127.0.0.1:8888 to the Gateway's NodePort.
readonly MCP_HOST="mcp.127-0-0-1.sslip.io"
MCP_PORT="${MCP_PORT:-8888}"
MCP_URL="http://${MCP_HOST}:${MCP_PORT}/mcp"

log() {
    printf '%s: %s\n' "${K8S_SCRIPT:-k8s}" "$*" >&2
}

# step WHAT CMD...: runs CMD (a long wait: a cluster, an install, a build) and then says how
# long WHAT took and how long the script has run, so a person sees where time goes.
step() {
    local what="$1" started="${SECONDS}"
    shift
    "$@"
    log "${what}: done in $((SECONDS - started))s (${SECONDS}s so far)"
}

die() {
    log "error: $*"
    exit 1
}

# require_tool NAME HOW-TO-INSTALL: fail with the install hint when NAME is not on PATH.
require_tool() {
    local name="$1" hint="$2"
    if ! command -v "${name}" >/dev/null 2>&1; then
        die "${name} is not installed. ${hint}"
    fi
}

require_docker() {
    require_tool docker "Install Docker Engine or Docker Desktop: https://docs.docker.com/get-docker/"
    if ! docker info >/dev/null 2>&1; then
        die "docker is installed but its engine does not answer (is the Docker daemon running, and may this user use it?)"
    fi
}

require_kind() {
    require_tool kind "Install kind v0.27 or newer: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
}

require_kubectl() {
    require_tool kubectl "Install kubectl: https://kubernetes.io/docs/tasks/tools/"
}

require_helm() {
    require_tool helm "Install Helm 3.8 or newer (OCI charts): https://helm.sh/docs/intro/install/"
}

check_provider() {
    case "${GATEWAY_PROVIDER}" in
        envoy-gateway | istio) ;;
        *) die "GATEWAY_PROVIDER must be envoy-gateway or istio, not '${GATEWAY_PROVIDER}'" ;;
    esac
}

# kubectl against the local cluster only, whatever the current context is.
kc() {
    kubectl --context "${KUBE_CONTEXT}" "$@"
}

# wait_until_exists [kubectl args...] RESOURCE: poll until `kubectl get` finds it (kubectl
# wait fails at once on a resource that does not exist yet), for at most 2 minutes.
wait_until_exists() {
    local deadline=$((SECONDS + 120))
    until kc get "$@" >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then
            die "timed out waiting for $* to appear"
        fi
        sleep 2
    done
}

cluster_exists() {
    kind get clusters 2>/dev/null | grep -qx "${CLUSTER_NAME}"
}

# mcp_post SESSION BODY: one JSON-RPC POST to the gateway; prints the response headers and
# body. Resolves the gateway's host name locally so that no DNS is needed.
mcp_post() {
    local session="$1" body="$2"
    local args=(
        --silent --show-error --max-time 10 --include
        --resolve "${MCP_HOST}:${MCP_PORT}:127.0.0.1"
        -H 'Content-Type: application/json'
        -H 'Accept: application/json, text/event-stream'
        -H 'MCP-Protocol-Version: 2025-06-18'
    )
    if [[ -n "${session}" ]]; then
        args+=(-H "Mcp-Session-Id: ${session}")
    fi
    curl "${args[@]}" --data "${body}" "${MCP_URL}"
}

# mcp_smoke: initialize a session through the gateway, list the tools and call calc_add.
# Succeeds when both example servers' tools are listed and 2 + 3 comes back as 5 (which
# only happens when the router moved the call to the calc server's HTTPRoute).
mcp_smoke() {
    local response session tools result
    response="$(mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp-gateway-local-env","version":"0"}}}')" || return 1
    session="$(printf '%s\n' "${response}" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: *//p' | head -n 1)"
    [[ -n "${session}" ]] || return 1
    mcp_post "${session}" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null || return 1
    tools="$(mcp_post "${session}" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')" || return 1
    grep -q '"name":"calc_add"' <<<"${tools}" || return 1
    grep -q '"name":"text_echo"' <<<"${tools}" || return 1
    result="$(mcp_post "${session}" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"calc_add","arguments":{"a":2,"b":3}}}')" || return 1
    grep -q '"text":"5"' <<<"${result}" || return 1
}
