# vllm-hpa: build, render and test the KRM function.
GO       ?= go
BIN      := bin
FN       := $(BIN)/vllm-hpa-fn
KUSTOMIZE := $(GO) tool kustomize
GOFLAGS_BUILD := -trimpath -ldflags=-s\ -w

.PHONY: all build render test test-race generate

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

## test: every test of the function, examples and tools.
test:
	$(GO) vet ./...
	$(GO) test ./...

## test-race: the load generator and vLLM stand-in under the race detector, repeated.
test-race:
	$(GO) test -race -count=3 ./internal/loadgen/... ./internal/vllmsim/...
