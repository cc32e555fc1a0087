#!/usr/bin/env bash
# Print the path of a Chromium binary on stdout, and nothing else there.
#
# 1. $CHROMIUM_BIN, if set (it must exist).
# 2. /usr/bin/chromium, if installed.
# 3. Otherwise Debian's `chromium` package (~100 MB), installed with apt-get (as root, or
#    with sudo): only when missing.
#
# The web console's e2e test (e2e/tests/console.rs) drives it headless through
# playwright-core; nothing is downloaded by playwright itself. Progress and errors go to
# stderr.
set -euo pipefail

readonly DEBIAN_CHROMIUM=/usr/bin/chromium

log() {
    printf 'ensure-chromium: %s\n' "$*" >&2
}

if [[ -n "${CHROMIUM_BIN:-}" ]]; then
    [[ -x "${CHROMIUM_BIN}" ]] || {
        log "CHROMIUM_BIN=${CHROMIUM_BIN} is not an executable file"
        exit 1
    }
    printf '%s\n' "${CHROMIUM_BIN}"
    exit 0
fi

if [[ ! -x "${DEBIAN_CHROMIUM}" ]]; then
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || {
            log "Chromium is missing; install Debian's chromium package or set CHROMIUM_BIN"
            exit 1
        }
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || {
        log "Chromium is missing and there is no apt-get to install it; set CHROMIUM_BIN"
        exit 1
    }
    log "installing Debian's chromium package (about 100 MB, once)"
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >&2
    [[ -x "${DEBIAN_CHROMIUM}" ]] || {
        log "the chromium package left no ${DEBIAN_CHROMIUM}"
        exit 1
    }
fi
printf '%s\n' "${DEBIAN_CHROMIUM}"
