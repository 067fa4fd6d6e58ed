#!/usr/bin/env bash
# Sends one chat-completions request per second to a port-forwarded vLLM
# Service until Ctrl-C, then prints a summary.
#
#   scripts/request-looper.sh [PORT] [MODEL] [CONTENT] [vllm-loadgen flags...]
#
# PORT defaults to 8081 (kubectl port-forward service/vllm-service 8081:8000),
# MODEL to google/gemma-3-1b-it, CONTENT to the tutorial's prompt. Extra
# arguments go to vllm-loadgen, e.g. --watch-metrics http://localhost:8081/metrics.
set -euo pipefail

port="${1:-8081}"
model="${2:-google/gemma-3-1b-it}"
content="${3:-Explain Quantum Computing in simple terms.}"
shift $(($# < 3 ? $# : 3))

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "${repo_root}/bin/vllm-loadgen" ]]; then
  loadgen="${repo_root}/bin/vllm-loadgen"
elif command -v vllm-loadgen >/dev/null 2>&1; then
  loadgen="$(command -v vllm-loadgen)"
else
  echo "request-looper.sh: vllm-loadgen not found in ${repo_root}/bin or on PATH; run 'make build' in ${repo_root} first" >&2
  exit 1
fi

exec "${loadgen}" --url "http://localhost:${port}" --model "${model}" --prompt "${content}" --rate 1 "$@"
