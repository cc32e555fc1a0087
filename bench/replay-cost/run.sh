#!/usr/bin/env bash
# What the replay after a backend restart costs Envoy on calls that succeed: plain Envoy to one
# echo backend, with and without the backend cluster's upstream filters and the route's
# internal redirect policy (as crates/xds/src/replay.rs renders them), one worker each,
# measured alternately (closed loop, 16 connections, 16 sessions). Prints Envoy CPU per call.
# Usage: bench/replay-cost/run.sh [rounds] [seconds]; needs mcp-echo-server and mcp-loadgen in
# ${CARGO_TARGET_DIR:-target}/release (or BIN=...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-6}
seconds=${2:-6}
bin=${BIN:-${CARGO_TARGET_DIR:-$here/../../target}/release}
envoy=${ENVOY_BIN:-$("$here/../../scripts/ensure-envoy.sh")}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
backend=$(free_port)
"$bin/mcp-echo-server" --listen "127.0.0.1:$backend" --threads 1 >"$work/echo.log" 2>&1 &
pids+=($!)
declare -A port pid
for c in with without; do
  port[$c]=$(free_port)
  python3 - "$here" "$c" "${port[$c]}" "$(free_port)" "$backend" >"$work/$c.yaml" <<'PY'
import sys
here, case, listen, admin, backend = sys.argv[1:]
text = open(f"{here}/envoy.yaml.in").read()
pieces = {"@REDIRECT@": "redirect.yaml.in", "@UPSTREAM@": "upstream.yaml.in"}
for marker, name in pieces.items():
    piece = open(f"{here}/{name}").read().rstrip("\n") if case == "with" else ""
    text = text.replace(marker + "\n", piece + "\n" if piece else "")
print(text.replace("@PORT@", listen).replace("@ADMIN@", admin).replace("@BACKEND@", backend), end="")
PY
  "$envoy" -c "$work/$c.yaml" --concurrency 1 -l error --disable-hot-restart >"$work/envoy-$c.log" 2>&1 &
  pid[$c]=$!
  pids+=($!)
done
sleep 2
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { "$bin/mcp-loadgen" --url "http://127.0.0.1:${port[$1]}/mcp" --warmup 0s --duration "$2" --sessions 16 --concurrency 16; }
for c in with without; do load "$c" 2s >/dev/null; done
echo "round case envoy_cpu_us_per_call calls_ok errors req_per_s"
for round in $(seq "$rounds"); do
  order="with without"
  [ $((round % 2)) = 0 ] && order="without with"
  for c in $order; do
    before=$(cpu "${pid[$c]}")
    out=$(load "$c" "${seconds}s")
    after=$(cpu "${pid[$c]}")
    ticks=$((after - before)) hz=$(getconf CLK_TCK)
    echo "$out" | python3 -c "
import json, sys
s = json.load(sys.stdin)['summary']
print($round, '$c', round($ticks * 1e6 / $hz / s['ok'], 1), s['ok'], len(s['errors']), round(s['throughput']))"
  done
done
