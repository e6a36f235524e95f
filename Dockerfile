# syntax=docker/dockerfile:1

# isrcache container images: one Go build stage, then two runtime images on
# distroless/static (no shell, no package manager, a non-root user).
#
#   docker build -t isrcache .                                   # the cache: the default (last) target
#   docker build --target demo-origin -t isrcache-demo-origin .  # the demo blog origin
#
# docker-compose.yml builds both. deploy/compose/dockerfile_test.go checks
# this file's structure.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download
# .dockerignore lets in only the Go sources (cmd/, internal/, pkg/).
COPY . .
ARG TARGETOS
ARG TARGETARCH
# Static binaries (no cgo), without local paths or debug symbols, built for
# the target platform by the build platform's compiler.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/isrcache ./cmd/demo-origin

# The demo blog origin, for docker-compose.yml. Its admin endpoints have no
# authentication: keep it off public networks.
FROM gcr.io/distroless/static-debian12:nonroot AS demo-origin
LABEL org.opencontainers.image.title="isrcache demo origin" \
      org.opencontainers.image.description="The demo blog origin of isrcache, for local stacks and tests" \
      org.opencontainers.image.source="https://github.com/isrcache/isrcache" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/demo-origin /usr/local/bin/demo-origin
# 65532 is distroless's "nonroot" user, given by number so that Kubernetes'
# runAsNonRoot can check it.
USER 65532:65532
ENV DEMO_ADDR=:3000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/demo-origin", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/demo-origin"]

# isrcache, the default target. Configure it with ISR_* variables (see
# README.md); ISR_ORIGIN is required.
FROM gcr.io/distroless/static-debian12:nonroot AS isrcache
LABEL org.opencontainers.image.title="isrcache" \
      org.opencontainers.image.description="Incremental Static Regeneration as a distributed cache: stateless replicas sharing pages in Redis" \
      org.opencontainers.image.source="https://github.com/isrcache/isrcache" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/isrcache /usr/local/bin/isrcache
USER 65532:65532
ENV ISR_ADDR=:8080
EXPOSE 8080
# "isrcache healthcheck" GETs /readyz on the port of ISR_ADDR: 503 while
# draining on SIGTERM makes the container unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/isrcache", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/isrcache"]
