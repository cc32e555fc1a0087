#!/usr/bin/env bash
# `make crds`: regenerate the MCPServer and MCPVirtualServer CRDs from the Rust types and
# copy them into the chart.
#
#   config/crd/mcp.kagenti.com_{mcpservers,mcpvirtualservers}.yaml   the checked-in CRDs (a
#                                                    cargo test fails when one drifts)
#   charts/mcp-gateway/crds/mcp.kagenti.com_*.yaml   the chart's copies (make k8s-validate
#                                                    fails when one drifts)
set -euo pipefail

K8S_SCRIPT="crds"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${K8S_REPO_ROOT}"

# crd KIND: regenerate config/crd/mcp.kagenti.com_KIND.yaml and the chart's copy.
crd() {
    local kind="$1"
    local file="mcp.kagenti.com_${kind}.yaml"
    local source="config/crd/${file}"
    local chart_copy="charts/mcp-gateway/crds/${file}"
    mkdir -p "$(dirname "${source}")" "$(dirname "${chart_copy}")"
    local generated
    generated="$(mktemp)"
    # Written to a temporary file first: a failed build must not truncate the checked-in CRD.
    if ! "${CARGO:-cargo}" run -q -p mcp-gateway-cli -- crd "${kind}" >"${generated}" ||
        [[ ! -s "${generated}" ]]; then
        rm -f "${generated}"
        die "'mcp-broker-router crd ${kind}' printed nothing"
    fi
    cp "${generated}" "${source}"
    rm -f "${generated}"
    cp "${source}" "${chart_copy}"
    log "wrote ${source} and ${chart_copy}"
}

crd mcpservers
crd mcpvirtualservers
