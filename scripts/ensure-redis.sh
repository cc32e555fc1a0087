#!/usr/bin/env bash
# Print the path of a redis-server binary on stdout, and nothing else there.
#
# 1. `redis-server` on PATH, if it is recent enough.
# 2. Otherwise Debian's `redis-server` package, installed with apt-get (as root, or with
#    sudo). Debian pins its version per release; the gateway needs Redis 6.2 or later
#    (Lua scripts with the server's TIME, PEXPIREAT).
#
# Tests start their own redis-server on a free loopback port, in their own directory; this
# script only makes sure the binary is there. Progress and errors go to stderr.
set -euo pipefail

readonly MIN_MAJOR=6 MIN_MINOR=2

log() {
    printf 'ensure-redis: %s\n' "$*" >&2
}

# Succeeds when the redis-server on PATH is at least MIN_MAJOR.MIN_MINOR.
recent_enough() {
    local version major minor
    version="$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')"
    major="${version%%.*}"
    minor="${version#*.}"
    minor="${minor%%.*}"
    [[ -n "${major}" ]] || return 1
    ((major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR)))
}

if ! command -v redis-server >/dev/null 2>&1 || ! recent_enough; then
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || {
            log "redis-server ${MIN_MAJOR}.${MIN_MINOR}+ is missing; install Debian's redis-server package"
            exit 1
        }
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || {
        log "redis-server ${MIN_MAJOR}.${MIN_MINOR}+ is missing and there is no apt-get to install it"
        exit 1
    }
    log "installing Debian's redis-server package"
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq redis-server >&2
    recent_enough || {
        log "the installed redis-server is older than ${MIN_MAJOR}.${MIN_MINOR}"
        exit 1
    }
fi
command -v redis-server
