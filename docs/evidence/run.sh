#!/usr/bin/env bash
# Reruns every simulation of docs/autoscaling-evidence.md: a table per traffic
# shape and backend in out/, a plot per traffic shape. From the repository root:
#   make build && docs/evidence/run.sh
set -euo pipefail
cd "$(dirname "$0")"
whatif=../../bin/vllm-hpa-whatif
profile=../../examples/profiles/gemma-3-1b-l4.yaml
all=(running-4 running-16 running-58 waiting-3 kv-0.05 gpu-20 gpu-60)
plotted=(running-4 running-58 waiting-3 gpu-20)
declare -A traffic=(
  [step]="step:levels=5,60,20,every=30m"
  [ramp]="ramp:from=5,to=80,start=10m,over=30m,hold=30m"
  [diurnal]="diurnal:min=5,max=100"
  [bursty]="bursty:low=5,high=60,low-for=20m,high-for=5m,duration=6h"
)
files() { for c in "$@"; do printf -- '-f %s.yaml ' "$c"; done; }
mkdir -p out
for shape in step ramp diurnal bursty; do
  for backend in adapter gke; do
    # shellcheck disable=SC2046
    $whatif --compare $(files "${all[@]}") --backend "$backend" --profile "$profile" \
      --traffic "${traffic[$shape]}" > "out/$shape-$backend.txt"
  done
  # shellcheck disable=SC2046
  $whatif --compare $(files "${plotted[@]}") --backend adapter --profile "$profile" \
    --traffic "${traffic[$shape]}" --plot "$shape.png" > /dev/null
done

# The scale-down window and the scale-up policy (running requests at 16),
# the scrape interval, and the start-up, on bursts and a day.
variants=(running-16-down0 running-16-down60 running-16 running-16-down600 running-16-up1)
for shape in bursty diurnal; do
  # shellcheck disable=SC2046
  $whatif --compare $(files "${variants[@]}") --backend adapter --profile "$profile" \
    --traffic "${traffic[$shape]}" > "out/behavior-$shape.txt"
done
for shape in step bursty; do
  for s in 5s 15s 30s 60s; do
    $whatif -f running-16.yaml --profile "$profile" --traffic "${traffic[$shape]}" --scrape-interval "$s" > "out/scrape-$s-$shape.txt"
  done
done
for s in 1m 2m 4m 8m; do
  $whatif -f running-16.yaml --profile "$profile" --traffic "${traffic[bursty]}" --startup "$s" --model-load 30s > "out/startup-$s-bursty.txt"
done

# Two signals: running requests and the queue.
for shape in step ramp diurnal bursty; do
  $whatif --compare -f running-16.yaml -f running-16-waiting-3.yaml --backend adapter --profile "$profile" \
    --traffic "${traffic[$shape]}" > "out/pair-$shape.txt"
done
