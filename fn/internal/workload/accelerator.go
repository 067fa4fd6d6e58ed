package workload

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// AcceleratorLabel is the node label GKE sets to the type of a node's GPUs
// (cloud.google.com/kubernetes-engine/docs/how-to/gpus); a workload selects its
// GPU with it in its nodeSelector or its required node affinity.
const AcceleratorLabel = "cloud.google.com/gke-accelerator"

// vLLM's default --max-num-seqs, the most requests it runs at once, depends on
// the GPU: 1024 on a GPU of at least 70 GiB whose name does not contain "a100"
// (H100, H200, B200...), 256 otherwise (vllm-project/vllm, vllm/engine/arg_utils.py,
// EngineArgs.get_batch_defaults: `device_memory >= 70 * GiB_bytes and "a100" not in
// device_name`).
const (
	SmallGPUMaxNumSeqs = 256
	LargeGPUMaxNumSeqs = 1024
)

// acceleratorMemoryGB is the memory of each NVIDIA GPU GKE offers, by its
// cloud.google.com/gke-accelerator value (cloud.google.com/compute/docs/gpus).
// None lies near 70 GiB, so the GB the vendor quotes decide as well as GiB would.
var acceleratorMemoryGB = map[string]int{
	"nvidia-tesla-k80":      12,
	"nvidia-tesla-p4":       8,
	"nvidia-tesla-p100":     16,
	"nvidia-tesla-v100":     16,
	"nvidia-tesla-t4":       16,
	"nvidia-l4":             24,
	"nvidia-tesla-a100":     40,
	"nvidia-a100-80gb":      80,
	"nvidia-h100-80gb":      80,
	"nvidia-h100-mega-80gb": 80,
	"nvidia-rtx-pro-6000":   96,
	"nvidia-h200-141gb":     141,
	"nvidia-b200":           180,
	"nvidia-gb200":          186,
}

// DefaultMaxNumSeqs returns vLLM's default --max-num-seqs on a GKE accelerator,
// and false when the accelerator is not one the function knows.
func DefaultMaxNumSeqs(accelerator string) (int, bool) {
	gb, ok := acceleratorMemoryGB[accelerator]
	switch {
	case !ok:
		return 0, false
	case gb >= 70 && !isA100(accelerator):
		return LargeGPUMaxNumSeqs, true
	default:
		return SmallGPUMaxNumSeqs, true
	}
}

func isA100(accelerator string) bool {
	return accelerator == "nvidia-tesla-a100" || accelerator == "nvidia-a100-80gb"
}

// Accelerators returns the GKE accelerator types the workload's pods can run on,
// read from cloud.google.com/gke-accelerator in their nodeSelector or, failing
// that, in their required node affinity, where every term must name it (terms are
// alternatives). It returns nil when the pods may land on any GPU.
func (w *Workload) Accelerators() []string {
	if v, ok := w.Pod.NodeSelector[AcceleratorLabel]; ok {
		return []string{v}
	}
	a := w.Pod.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var values []string
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		in := termValues(term)
		if len(in) == 0 {
			return nil
		}
		values = append(values, in...)
	}
	slices.Sort(values)
	return slices.Compact(values)
}

// termValues returns the accelerators a node selector term allows, nil when it
// allows any.
func termValues(term corev1.NodeSelectorTerm) []string {
	for _, e := range term.MatchExpressions {
		if e.Key == AcceleratorLabel && e.Operator == corev1.NodeSelectorOpIn {
			return e.Values
		}
	}
	return nil
}
