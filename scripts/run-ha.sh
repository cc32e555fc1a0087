#!/usr/bin/env bash
# Start the gateway as three replicas: redis-server, two example MCP servers, three
# mcp-broker-router replicas sharing sessions through that Redis, and ONE Envoy that
# round-robins ext_proc, ADS and broker traffic over them (health-checked: a dead replica
# gets no traffic). Ctrl-C stops everything this script started, Redis included.
#
# Kill one (`kill -9 "$(cat .run/replica-2.pid)"`) and clients keep their sessions.
#
# Ports (override with environment variables):
#   MCP_PORT=8888      Envoy listener: the gateway's MCP endpoint http://127.0.0.1:8888/mcp
#   ADMIN_PORT=9901    Envoy admin
#   ROUTER_PORT=50051  replica N's router (ext_proc + ADS) is ROUTER_PORT+N-1
#   BROKER_PORT=8080   replica N's broker is BROKER_PORT+N-1
#   METRICS_PORT=9464  replica N's /metrics is on METRICS_PORT+N-1
#   REDIS_PORT=6379    redis-server (append-only file in .run/redis/)
#   CALC_PORT=9001 TEXT_PORT=9002   example servers (must match config/mcp-system/config.yaml)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
readonly REPLICAS=3
MCP_PORT="${MCP_PORT:-8888}"
ADMIN_PORT="${ADMIN_PORT:-9901}"
ROUTER_PORT="${ROUTER_PORT:-50051}"
BROKER_PORT="${BROKER_PORT:-8080}"
METRICS_PORT="${METRICS_PORT:-9464}"
REDIS_PORT="${REDIS_PORT:-6379}"
CALC_PORT="${CALC_PORT:-9001}"
TEXT_PORT="${TEXT_PORT:-9002}"
CONFIG="${MCP_GATEWAY_CONFIG:-${repo}/config/mcp-system/config.yaml}"
# Every replica must verify the session ids the others mint: one key for all.
MCP_SESSION_KEY="${MCP_SESSION_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
export MCP_SESSION_KEY
target="${CARGO_TARGET_DIR:-${repo}/target}/release"
run_dir="${repo}/.run"
mkdir -p "${run_dir}/redis"

log() { printf 'make run-ha: %s\n' "$*" >&2; }

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
    rm -f "${run_dir}"/replica-*.pid
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
        check_running "${what}"
        sleep 0.1
    done
    log "${what} did not become ready; see ${run_dir}/*.log"
    exit 1
}

# check_running WHAT: exit when a process this script started has exited.
check_running() {
    for pid in "${pids[@]}"; do
        kill -0 "${pid}" 2>/dev/null || { log "$1: a process exited; see ${run_dir}/*.log"; exit 1; }
    done
}

envoy_bin="$("${repo}/scripts/ensure-envoy.sh")"
redis_bin="$("${repo}/scripts/ensure-redis.sh")"

# Redis with the append-only file on: sessions survive its restart.
"${redis_bin}" --bind 127.0.0.1 --port "${REDIS_PORT}" --dir "${run_dir}/redis" \
    --appendonly yes --save "" >"${run_dir}/redis.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/${REDIS_PORT}") 2>/dev/null && break
    check_running "redis-server"
    sleep 0.1
done

"${target}/mcp-example-server" --server calc --listen "127.0.0.1:${CALC_PORT}" >"${run_dir}/calc.log" 2>&1 &
pids+=("$!")
"${target}/mcp-example-server" --server text --listen "127.0.0.1:${TEXT_PORT}" >"${run_dir}/text.log" 2>&1 &
pids+=("$!")
wait_for "http://127.0.0.1:${CALC_PORT}/stats" "calc example server"
wait_for "http://127.0.0.1:${TEXT_PORT}/stats" "text example server"

envoy_args=()
for n in $(seq 1 "${REPLICAS}"); do
    router="127.0.0.1:$((ROUTER_PORT + n - 1))"
    broker="127.0.0.1:$((BROKER_PORT + n - 1))"
    "${target}/mcp-broker-router" \
        --mcp-router-address "${router}" --mcp-broker-address "${broker}" \
        --mcp-metrics-address "127.0.0.1:$((METRICS_PORT + n - 1))" \
        --mcp-gateway-config "${CONFIG}" \
        --session-store "redis://127.0.0.1:${REDIS_PORT}/" >"${run_dir}/replica-${n}.log" 2>&1 &
    pids+=("$!")
    echo "$!" >"${run_dir}/replica-${n}.pid"
    envoy_args+=(--router "${router}" --broker "${broker}")
done
for n in $(seq 1 "${REPLICAS}"); do
    wait_for "http://127.0.0.1:$((BROKER_PORT + n - 1))/readyz" "replica ${n}"
done

"${target}/mcp-broker-router" envoy-config \
    --listen "127.0.0.1:${MCP_PORT}" --admin "127.0.0.1:${ADMIN_PORT}" \
    "${envoy_args[@]}" >"${run_dir}/envoy-ha.yaml"
"${envoy_bin}" -c "${run_dir}/envoy-ha.yaml" --use-dynamic-base-id -l warning >"${run_dir}/envoy.log" 2>&1 &
pids+=("$!")
wait_for "http://127.0.0.1:${ADMIN_PORT}/ready" "Envoy"

cat <<MSG

  MCP gateway ready, ${REPLICAS} replicas: http://127.0.0.1:${MCP_PORT}/mcp   (streamable HTTP)

  Sessions live in Redis (127.0.0.1:${REDIS_PORT}, append-only file in ${run_dir}/redis/).
  Replica pids: ${run_dir}/replica-1.pid .. replica-${REPLICAS}.pid. Kill one and clients keep
  their sessions; which replicas Envoy sees healthy:
    curl -s http://127.0.0.1:${ADMIN_PORT}/clusters | grep health_flags

  Call a tool:
    npx @modelcontextprotocol/inspector --cli http://127.0.0.1:${MCP_PORT}/mcp --transport http \\
        --method tools/call --tool-name calc_add --tool-arg a=2 --tool-arg b=3

  Config: ${CONFIG} (edits apply live)   Logs: ${run_dir}/   Ctrl-C stops everything.

MSG
# Replicas may be killed and restarted by hand: only Redis, Envoy or a backend exiting
# ends the run.
essential=("${pids[0]}" "${pids[1]}" "${pids[2]}" "${pids[-1]}")
wait -n "${essential[@]}" || true
log "a process exited; see ${run_dir}/*.log"
