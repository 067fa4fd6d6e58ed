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
		want []string // each error as field.Error writes it, in field order
	}{
		{"valid", `{}`, nil},
		{"fraction target", `{"metric": {"name": "vllm:kv_cache_usage_perc", "targetAverageValue": 0.8}}`, nil},
		{"fractional tolerance", `{"behavior": {"scaleUp": {"tolerance": 0.05}}}`, nil},
		{"named port", `{"scrape": {"port": "metrics"}}`, nil},
		{"strategy missing", `{"strategy": null}`, []string{
			"spec.strategy: Required value: add it (strategy is the signal to scale on: vllm (a vLLM server gauge, by default vllm:num_requests_running) or gpu (NVIDIA GPU utilisation, 0-100))"}},
		{"strategy unknown", `{"strategy": "cpu"}`, []string{
			`spec.strategy: Unsupported value: "cpu": supported values: "vllm", "gpu"`}},
		{"replicas out of bounds", `{"minReplicas": 0, "maxReplicas": -1}`, []string{
			"spec.maxReplicas: Invalid value: -1: must be at least 1 (maxReplicas is the most replicas the autoscaler may run)",
			"spec.minReplicas: Invalid value: 0: must be at least 1 (minReplicas is the fewest replicas the autoscaler may run, at least 1: the HorizontalPodAutoscaler cannot scale to zero on custom metrics)"}},
		{"empty target name", `{"scaleTargetRef": {"name": ""}}`, []string{
			`spec.scaleTargetRef.name: Required value: must not be empty; set it (name is the name of the workload to scale, e.g. the vLLM Deployment)`}},
		{"policy without period", `{"behavior": {"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}, {"type": "Percent", "value": 10}]}}}`, []string{
			"spec.behavior.scaleDown.policies[1].periodSeconds: Required value: add it (periodSeconds specifies the window of time for which the policy should hold true)"}},
		{"empty metrics", `{"metrics": []}`, []string{
			"spec.metrics: Required value: must not be empty; give at least one entry, or leave it out (metrics are several metrics to scale on, each a Pods metric of the HorizontalPodAutoscaler, which computes a replica count for each and scales to the largest: vllm:num_requests_running with vllm:kv_cache_usage_perc guards both latency and memory)"}},
		{"slo percentile", `{"slo": {"percentile": 95, "tpot": "15ms", "profileRef": "p"}}`, []string{
			`spec.slo.percentile: Unsupported value: 95: supported values: "50", "90", "99"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Validate(config(t, tc.spec)) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValidateMissingSpec(t *testing.T) {
	errs := Validate(map[string]any{"apiVersion": "vllmhpa.dev/v1alpha1", "kind": "VLLMHPAConfig", "metadata": map[string]any{"name": "gemma"}})
	if len(errs) != 1 || errs[0].Error() != "spec: Required value: add it (spec says what to scale, on which signal, and between which bounds)" {
		t.Errorf("got %+v", errs)
	}
}

// BenchmarkValidate is what each config pays.
func BenchmarkValidate(b *testing.B) {
	obj := config(b, `{"minReplicas": 1, "metric": {"targetAverageValue": 0.8}, "podSelector": {"app": "vllm-gemma"},
		"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}}`)
	for b.Loop() {
		if errs := Validate(obj); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// TestKeywords covers the messages of the keywords and types that the CRD's
// schema does not use today, on small schemas of their own.
func TestKeywords(t *testing.T) {
	s := &Schema{Type: "object", Properties: map[string]*Schema{
		"gpus":     {Type: "integer", Summary: "gpus is the GPUs per replica", Minimum: new(0.0), ExclusiveMinimum: true, Maximum: new(8.0)},
		"share":    {Type: "number", Maximum: new(1.0), ExclusiveMaximum: true},
		"zone":     {Type: "string", MinLength: new(int64(3)), MaxLength: new(int64(5))},
		"tags":     {Type: "array", Items: &Schema{Type: "string", Enum: []any{"a", "b"}}},
		"labels":   {Type: "object", AdditionalProperties: &Schema{Type: "boolean"}},
		"anything": {PreserveUnknownFields: true},
	}}
	for _, tc := range []struct {
		name  string
		value string
		want  []string
	}{
		{"valid", `{"gpus": 8, "share": 0.5, "zone": "eu-1", "tags": ["a"], "labels": {"x": true}, "anything": [1, {"a": null}]}`, nil},
		{"exclusive minimum", `{"gpus": 0}`, []string{"gpus: Invalid value: 0: must be above 0 (gpus is the GPUs per replica)"}},
		{"maximum", `{"gpus": 9}`, []string{"gpus: Invalid value: 9: must be at most 8 (gpus is the GPUs per replica)"}},
		{"exclusive maximum", `{"share": 1}`, []string{"share: Invalid value: 1: must be below 1"}},
		{"min length", `{"zone": "eu"}`, []string{`zone: Invalid value: "eu": must be at least 3 characters long`}},
		{"max length counts characters", `{"zone": "ééééé"}`, nil},
		{"max length", `{"zone": "europe"}`, []string{`zone: Too long: may not be more than 5 characters`}},
		{"list items", `{"tags": ["a", "c", 1]}`, []string{
			`tags[1]: Unsupported value: "c": supported values: "a", "b"`,
			"tags[2]: Invalid value: 1: has the wrong type: got a whole number, want a string"}},
		{"map values", `{"labels": {"x": "yes"}}`, []string{`labels.x: Invalid value: "yes": has the wrong type: got a string, want true or false`}},
		{"fraction for an integer", `{"gpus": 1.5}`, []string{"gpus: Invalid value: 1.5: has the wrong type: got a number, want a whole number"}},
		{"list for a mapping", `{"labels": []}`, []string{"labels: Invalid value: []: has the wrong type: got a list, want a mapping"}},
		{"null list item", `{"tags": [null]}`, []string{"tags[0]: Invalid value: null: has the wrong type: got null, want a string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v map[string]any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range s.Validate(v) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestFractionalIntOrString is the one place the function admits what the API
// server's validator refuses: a quantity written as a number with a fraction.
func TestFractionalIntOrString(t *testing.T) {
	if errs := Validate(config(t, `{"behavior": {"scaleUp": {"tolerance": 0.05}}}`)); len(errs) > 0 {
		t.Errorf("tolerance 0.05 refused: %v", errs)
	}
	errs := Validate(config(t, `{"behavior": {"scaleUp": {"tolerance": true}}}`))
	if len(errs) != 1 || errs[0].Error() != "spec.behavior.scaleUp.tolerance: Invalid value: true: has the wrong type: got a boolean, want a number or a string" {
		t.Errorf("got %v", errs)
	}
}
