#!/usr/bin/env bash
# Start the whole local gateway: two example MCP servers, mcp-broker-router and Envoy.
# Ctrl-C stops everything this script started.
#
# Ports (override with environment variables):
#   MCP_PORT=8888      Envoy listener: the gateway's MCP endpoint http://127.0.0.1:8888/mcp
#   ADMIN_PORT=9901    Envoy admin
#   ROUTER_PORT=50051  ext_proc router + ADS (gRPC)
#   BROKER_PORT=8080   broker (HTTP)
#   METRICS_PORT=9464  the gateway's Prometheus metrics (http://127.0.0.1:9464/metrics)
#   CALC_PORT=9001 TEXT_PORT=9002   example servers (must match config/mcp-system/config.yaml)
#   MODULE_API_PORT=50052  the gateway's module API (MODE=module only; loopback)
# MCP_GATEWAY_CONFIG=config/mcp-system/config.yaml  the gateway config; MCP_RUN_DIR=.run  logs
# OTLP_ENDPOINT=127.0.0.1:4317 sends OpenTelemetry traces (Envoy's and the gateway's) to an
# OTLP/gRPC collector there (docs/observability.md#traces-opentelemetry); off when unset.
# MODE=module runs the routing core inside Envoy as a dynamic module
# (target/release/libmcp_gateway_module.so) instead of the ext_proc router; default ext-proc.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
MCP_PORT="${MCP_PORT:-8888}"
ADMIN_PORT="${ADMIN_PORT:-9901}"
ROUTER_PORT="${ROUTER_PORT:-50051}"
BROKER_PORT="${BROKER_PORT:-8080}"
METRICS_PORT="${METRICS_PORT:-9464}"
CALC_PORT="${CALC_PORT:-9001}"
TEXT_PORT="${TEXT_PORT:-9002}"
MODE="${MODE:-ext-proc}"
MODULE_API_PORT="${MODULE_API_PORT:-50052}"
CONFIG="${MCP_GATEWAY_CONFIG:-${repo}/config/mcp-system/config.yaml}"
OTLP_ENDPOINT="${OTLP_ENDPOINT:-}"
target="${CARGO_TARGET_DIR:-${repo}/target}/release"
run_dir="${MCP_RUN_DIR:-${repo}/.run}"
mkdir -p "${run_dir}"

log() { printf 'make run: %s\n' "$*" >&2; }

run_started="${EPOCHREALTIME}"
# Seconds since this script started, to a tenth.
elapsed() {
    awk -v from="${run_started/,/.}" -v to="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", to - from }'
}

