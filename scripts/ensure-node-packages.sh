#!/usr/bin/env bash
# ensure-node-packages.sh DIR WHAT: install the npm packages pinned in DIR/package-lock.json
# with `npm ci`, on the machine's Node.js, when DIR/node_modules is missing or older than the
# lock file. Quiet when there is nothing to do; WHAT names the packages in the one line it
# prints when installing. Used for e2e/node (make test, make e2e), the conformance suite and
# the Kubernetes manifest schemas.
set -euo pipefail

dir="$1"
what="$2"
# npm writes this copy of the lock file on every install.
installed="${dir}/node_modules/.package-lock.json"

if [[ -f "${installed}" && ! "${dir}/package-lock.json" -nt "${installed}" ]]; then
    exit 0
fi
command -v npm >/dev/null || {
    printf 'npm not found: install Node.js 20 or later (needed for %s)\n' "${what}" >&2
    exit 1
}
printf 'installing %s into %s (npm ci)\n' "${what}" "${dir}" >&2
# Errors (stderr) stay visible; the "added N packages" summary (stdout) does not.
npm ci --prefix "${dir}" --no-audit --no-fund --loglevel=error >/dev/null
