# syntax=docker/dockerfile:1
#
# One image, two binaries:
#   /usr/local/bin/mcp-broker-router   the gateway (router + broker) and, with --controller,
#                                      the Kubernetes controller (the entrypoint)
#   /usr/local/bin/mcp-example-server  the example MCP servers (calc, text)
#
#   docker build -t mcp-gateway:dev .
#   docker run --rm -p 8080:8080 -p 50051:50051 mcp-gateway:dev --mcp-gateway-config /etc/mcp-gateway/config.yaml
#
# The builder's toolchain is the one rust-toolchain.toml names (1.95); that file itself is
# left out of the build context (.dockerignore) so the build does not download it again.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target/ between builds; the binaries are copied out
# of the cache so the next stage can see them.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p mcp-gateway-cli -p mcp-gateway-example-servers \
    && mkdir -p /out \
    && cp target/release/mcp-broker-router target/release/mcp-example-server /out/

# glibc, libgcc and CA certificates; no shell. Runs as uid/gid 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/mcp-broker-router /out/mcp-example-server /usr/local/bin/
# The default config path of mcp-broker-router, with an empty server list, so the image
# starts without a mounted config.
COPY --chown=65532:65532 deploy/image/config.yaml /config/mcp-system/config.yaml
WORKDIR /
USER 65532:65532
# The binary binds its router and broker to loopback unless told otherwise; a container is
# reached over its pod or bridge network, so the image listens on every address. Let only
# the Envoy in front reach these ports (the Helm chart adds a NetworkPolicy): neither
# authenticates its callers. See docs/security.md.
ENV MCP_ROUTER_ADDRESS=0.0.0.0:50051 MCP_BROKER_ADDRESS=0.0.0.0:8080 \
    MCP_METRICS_ADDRESS=0.0.0.0:9464
# broker (HTTP), router (gRPC), gateway metrics, controller health and metrics
EXPOSE 8080 50051 9464 8081 8082
ENTRYPOINT ["/usr/local/bin/mcp-broker-router"]
