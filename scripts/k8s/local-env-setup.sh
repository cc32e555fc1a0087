#!/usr/bin/env bash
# `make local-env-setup`: a kind cluster running the whole gateway, reachable at
# http://mcp.127-0-0-1.sslip.io:8888/mcp.
#
#   1. checks docker, kind, kubectl, helm and curl;
#   2. creates the kind cluster `mcp-gateway` (deploy/kind/cluster.yaml), or reuses it;
#   3. installs the Gateway API implementation (GATEWAY_PROVIDER=envoy-gateway | istio);
#   4. builds the image (Dockerfile) and loads it into kind (SKIP_IMAGE_BUILD=1 only loads);
#   5. installs charts/mcp-gateway (broker-router, controller, Gateway, ext_proc wiring);
#   6. deploys the example MCP servers calc and text with their HTTPRoutes and MCPServers;
#   7. waits until a tool call through the gateway works, and prints how to connect.
#
# Each step ends with a line saying how long it took (`local-env-setup: chart: done in 41s`).
# Running it again updates everything in place. Versions: see scripts/k8s/lib.sh.
set -euo pipefail

K8S_SCRIPT="local-env-setup"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${K8S_REPO_ROOT}"

readonly CHART_DIR="charts/mcp-gateway"
readonly CHART_CRD="${CHART_DIR}/crds/mcp.kagenti.com_mcpservers.yaml"
# The image deploy/test-servers/*.yaml name; replaced by the built one when applied.
readonly TEST_SERVER_IMAGE="mcp-gateway:dev"

