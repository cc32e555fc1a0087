#!/usr/bin/env bash
# `make crds`: regenerate the MCPServer CRD from the Rust types and copy it into the chart.
#
#   config/crd/mcp.kagenti.com_mcpservers.yaml       the checked-in CRD (a cargo test fails
#                                                    when it drifts from the types)
#   charts/mcp-gateway/crds/mcp.kagenti.com_mcpservers.yaml   the chart's copy (make
#                                                    k8s-validate fails when it drifts)
set -euo pipefail

K8S_SCRIPT="crds"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${K8S_REPO_ROOT}"

readonly FILE="mcp.kagenti.com_mcpservers.yaml"
readonly SOURCE="config/crd/${FILE}"
readonly CHART_COPY="charts/mcp-gateway/crds/${FILE}"

mkdir -p "$(dirname "${SOURCE}")" "$(dirname "${CHART_COPY}")"
generated="$(mktemp)"
trap 'rm -f "${generated}"' EXIT
# Written to a temporary file first: a failed build must not truncate the checked-in CRD.
"${CARGO:-cargo}" run -q -p mcp-gateway-cli -- crd >"${generated}"
if [[ ! -s "${generated}" ]]; then
    die "'mcp-broker-router crd' printed nothing"
fi
cp "${generated}" "${SOURCE}"
cp "${SOURCE}" "${CHART_COPY}"
log "wrote ${SOURCE} and ${CHART_COPY}"
