#!/usr/bin/env bash
# Runs the end-to-end suite: builds the control plane once into a cache keyed
# by this module's go.sum, builds the project's binaries, then runs `go test`
# in this module. Any argument is passed to `go test` (e.g. -run TestClosedLoop).
set -euo pipefail

e2e=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$e2e/.." && pwd)
cache=${VLLMHPA_E2E_CACHE:-$HOME/.cache/vllm-hpa-e2e}
log() { printf '[run.sh %s] %s\n' "$(date +%T)" "$*" >&2; }

# --- control plane: etcd, kube-apiserver, kube-controller-manager, kubectl, kwok
# go.sum pins every module version (a changed replace changes it too).
key=$(cat "$e2e/go.sum" <(go env GOVERSION) | sha256sum | cut -c1-16)
bin="$cache/bin-$key"
if [ ! -x "$bin/kwok" ]; then
	log "building control-plane binaries into $bin (6 to 20 minutes on 2 cores)"
	k8s=$(cd "$e2e" && go list -m -f '{{.Version}}' k8s.io/kubernetes) # v1.37.2
	minor=$(echo "$k8s" | cut -d. -f2)
	# Stamp the version: unstamped builds report v0.0.0-master, which kubectl refuses.
	ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1"
	ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
	# No -trimpath: `go test` below then reuses the compiled Kubernetes packages.
	tmp="$bin.partial.$$"
	rm -rf "$tmp" && mkdir -p "$tmp"
	start=$SECONDS
	(cd "$e2e" && go build -ldflags "$ldflags" -o "$tmp/" \
		go.etcd.io/etcd/server/v3 \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kubectl \
		sigs.k8s.io/kwok/cmd/kwok)
	mv "$tmp/v3" "$tmp/etcd" 2>/dev/null || mv "$tmp/server" "$tmp/etcd"
	rm -rf "$bin" && mv "$tmp" "$bin"
	log "control plane built in $((SECONDS - start))s"
	# Older builds are dead weight (about 400 MB each).
	find "$cache" -mindepth 1 -maxdepth 1 -name 'bin-*' ! -name "bin-$key" -exec rm -rf {} +
else
	log "control-plane binaries from cache $bin"
fi

# --- the project's own binaries, from the working tree, every run
project=$(mktemp -d "${TMPDIR:-/tmp}/vllm-hpa-e2e-bin.XXXXXX")
trap 'rm -rf "$project"' EXIT
start=$SECONDS
(
	cd "$root"
	CGO_ENABLED=0 go build -o "$project/vllm-hpa-fn" ./fn
	go build -o "$project/vllm-sim" ./cmd/vllm-sim
	go build -o "$project/vllm-loadgen" ./cmd/vllm-loadgen
	# The kustomize CLI pinned in the root module (`go tool kustomize`).
	go build -o "$project/kustomize" sigs.k8s.io/kustomize/kustomize/v5
)
log "project binaries built in $((SECONDS - start))s"

export VLLMHPA_E2E_BIN="$bin"
export VLLMHPA_FN="$project/vllm-hpa-fn"
export VLLMHPA_KUSTOMIZE="$project/kustomize"
export VLLMHPA_SIM="$project/vllm-sim"
export VLLMHPA_LOADGEN="$project/vllm-loadgen"
export VLLMHPA_CRDS_DIR="${VLLMHPA_CRDS_DIR:-$root/../shared/crds/gmp}"
export VLLMHPA_KCC_CRDS_DIR="${VLLMHPA_KCC_CRDS_DIR:-$root/../shared/crds/kcc}"
export VLLMHPA_EXAMPLES_DIR="${VLLMHPA_EXAMPLES_DIR:-$root/examples}"
export VLLMHPA_E2E_REQUIRED=1

cd "$e2e"
start=$SECONDS
status=0
go test -count=1 -timeout 40m -v "$@" ./... || status=$?
log "go test finished in $((SECONDS - start))s with status $status"
exit $status
