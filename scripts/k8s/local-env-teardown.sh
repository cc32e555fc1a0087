#!/usr/bin/env bash
# `make local-env-teardown`: delete the kind cluster of `make local-env-setup` (and with it
# everything deployed there). The built image stays in the local Docker.
set -euo pipefail

K8S_SCRIPT="local-env-teardown"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_kind
if cluster_exists; then
    log "deleting kind cluster ${CLUSTER_NAME}"
    kind delete cluster --name "${CLUSTER_NAME}"
else
    log "no kind cluster named ${CLUSTER_NAME}; nothing to do"
fi
