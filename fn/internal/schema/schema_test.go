package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

// config is a valid VLLMHPAConfig whose spec is merged with specJSON (a null
// stays, as in YAML written `strategy:`).
func config(t testing.TB, specJSON string) map[string]any {
	t.Helper()
	spec := map[string]any{"strategy": "vllm", "scaleTargetRef": map[string]any{"name": "vllm-gemma"}, "maxReplicas": 5.0}
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"apiVersion": "vllmhpa.dev/v1alpha1", "kind": "VLLMHPAConfig", "metadata": map[string]any{"name": "gemma"}, "spec": spec}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want []string // "field: message", in field order
	}{
		{"valid", `{}`, nil},
		{"fraction target", `{"metric": {"name": "vllm:kv_cache_usage_perc", "targetAverageValue": 0.8}}`, nil},
		{"fractional tolerance", `{"behavior": {"scaleUp": {"tolerance": 0.05}}}`, nil},
		{"named port", `{"scrape": {"port": "metrics"}}`, nil},
		{"strategy missing", `{"strategy": null}`, []string{
			"spec.strategy: spec.strategy is required; add it (strategy is the signal to scale on: vllm (a vLLM server gauge, by default vllm:num_requests_running) or gpu (NVIDIA GPU utilisation, 0-100))"}},
		{"strategy unknown", `{"strategy": "cpu"}`, []string{
			`spec.strategy: spec.strategy ("cpu") is not allowed; use one of: vllm, gpu`}},
		{"replicas out of bounds", `{"minReplicas": 0, "maxReplicas": -1}`, []string{
			"spec.maxReplicas: spec.maxReplicas (-1) must be at least 1 (maxReplicas is the most replicas the autoscaler may run)",
			"spec.minReplicas: spec.minReplicas (0) must be at least 1 (minReplicas is the fewest replicas the autoscaler may run, at least 1: the HorizontalPodAutoscaler cannot scale to zero on custom metrics)"}},
		{"empty target name", `{"scaleTargetRef": {"name": ""}}`, []string{
			`spec.scaleTargetRef.name: spec.scaleTargetRef.name ("") must not be empty; set it (name is the name of the workload to scale, e.g. the vLLM Deployment)`}},
		{"policy without period", `{"behavior": {"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}, {"type": "Percent", "value": 10}]}}}`, []string{
			"spec.behavior.scaleDown.policies[1].periodSeconds: spec.behavior.scaleDown.policies[1].periodSeconds is required; add it (periodSeconds specifies the window of time for which the policy should hold true)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Validate(config(t, tc.spec)) {
				if !strings.HasPrefix(e.Message, e.Field+" ") {
					t.Errorf("message %q does not start with its field %s", e.Message, e.Field)
				}
				got = append(got, e.Field+": "+e.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValidateMissingSpec(t *testing.T) {
	errs := Validate(map[string]any{"apiVersion": "vllmhpa.dev/v1alpha1", "kind": "VLLMHPAConfig", "metadata": map[string]any{"name": "gemma"}})
	if len(errs) != 1 || errs[0].Field != "spec" || errs[0].Message != "spec is required; add it (spec says what to scale, on which signal, and between which bounds)" {
		t.Errorf("got %+v", errs)
	}
}

// BenchmarkParse is what the first config of a run pays: reading the schema out
// of the embedded CRD.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := parse(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is what each config pays once the schema is read.
func BenchmarkValidate(b *testing.B) {
	obj := config(b, `{"minReplicas": 1, "metric": {"targetAverageValue": 0.8}, "podSelector": {"app": "vllm-gemma"},
		"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}}`)
	for b.Loop() {
		if errs := Validate(obj); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
