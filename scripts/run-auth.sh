#!/usr/bin/env bash
# `make run-auth`: everything `make run` starts, plus a real OpenID provider (the
# `oidc-provider` npm package, e2e/node/idp.mjs) at http://127.0.0.1:8890 with two
# client-credentials clients, alice/alice-secret and bob/bob-secret, and the gateway's auth
# turned on (auth: in the generated config; tokens verified by Envoy's jwt_authn).
# Ctrl-C stops everything this script started.
#
# Extending the demo: add sections to the generated config in `write_config` below (one
# heredoc per section) and lines to the notes in `write_notes`.
#
# Ports: IDP_PORT=8890 (the issuer), and those of scripts/run-local.sh (MCP_PORT=8888 ...).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
MCP_PORT="${MCP_PORT:-8888}"
IDP_PORT="${IDP_PORT:-8890}"
issuer="http://127.0.0.1:${IDP_PORT}"
resource="http://127.0.0.1:${MCP_PORT}/mcp"
run_dir="${repo}/.run"
mkdir -p "${run_dir}"
config="${run_dir}/auth-config.yaml"
gateway_client="mcp-gateway"
gateway_secret="${run_dir}/gateway-client-secret"
notes="${run_dir}/auth-notes.txt"

log() { printf 'make run-auth: %s\n' "$*" >&2; }

write_config() {
    # The servers of `make run` (calc reached with RFC 8693 token exchange: the gateway trades
    # each caller's token at the provider for one meant for calc), then the sections this demo
    # adds.
    sed '/toolPrefix: "calc_"/a\    credentials: {tokenExchange: {}}' \
        "${repo}/config/mcp-system/config.yaml" >"${config}.tmp"
    grep -q tokenExchange "${config}.tmp" || { log "calc not found in the config"; exit 1; }
    cat >>"${config}.tmp" <<YAML
# Callers need a token from the demo provider, for this gateway (RFC 8707 resource).
auth:
  resource: ${resource}
  requiredScopes: [mcp]
  issuers:
  - issuer: ${issuer}
    jwksUri: ${issuer}/jwks
# The gateway's own client at the provider, for token exchange (its secret in a file).
tokenClient:
  tokenEndpoint: ${issuer}/token
  clientId: ${gateway_client}
  clientSecret: {file: ${gateway_secret}}
YAML
    cat >>"${config}.tmp" <<'YAML'
# Who may use what: alice every tool, prompt and resource; bob only calc's tools and
# prompts. Lists show each caller its own; other calls are 403.
policy:
  rules:
  - name: alice-all
    when: {clientIds: [alice]}
    allow: {servers: ['*']}
  - name: bob-calc
    when: {clientIds: [bob]}
    allow: {tools: ['calc_*'], prompts: ['calc_*']}
YAML
    mv "${config}.tmp" "${config}"
}

write_notes() {
    cat >"${notes}" <<MSG
  Auth is on (config: ${config}). Demo provider: ${issuer}
  clients alice/alice-secret and bob/bob-secret (client credentials).
  calc is reached with token exchange: for each caller the gateway (client ${gateway_client})
  trades the caller's token at ${issuer}/token for one whose audience is calc
  (http://127.0.0.1:9001/mcp, act.sub = ${gateway_client}), cached until shortly before it
  expires; calc never sees the caller's own token, text gets no credential.
  Policy: alice may use every tool; bob only calc_* (his tools/list shows only those, and
  text_upper is 403). One audit line per call or denial: ${run_dir}/audit.log

  Without a token the gateway answers 401 and names its metadata:
    curl -si ${resource} -H 'content-type: application/json' \\
        -d '{"jsonrpc":"2.0","id":1,"method":"ping"}' | grep -i www-authenticate
    curl -s http://127.0.0.1:${MCP_PORT}/.well-known/oauth-protected-resource/mcp

  Get a token (client credentials, RFC 8707 resource = the gateway):
    TOKEN=\$(curl -s -u alice:alice-secret ${issuer}/token -d grant_type=client_credentials \\
        -d resource=${resource} -d scope=mcp | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

  Call a tool with curl (initialize, then tools/call in that session):
    SID=\$(curl -si ${resource} -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
        -H 'accept: application/json, text/event-stream' \\
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}' \\
        | tr -d '\r' | sed -n 's/^mcp-session-id: //Ip')
    curl -s ${resource} -H "authorization: Bearer \$TOKEN" -H "mcp-session-id: \$SID" \\
        -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
        -H 'mcp-protocol-version: 2025-06-18' \\
        -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"calc_add","arguments":{"a":2,"b":3}}}'

  With the MCP Inspector (its CLI sends the token as a header):
    npx @modelcontextprotocol/inspector --cli ${resource} --transport http \\
        --header "Authorization: Bearer \$TOKEN" --method tools/list

  The TypeScript SDK's client discovering the provider from the 401 by itself:
    node e2e/node/oauth-client.mjs ${resource} alice alice-secret ${issuer} calc_add '{"a":2,"b":3}'

  RFC 8693 token exchange (bob acting for the holder of \$TOKEN, for another audience):
    curl -s -u bob:bob-secret ${issuer}/token \\
        -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
        -d subject_token=\$TOKEN -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \\
        -d resource=http://127.0.0.1:9001/mcp
MSG
}

scripts/ensure-node-packages.sh e2e/node "the demo OpenID provider (oidc-provider)"
# A fresh secret per run for the gateway's own client, readable by this user only.
(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"${gateway_secret}")
idp_pid=""
cleanup() {
    trap - INT TERM EXIT
    if [[ -n "${idp_pid}" ]]; then kill "${idp_pid}" 2>/dev/null || true; fi
}
trap cleanup INT TERM EXIT

IDP_PORT="${IDP_PORT}" IDP_ISSUER="${issuer}" IDP_KEYS="${run_dir}/idp-keys.json" \
    IDP_CLIENTS="alice:alice-secret,bob:bob-secret,${gateway_client}:$(cat "${gateway_secret}")" \
    node e2e/node/idp.mjs >"${run_dir}/idp.out" 2>"${run_dir}/idp.log" &
idp_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "${issuer}/.well-known/openid-configuration" 2>/dev/null && break
    kill -0 "${idp_pid}" 2>/dev/null || { log "the provider exited; see ${run_dir}/idp.log"; exit 1; }
    sleep 0.1
done

write_config
write_notes
MCP_GATEWAY_CONFIG="${config}" MCP_RUN_NOTES="${notes}" MCP_AUDIT_LOG="${run_dir}/audit.log" \
    scripts/run-local.sh
