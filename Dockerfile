# syntax=docker/dockerfile:1
# The vllm-hpa KRM function as a container image, for kustomize container mode
# and kpt. Build it with `make image` (ghcr.io/vllm-hpa/vllm-hpa-fn:v0.1.0).
# kustomize and kpt run it as
#   docker run --rm -i --network none --user nobody --security-opt=no-new-privileges IMAGE
# with a ResourceList on stdin: the image needs no network, no shell and no root.

# Go from go.mod's go line, on the build machine's platform: make build
# cross-compiles for the target platform (CGO is off).
ARG GO_VERSION=1.26.8
# The stages' bases, as build arguments so that a machine that cannot pull them
# can build from local stand-ins (the integration tests do: internal/testenv).
ARG BUILDER_IMAGE=golang:${GO_VERSION}
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${BUILDER_IMAGE} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
# Only what `make build` reads: the function (fn/), and the load generator and
# vLLM stand-in (cmd/, internal/).
COPY Makefile go.mod go.sum ./
COPY fn/ fn/
COPY cmd/ cmd/
COPY internal/ internal/
# The one build command, the same as on a developer's machine and in CI.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH make build

# The vLLM stand-in and the load generator, for trying the pipeline on a cluster
# without GPUs: make image-sim (docker build --target vllm-sim).
FROM ${BASE_IMAGE} AS vllm-sim
COPY --from=build /src/bin/vllm-sim /src/bin/vllm-loadgen /usr/local/bin/
USER nonroot:nonroot
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/vllm-sim", "--addr=0.0.0.0:8000"]

# The function's image, the default target. A static binary needs no libc;
# distroless has no shell and a nonroot user, and also the nobody user kustomize
# and kpt pass with --user.
FROM ${BASE_IMAGE}
COPY --from=build /src/bin/vllm-hpa-fn /usr/local/bin/vllm-hpa-fn
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/vllm-hpa-fn"]
