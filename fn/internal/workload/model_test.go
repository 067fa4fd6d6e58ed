package workload

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestServedModels(t *testing.T) {
	for _, tc := range []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"vllm serve", []string{"vllm"}, []string{"serve", "google/gemma-3-1b-it", "--port", "8000"}, []string{"google/gemma-3-1b-it"}},
		{"--model", []string{"python3", "-m", "vllm.entrypoints.openai.api_server"}, []string{"--model=meta-llama/Llama-3.1-8B-Instruct"}, []string{"meta-llama/Llama-3.1-8B-Instruct"}},
		{"served names win", nil, []string{"vllm serve google/gemma-3-1b-it --served-model-name gemma gemma-1b --port 8000"}, []string{"gemma", "gemma-1b"}},
		{"served name with =", []string{"vllm", "serve", "x"}, []string{"--served-model-name='gemma'"}, []string{"gemma"}},
		{"no model", []string{"vllm"}, []string{"serve", "--port", "8000"}, nil},
	} {
		w := &Workload{Pod: corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai", Command: tc.command, Args: tc.args}}}}
		if got := w.ServedModels(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
