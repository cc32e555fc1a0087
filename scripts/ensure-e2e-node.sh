#!/usr/bin/env bash
# Install the packages pinned in e2e/node/package-lock.json (the official TypeScript
# MCP SDK, for e2e/tests/typescript.rs) with `npm ci`, on the machine's Node.js, when
# e2e/node/node_modules is missing or older than the lock file. Quiet when there is
# nothing to do. `make test` and `make e2e` run it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${repo}/e2e/node"
# npm writes this copy of the lock file on every install.
installed="${dir}/node_modules/.package-lock.json"

if [[ -f "${installed}" && ! "${dir}/package-lock.json" -nt "${installed}" ]]; then
    exit 0
fi
command -v npm >/dev/null || {
    printf 'e2e: npm not found: install Node.js 20 or later\n' >&2
    exit 1
}
printf 'e2e: installing the pinned TypeScript MCP SDK into e2e/node (npm ci)\n' >&2
# Errors (stderr) stay visible; the "added N packages" summary (stdout) does not.
npm ci --prefix "${dir}" --no-audit --no-fund --loglevel=error >/dev/null
