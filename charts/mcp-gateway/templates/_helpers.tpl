{{/* Chart name, overridable. */}}
{{- define "mcp-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name. */}}
{{- define "mcp-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "mcp-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mcp-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "controller"). */}}
{{- define "mcp-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-gateway.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image reference. */}}
{{- define "mcp-gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "mcp-gateway.brokerRouter.name" -}}
{{- printf "%s-broker-router" (include "mcp-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-gateway.brokerRouter.headlessName" -}}
{{- printf "%s-grpc" (include "mcp-gateway.brokerRouter.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-gateway.controller.name" -}}
{{- printf "%s-controller" (include "mcp-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-gateway.brokerRouter.serviceAccountName" -}}
{{- if .Values.brokerRouter.serviceAccount.create -}}
{{- default (include "mcp-gateway.brokerRouter.name" .) .Values.brokerRouter.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.brokerRouter.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mcp-gateway.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (include "mcp-gateway.controller.name" .) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The provider, checked. */}}
{{- define "mcp-gateway.provider" -}}
{{- $provider := .Values.gatewayProvider -}}
{{- if not (has $provider (list "envoy-gateway" "istio")) -}}
{{- fail (printf "gatewayProvider must be envoy-gateway or istio, not %q" $provider) -}}
{{- end -}}
{{- $provider -}}
{{- end -}}

{{- define "mcp-gateway.gateway.namespace" -}}
{{- default .Release.Namespace .Values.gateway.namespace -}}
{{- end -}}

{{- define "mcp-gateway.gateway.className" -}}
{{- if .Values.gateway.className -}}
{{- .Values.gateway.className -}}
{{- else if eq (include "mcp-gateway.provider" .) "istio" -}}
istio
{{- else -}}
envoy-gateway
{{- end -}}
{{- end -}}

{{/* parentRef of the Gateway, as a YAML map. */}}
{{- define "mcp-gateway.gateway.targetRef" -}}
group: gateway.networking.k8s.io
kind: Gateway
name: {{ .Values.gateway.name }}
{{- end -}}

{{/* In-cluster DNS name of the broker-router Service. */}}
{{- define "mcp-gateway.brokerRouter.host" -}}
{{- printf "%s.%s.svc.%s" (include "mcp-gateway.brokerRouter.name" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* The ext_proc EnvoyExtensionPolicy's name (Envoy Gateway names its filter after it). */}}
{{- define "mcp-gateway.extProcPolicy.name" -}}
{{- printf "%s-ext-proc" (include "mcp-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The connection manager's local_reply_config mappers: Envoy's own errors on MCP requests as
JSON-RPC bodies (the same as the standalone bootstrap's; the router answers a backend's
plain-text errors and lost sessions itself, as it sees every response here).
- The router is down or did not answer in time: ext_proc's own failures, whose details start
  with "ext_proc_error" (the router's answers carry other details). When the router had read
  the body (its request_id_json metadata is there: the replica died with the request routed)
  a JSON-RPC error answering the client's id, HTTP 200 so that clients match it to their
  call; otherwise (the id is unknown) HTTP 503.
- The router picked a backend (x-mcp-servername) and Envoy could not reach it (a response
  flag is set, which leaves the router's own answers alone): a JSON-RPC error answering the
  client's id as it wrote it (the router's request_id_json metadata), HTTP 200.
*/}}
{{- define "mcp-gateway.localReplyMappers" -}}
- filter:
    and_filter:
      filters:
        - extension_filter:
            name: envoy.access_loggers.extension_filters.cel
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
              expression: "response.code_details.startsWith('ext_proc_error')"
        - metadata_filter:
            matcher:
              filter: mcp
              path:
                - key: request_id_json
              value:
                present_match: true
            match_if_key_not_found: false
  status_code: 200
  body_format_override:
    content_type: application/json
    text_format_source:
      inline_string: '{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:request_id_json)%,"error":{"code":-32603,"message":"the gateway replica handling this request stopped; the MCP server may have run it"}}'
- filter:
    extension_filter:
      name: envoy.access_loggers.extension_filters.cel
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
        expression: "response.code_details.startsWith('ext_proc_error')"
  status_code: 503
  body_format_override:
    content_type: application/json
    json_format:
      jsonrpc: "2.0"
      id: null
      error:
        code: -32603
        message: "the gateway's router is unavailable; retry later"
- filter:
    and_filter:
      filters:
        - status_code_filter:
            comparison:
              op: GE
              value:
                default_value: 502
                runtime_key: mcp.local_reply.unavailable_min
        - status_code_filter:
            comparison:
              op: LE
              value:
                default_value: 504
                runtime_key: mcp.local_reply.unavailable_max
        - header_filter:
            header:
              name: x-mcp-servername
              present_match: true
        - response_flag_filter: {}
  status_code: 200
  body_format_override:
    content_type: application/json
    text_format_source:
      inline_string: '{"jsonrpc":"2.0","id":%DYNAMIC_METADATA(mcp:request_id_json)%,"error":{"code":-32603,"message":"MCP server ''%REQ(x-mcp-servername)%'' is unavailable (Envoy response flags: %RESPONSE_FLAGS%)"}}'
{{- end -}}

{{/* The ConfigMap of config sections the controller adds to what it publishes. */}}
{{- define "mcp-gateway.baseConfig.name" -}}
{{- printf "%s-base-config" (include "mcp-gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The gateway config's `auth:` section from values `auth` (YAML, unindented). */}}
{{- define "mcp-gateway.authSection" -}}
{{- $a := .Values.auth -}}
{{- $issuers := list -}}
{{- range $a.issuers -}}
{{- $issuers = append $issuers (dict "issuer" .issuer "jwksUri" .jwksUri "audiences" (default (list $a.resource) .audiences)) -}}
{{- end -}}
{{- $auth := dict "resource" $a.resource "issuers" $issuers -}}
{{- with $a.resourceName }}{{- $_ := set $auth "resourceName" . -}}{{- end -}}
{{- with $a.requiredScopes }}{{- $_ := set $auth "requiredScopes" . -}}{{- end -}}
{{- with $a.consoleScope }}{{- $_ := set $auth "consoleScope" . -}}{{- end -}}
{{- dict "auth" $auth | toYaml -}}
{{- end }}

{{/* The gateway config's `policy:` section from values `policy` (YAML, unindented). */}}
{{- define "mcp-gateway.policySection" -}}
{{- dict "policy" (dict "rules" .Values.policy.rules) | toYaml -}}
{{- end }}

{{/*
The sections the controller adds to every config it publishes (--base-config): `auth:` and
`policy:` when set; empty when neither is.
*/}}
{{- define "mcp-gateway.baseConfig" -}}
{{- if .Values.auth.issuers }}
{{ include "mcp-gateway.authSection" . }}
{{- end }}
{{- if .Values.policy.rules }}
{{ include "mcp-gateway.policySection" . }}
{{- end }}
{{- end }}

{{/* The bundled Redis's name (its Deployment, Service and volume claim). */}}
{{- define "mcp-gateway.redis.name" -}}
{{- printf "%s-redis" (include "mcp-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "true" when sessions are shared through Redis (bundled or external), else empty. */}}
{{- define "mcp-gateway.sessionStore.shared" -}}
{{- $store := .Values.brokerRouter.sessionStore -}}
{{- if or .Values.redis.enabled $store.url $store.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* The Secret holding the session-signing key: the given one, or the chart's. */}}
{{- define "mcp-gateway.sessionKey.secretName" -}}
{{- default (printf "%s-session-key" (include "mcp-gateway.fullname" .) | trunc 63 | trimSuffix "-") .Values.brokerRouter.sessionKey.existingSecret -}}
{{- end -}}

{{/*
OpenTelemetry tracing: the collector's host and port from tracing.otlpEndpoint
(`host:port`, an optional `http://` in front).
*/}}
{{- define "mcp-gateway.tracing.hostPort" -}}
{{- $endpoint := trimSuffix "/" (trimPrefix "http://" .Values.tracing.otlpEndpoint) -}}
{{- if not (regexMatch "^[A-Za-z0-9.-]+:[0-9]+$" $endpoint) -}}
{{- fail (printf "tracing.otlpEndpoint %q: expected host:port of an OTLP/gRPC collector, e.g. otel-collector.monitoring:4317" .Values.tracing.otlpEndpoint) -}}
{{- end -}}
{{- $endpoint -}}
{{- end }}

{{/*
The connection manager's `tracing` object: Envoy's OpenTelemetry tracer, spans of upstream
calls, and the router's `mcp` metadata as span attributes (as `envoy-config --otlp-endpoint`
renders it; the session id is never one).
*/}}
{{- define "mcp-gateway.tracing.connectionManager" -}}
random_sampling:
  value: {{ .Values.tracing.samplingPercentage }}
spawn_upstream_span: true
provider:
  name: envoy.tracers.opentelemetry
  typed_config:
    "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
    service_name: mcp-gateway-envoy
    grpc_service:
      envoy_grpc:
        cluster_name: {{ .Values.tracing.clusterName }}
      timeout: 2s
custom_tags:
{{- range $tag, $key := dict "mcp.method.name" "method" "mcp_gateway.server" "server" "gen_ai.tool.name" "tool" "gen_ai.prompt.name" "prompt" "rpc.jsonrpc.error_code" "error_code" }}
  - tag: {{ $tag }}
    metadata:
      kind: {request: {}}
      metadata_key:
        key: mcp
        path: [{key: {{ $key }}}]
{{- end }}
{{- end }}

{{/*
The collector's cluster (OTLP/gRPC, plaintext HTTP/2).
*/}}
{{- define "mcp-gateway.tracing.cluster" -}}
{{- $hostPort := include "mcp-gateway.tracing.hostPort" . -}}
name: {{ .Values.tracing.clusterName }}
type: STRICT_DNS
connect_timeout: 1s
dns_lookup_family: V4_PREFERRED
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: {}
load_assignment:
  cluster_name: {{ .Values.tracing.clusterName }}
  endpoints:
    - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: {{ (splitList ":" $hostPort | first) | quote }}
                port_value: {{ splitList ":" $hostPort | last }}
{{- end }}
