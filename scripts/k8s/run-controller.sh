#!/usr/bin/env bash
# `make run-controller`: run the controller from source against the current kubeconfig
# context (any cluster with the MCPServer CRD and the Gateway API CRDs), writing the gateway
# ConfigMap mcp-system/mcp-gateway-config like the in-cluster controller does.
#
#   CONFIGMAP_NAMESPACE=mcp-system   where the ConfigMap (and the leader Lease) live
#   CONTROLLER_ARGS="..."            extra flags for `mcp-broker-router --controller`
#
# The in-cluster controller holds the leader Lease while it runs: scale it to zero first,
# or this one waits for its turn.
set -euo pipefail

K8S_SCRIPT="run-controller"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${K8S_REPO_ROOT}"

require_kubectl
readonly NAMESPACE="${CONFIGMAP_NAMESPACE:-${MCP_NAMESPACE}}"

context="$(kubectl config current-context 2>/dev/null)" ||
    die "no current kubeconfig context; create a cluster (make local-env-setup) or select one (kubectl config use-context)"
kubectl get --raw /readyz >/dev/null 2>&1 || die "the cluster of context '${context}' does not answer"
for crd in mcpservers mcpvirtualservers; do
    kubectl get crd "${crd}.mcp.kagenti.com" >/dev/null 2>&1 ||
        die "the ${crd} CRD is not installed in '${context}': kubectl apply -f config/crd/mcp.kagenti.com_${crd}.yaml"
done
kubectl get namespace "${NAMESPACE}" >/dev/null 2>&1 ||
    die "namespace ${NAMESPACE} does not exist in '${context}': kubectl create namespace ${NAMESPACE}"

replicas="$(kubectl -n "${NAMESPACE}" get deployment "${RELEASE}-controller" -o jsonpath='{.spec.replicas}' 2>/dev/null || true)"
if [[ -n "${replicas}" && "${replicas}" != "0" ]]; then
    log "note: the in-cluster controller is running and holds the leader Lease; to let this one lead:"
    log "  kubectl -n ${NAMESPACE} scale deployment/${RELEASE}-controller --replicas=0"
fi

log "running the controller against context '${context}' (Ctrl-C stops it)"
export POD_NAMESPACE="${NAMESPACE}"
export POD_NAME="${POD_NAME:-local-$(hostname)}"
export RUST_LOG="${RUST_LOG:-info}"
# shellcheck disable=SC2086 # CONTROLLER_ARGS is a list of flags, split on purpose.
exec "${CARGO:-cargo}" run -p mcp-gateway-cli -- --controller \
    --configmap-name mcp-gateway-config \
    --configmap-namespace "${NAMESPACE}" \
    --configmap-key config.yaml \
    ${CONTROLLER_ARGS:-}