check_prerequisites() {
    check_provider
    require_docker
    require_kind
    require_kubectl
    require_helm
    require_tool curl "Install curl with your package manager."
    [[ "${IMAGE##*/}" == *:?* ]] || die "IMAGE must be repository:tag, not '${IMAGE}'"
    if [[ ! -f "${CHART_CRD}" ]]; then
        die "${CHART_CRD} is missing: run 'make crds' first"
    fi
    [[ "${MCP_PORT}" =~ ^[0-9]+$ ]] || die "MCP_PORT must be a port number, not '${MCP_PORT}'"
    if ! cluster_exists && port_in_use "${MCP_PORT}"; then
        die "port ${MCP_PORT} on 127.0.0.1 is in use; kind maps the gateway there (free it, e.g. stop 'make run')"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

create_cluster() {
    if cluster_exists; then
        log "reusing kind cluster ${CLUSTER_NAME}"
    else
        log "creating kind cluster ${CLUSTER_NAME} (gateway on 127.0.0.1:${MCP_PORT})"
        # deploy/kind/cluster.yaml with the host port of MCP_PORT (8888 unless overridden).
        local config
        config="$(mktemp)"
        sed "s/hostPort: 8888\$/hostPort: ${MCP_PORT}/" deploy/kind/cluster.yaml >"${config}"
        local args=(create cluster --name "${CLUSTER_NAME}" --config "${config}" --wait 2m)
        if [[ -n "${KIND_NODE_IMAGE:-}" ]]; then
            args+=(--image "${KIND_NODE_IMAGE}")
        fi
        kind "${args[@]}" || { rm -f "${config}"; die "kind could not create the cluster"; }
        rm -f "${config}"
    fi
    kc cluster-info >/dev/null
}

apply_namespace() {
    kc create namespace "$1" --dry-run=client -o yaml | kc apply -f - >/dev/null
}

install_envoy_gateway() {
    # The chart brings the Gateway API CRDs it was released with, and its own CRDs.
    log "installing Envoy Gateway ${ENVOY_GATEWAY_VERSION} (with its Gateway API CRDs)"
    helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm \
        --kube-context "${KUBE_CONTEXT}" \
        --version "${ENVOY_GATEWAY_VERSION}" \
        --namespace envoy-gateway-system --create-namespace \
        --values deploy/kind/envoy-gateway/envoy-gateway.values.yaml \
        --wait --timeout 5m
    kc -n envoy-gateway-system rollout status deployment/envoy-gateway --timeout=5m
    kc apply -f deploy/kind/envoy-gateway/gatewayclass.yaml
    kc wait gatewayclass/envoy-gateway --for=condition=Accepted --timeout=2m
}

install_istio() {
    log "installing Gateway API ${GATEWAY_API_VERSION} CRDs"
    kc apply --server-side --force-conflicts \
        -f "https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/standard-install.yaml"
    log "installing Istio ${ISTIO_VERSION} (base, istiod)"
    local repo="https://istio-release.storage.googleapis.com/charts"
    helm upgrade --install istio-base base --repo "${repo}" --version "${ISTIO_VERSION}" \
        --kube-context "${KUBE_CONTEXT}" \
        --namespace istio-system --create-namespace --wait --timeout 5m
    helm upgrade --install istiod istiod --repo "${repo}" --version "${ISTIO_VERSION}" \
        --kube-context "${KUBE_CONTEXT}" \
        --namespace istio-system --wait --timeout 5m
    # istiod creates the GatewayClass once it runs.
    wait_until_exists gatewayclass/istio
    kc wait gatewayclass/istio --for=condition=Accepted --timeout=2m
}

# The image reference deployed: IMAGE's repository with its tag plus the image ID, so that
# pods roll exactly when a rebuild changed the image. Set by build_and_load_image.
DEPLOY_IMAGE=""

build_and_load_image() {
    if [[ "${SKIP_IMAGE_BUILD:-0}" == "1" ]]; then
        log "SKIP_IMAGE_BUILD=1: using the existing image ${IMAGE}"
    else
        log "building ${IMAGE} (first build takes several minutes)"
        DOCKER_BUILDKIT=1 docker build -t "${IMAGE}" .
    fi
    local id
    id="$(docker image inspect --format '{{.Id}}' "${IMAGE}")" || die "no local image ${IMAGE}"
    id="${id#sha256:}"
    DEPLOY_IMAGE="${IMAGE}-${id:0:12}"
    docker tag "${IMAGE}" "${DEPLOY_IMAGE}"
    log "loading ${DEPLOY_IMAGE} into kind"
    kind load docker-image "${DEPLOY_IMAGE}" --name "${CLUSTER_NAME}"
}

install_chart() {
    local repository="${DEPLOY_IMAGE%:*}" tag="${DEPLOY_IMAGE##*:}"
    apply_namespace "${MCP_NAMESPACE}"
    log "installing ${CHART_DIR} as ${RELEASE} in ${MCP_NAMESPACE}"
    helm upgrade --install "${RELEASE}" "${CHART_DIR}" \
        --kube-context "${KUBE_CONTEXT}" \
        --namespace "${MCP_NAMESPACE}" \
        --values "deploy/kind/${GATEWAY_PROVIDER}/mcp-gateway.values.yaml" \
        --set-string "image.repository=${repository}" \
        --set-string "image.tag=${tag}" \
        --set-string image.pullPolicy=IfNotPresent \
        --wait --timeout 5m
    kc apply -f "deploy/kind/${GATEWAY_PROVIDER}/nodeport.yaml"
}

deploy_test_servers() {
    log "deploying the example MCP servers (calc, text) in ${TEST_NAMESPACE}"
    kc apply -f deploy/test-servers/namespace.yaml
    local file
    for file in deploy/test-servers/calc.yaml deploy/test-servers/text.yaml; do
        sed "s|image: ${TEST_SERVER_IMAGE}\$|image: ${DEPLOY_IMAGE}|" "${file}" | kc apply -f -
    done
}

wait_until_ready() {
    log "waiting for the example servers, the Gateway and the MCPServers"
    kc -n "${TEST_NAMESPACE}" rollout status deployment/calc deployment/text --timeout=3m
    kc -n "${MCP_NAMESPACE}" wait "gateway/${GATEWAY_NAME}" --for=condition=Programmed --timeout=5m
    kc -n "${TEST_NAMESPACE}" wait mcpserver --all --for=condition=Ready --timeout=3m
    log "waiting for a tool call through ${MCP_URL}"
    local deadline=$((SECONDS + 180))
    until mcp_smoke; do
        if ((SECONDS > deadline)); then
            log "the gateway did not answer a tools/call in time; see docs/kubernetes.md#troubleshooting"
            kc -n "${MCP_NAMESPACE}" get pods,gateway,httproute >&2 || true
            exit 1
        fi
        sleep 3
    done
}

main() {
    step "prerequisites" check_prerequisites
    step "kind cluster" create_cluster
    case "${GATEWAY_PROVIDER}" in
        envoy-gateway) step "Envoy Gateway" install_envoy_gateway ;;
        istio) step "Istio" install_istio ;;
    esac
    step "image" build_and_load_image
    step "chart" install_chart
    step "example servers" deploy_test_servers
    step "first tool call" wait_until_ready
    cat <<MSG

  MCP gateway on kind (${GATEWAY_PROVIDER}): ${MCP_URL}   (streamable HTTP)

  List the tools of both example servers:
    npx @modelcontextprotocol/inspector --cli ${MCP_URL} --transport http --method tools/list
  Call one:
    npx @modelcontextprotocol/inspector --cli ${MCP_URL} --transport http \\
        --method tools/call --tool-name calc_add --tool-arg a=2 --tool-arg b=3
  Open the Inspector UI:   make inspect-gateway
  Status:                  kubectl --context ${KUBE_CONTEXT} get mcpservers -A
  Remove everything:       make local-env-teardown

MSG
}

main "$@"
