# vllm-hpa: build, render and test the KRM function.
GO       ?= go
BIN      := bin
FN       := $(BIN)/vllm-hpa-fn
KUSTOMIZE := $(GO) tool kustomize
GOFLAGS_BUILD := -trimpath -ldflags=-s\ -w
IMAGE    ?= ghcr.io/vllm-hpa/vllm-hpa-fn
SIM_IMAGE ?= ghcr.io/vllm-hpa/vllm-sim
# TAG is the release: VERSION holds it for the images, the KRMFunctionDefinition
# and every example that names the image.
TAG      ?= $(shell cat VERSION)

.PHONY: all build render test test-race fuzz e2e bench bench-go generate hydrate image image-sim

all: build test

## build: the function as a static binary, bin/vllm-hpa-fn (CGO off), and the
## load generator and vLLM stand-in, bin/vllm-loadgen and bin/vllm-sim.
build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(FN) ./fn
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/...

## render: the bundled examples of both strategies, rendered through kustomize.
render: build
	@for s in vllm gpu; do \
	  echo "# ---- strategy $$s: $(KUSTOMIZE) build --enable-alpha-plugins --enable-exec examples/kustomize-exec/$$s"; \
	  $(KUSTOMIZE) build --enable-alpha-plugins --enable-exec examples/kustomize-exec/$$s || exit 1; \
	done

## test: every test of the function, examples and tools. The integration tests
## also run the kpt CLI (from ../shared/tools/kpt) and build and run the images
## with podman; checktools says first whether those are here, and the tests that
## need a missing one are skipped (in CI, where CI=true, they fail).
test:
	$(GO) vet ./...
	@$(GO) run ./hack/checktools
	$(GO) test ./...

## test-race: the load generator and vLLM stand-in under the race detector, repeated.
test-race:
	$(GO) test -race -count=3 ./internal/loadgen/... ./internal/vllmsim/...

## fuzz: each fuzz target of the function for FUZZTIME (default 30s). Inputs that
## fail are kept under the package's testdata/fuzz as regression cases.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./fn/internal/processor -run '^$$' -fuzz '^FuzzMain$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
	$(GO) test ./fn/internal/processor -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s

## e2e: the end-to-end suite on a real control plane built from Go modules and run
## on 127.0.0.1 (e2e/README.md): every rendered object accepted, the GPU recording
## rule evaluated by Prometheus, the HPA scaling on the generated metric names, and
## a closed loop with the vLLM stand-in. The first run builds the control plane
## into ~/.cache/vllm-hpa-e2e (cold: about 30 minutes on 2 cores; warm: about 12).
e2e:
	cd e2e && ./run.sh

## bench: vllm-hpa-fn against a no-op SDK function as whole processes (generator
## mode, 1 to 10,000 items), and kustomize's exec generator against the same output
## inlined; 3-5 minutes. bench/README.md explains the table.
bench: build
	$(GO) run ./bench/cmd/compare

## bench-go: in-process benchmarks with allocations (processor, krm, and the
## what-if simulator: a day of traffic at up to 100 replicas, BenchmarkDay, about
## 7.5 s; bench/README.md has the figures).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./fn/internal/processor ./fn/internal/krm ./internal/whatif

## generate: every generated file: the VLLMHPAConfig and VLLMServerProfile CRDs
## (controller-gen, from fn/api/v1alpha1), then from the config's CRD the editor JSON Schema, the
## KRMFunctionDefinition, the field reference in docs/api.md, the function's --help
## and --version text (fn/internal/cli) and the schema the function validates with
## (fn/internal/schema), then base/ and overlays/ from the output of the function
## built with them. Each step reads what the one before wrote.
generate:
	$(GO) tool controller-gen crd paths=./fn/api/v1alpha1 output:crd:dir=./fn/api/v1alpha1
	$(GO) run ./hack/apigen
	$(MAKE) build
	$(GO) run ./hack/plaingen -fn $(FN)

## hydrate: examples/config-sync/wet, the plain YAML Config Sync syncs, rendered
## from examples/config-sync/dry.
hydrate: build
	$(KUSTOMIZE) build --enable-alpha-plugins --enable-exec examples/config-sync/dry | \
	  $(GO) run ./hack/split -source examples/config-sync/dry -out examples/config-sync/wet

## image: the function's container image $(IMAGE):$(TAG), for kustomize
## container mode and kpt. The Dockerfile's build arguments BUILDER_IMAGE and
## BASE_IMAGE name the stages' bases (golang and distroless by default).
image:
	docker build -t $(IMAGE):$(TAG) .

## image-sim: the vLLM stand-in and load generator image $(SIM_IMAGE):$(TAG).
image-sim:
	docker build --target vllm-sim -t $(SIM_IMAGE):$(TAG) .
