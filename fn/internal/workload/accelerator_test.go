package workload

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// vLLM's rule: 1024 on a GPU of 70 GiB or more whose name has no "a100", else 256.
func TestDefaultMaxNumSeqs(t *testing.T) {
	for accelerator, want := range map[string]int{
		"nvidia-l4":             256,
		"nvidia-tesla-t4":       256,
		"nvidia-tesla-a100":     256,
		"nvidia-a100-80gb":      256, // 80 GB, but an A100
		"nvidia-h100-80gb":      1024,
		"nvidia-h100-mega-80gb": 1024,
		"nvidia-h200-141gb":     1024,
		"nvidia-b200":           1024,
		"nvidia-rtx-pro-6000":   1024,
	} {
		if got, ok := DefaultMaxNumSeqs(accelerator); !ok || got != want {
			t.Errorf("%s: %d (known %t), want %d", accelerator, got, ok, want)
		}
	}
	if _, ok := DefaultMaxNumSeqs("nvidia-future-gpu"); ok {
		t.Error("an unknown accelerator has a default")
	}
}

func TestAccelerators(t *testing.T) {
	term := func(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: exprs}
	}
	in := func(values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: AcceleratorLabel, Operator: corev1.NodeSelectorOpIn, Values: values}
	}
	required := func(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	other := corev1.NodeSelectorRequirement{Key: "cloud.google.com/gke-spot", Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}}
	for name, tc := range map[string]struct {
		pod  corev1.PodSpec
		want []string
	}{
		"nodeSelector":             {corev1.PodSpec{NodeSelector: map[string]string{AcceleratorLabel: "nvidia-l4"}}, []string{"nvidia-l4"}},
		"nothing":                  {corev1.PodSpec{}, nil},
		"affinity":                 {corev1.PodSpec{Affinity: required(term(other, in("nvidia-h200-141gb", "nvidia-h100-80gb")))}, []string{"nvidia-h100-80gb", "nvidia-h200-141gb"}},
		"affinity, two terms":      {corev1.PodSpec{Affinity: required(term(in("nvidia-l4")), term(in("nvidia-h100-80gb")))}, []string{"nvidia-h100-80gb", "nvidia-l4"}},
		"a term without the label": {corev1.PodSpec{Affinity: required(term(in("nvidia-l4")), term(other))}, nil},
		"nodeSelector wins":        {corev1.PodSpec{NodeSelector: map[string]string{AcceleratorLabel: "nvidia-l4"}, Affinity: required(term(in("nvidia-h100-80gb")))}, []string{"nvidia-l4"}},
	} {
		if got := (&Workload{Pod: tc.pod}).Accelerators(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}