pids=()
cleanup() {
    trap - INT TERM EXIT
    if ((${#pids[@]})); then
        log "stopping"
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap cleanup INT TERM EXIT

# wait_for URL WHAT: poll until URL answers 2xx, for at most 60 s; says when WHAT is ready.
wait_for() {
    local url="$1" what="$2"
    for _ in $(seq 1 600); do
        if curl -fsS -o /dev/null "${url}" 2>/dev/null; then
            log "${what} ready ($(elapsed)s)"
            return 0
        fi
        for pid in "${pids[@]}"; do
            kill -0 "${pid}" 2>/dev/null || { log "${what}: a process exited; see ${run_dir}/*.log"; exit 1; }
        done
        sleep 0.1
    done
    log "${what} did not become ready; see ${run_dir}/*.log"
    exit 1
}

envoy_bin="$("${repo}/scripts/ensure-envoy.sh")"

# The data plane: the router over ext_proc (any Envoy), or the same core in Envoy as a module.
gateway_mode_args=()
envoy_mode_args=()
case "${MODE}" in
ext-proc) ;;
module)
    [[ -f "${target}/libmcp_gateway_module.so" ]] || {
        log "MODE=module: ${target}/libmcp_gateway_module.so is missing; run make run MODE=module"
        exit 1
    }
    gateway_mode_args=(--module-api-address "127.0.0.1:${MODULE_API_PORT}")
    envoy_mode_args=(--mode module --module-api "127.0.0.1:${MODULE_API_PORT}")
    ;;
*)
    log "MODE must be ext-proc or module, not ${MODE}"
    exit 1
    ;;
esac

"${target}/mcp-example-server" --server calc --listen "127.0.0.1:${CALC_PORT}" >"${run_dir}/calc.log" 2>&1 &
pids+=("$!")
"${target}/mcp-example-server" --server text --listen "127.0.0.1:${TEXT_PORT}" >"${run_dir}/text.log" 2>&1 &
pids+=("$!")
wait_for "http://127.0.0.1:${CALC_PORT}/stats" "calc example server"
wait_for "http://127.0.0.1:${TEXT_PORT}/stats" "text example server"

# Traces: Envoy's tracer and the gateway's spans, to one OTLP/gRPC collector.
trace_args=()
gateway_trace_args=()
if [[ -n "${OTLP_ENDPOINT}" ]]; then
    trace_args=(--otlp-endpoint "${OTLP_ENDPOINT}")
    gateway_trace_args=(--otlp-endpoint "http://${OTLP_ENDPOINT#http://}")
fi

"${target}/mcp-broker-router" \
    --mcp-router-address "127.0.0.1:${ROUTER_PORT}" \
    --mcp-broker-address "127.0.0.1:${BROKER_PORT}" \
    --mcp-metrics-address "127.0.0.1:${METRICS_PORT}" \
    --mcp-gateway-config "${CONFIG}" "${gateway_mode_args[@]}" "${gateway_trace_args[@]}" \
    >"${run_dir}/gateway.log" 2>&1 &
pids+=("$!")
wait_for "http://127.0.0.1:${BROKER_PORT}/readyz" "mcp-broker-router"

"${target}/mcp-broker-router" envoy-config \
    --listen "127.0.0.1:${MCP_PORT}" --admin "127.0.0.1:${ADMIN_PORT}" \
    --router "127.0.0.1:${ROUTER_PORT}" --broker "127.0.0.1:${BROKER_PORT}" \
    "${envoy_mode_args[@]}" "${trace_args[@]}" >"${run_dir}/envoy.yaml"
ENVOY_DYNAMIC_MODULES_SEARCH_PATH="${target}" \
    "${envoy_bin}" -c "${run_dir}/envoy.yaml" --use-dynamic-base-id -l warning >"${run_dir}/envoy.log" 2>&1 &
pids+=("$!")
wait_for "http://127.0.0.1:${ADMIN_PORT}/ready" "Envoy"

cat <<MSG

  MCP gateway ready: http://127.0.0.1:${MCP_PORT}/mcp   (streamable HTTP; data plane: ${MODE})

  List the tools of both example servers:
    npx @modelcontextprotocol/inspector --cli http://127.0.0.1:${MCP_PORT}/mcp --transport http --method tools/list
  Call one:
    npx @modelcontextprotocol/inspector --cli http://127.0.0.1:${MCP_PORT}/mcp --transport http \\
        --method tools/call --tool-name calc_add --tool-arg a=2 --tool-arg b=3

  Console: http://127.0.0.1:${MCP_PORT}/console   (servers, tools, live calls; read-only)
  Metrics: http://127.0.0.1:${METRICS_PORT}/metrics (gateway)   http://127.0.0.1:${ADMIN_PORT}/stats/prometheus (Envoy)

  Traces: ${OTLP_ENDPOINT:-off (OTLP_ENDPOINT=127.0.0.1:4317 make run sends them to a collector)}

  Config: ${CONFIG} (edits apply live)   Logs: ${run_dir}/   Ctrl-C stops everything.

MSG
# Notes of a wrapper script (make run-auth): printed as they are.
if [[ -n "${MCP_RUN_NOTES:-}" && -f "${MCP_RUN_NOTES}" ]]; then
    cat "${MCP_RUN_NOTES}"
    echo
fi
wait -n "${pids[@]}" || true
log "a process exited; see ${run_dir}/*.log"
