package whatif

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/internal/loadgen"
)

func lat(p50, p90, p99 time.Duration) *v1alpha1.LatencyPercentiles {
	return &v1alpha1.LatencyPercentiles{P50: metav1.Duration{Duration: p50}, P90: metav1.Duration{Duration: p90}, P99: metav1.Duration{Duration: p99}}
}

// writtenProfile is a profile as vllm-loadgen profile writes it: the shared
// API type through loadgen's own YAML writer, with the fields the simulator
// does not use (requests, errors, the local-config annotation) filled in.
func writtenProfile(t *testing.T) []byte {
	t.Helper()
	p := &v1alpha1.VLLMServerProfile{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.ProfileKind},
		ObjectMeta: metav1.ObjectMeta{Name: "gemma-3-1b-it-cpu",
			Annotations: map[string]string{"config.kubernetes.io/local-config": "true"}},
		Spec: v1alpha1.VLLMServerProfileSpec{
			Model: "google/gemma-3-1b-it", Accelerator: "cpu",
			Workload: v1alpha1.ProfileWorkload{PromptTokens: 64, MaxTokens: 8},
			Points: []v1alpha1.ProfilePoint{
				{Concurrency: 4, Requests: 90, RequestsPerSecond: "9.1", OutputTokensPerSecond: "72.8",
					TTFT:   lat(30*time.Millisecond, 40*time.Millisecond, 55*time.Millisecond),
					TPOT:   lat(6*time.Millisecond, 7*time.Millisecond, 8*time.Millisecond),
					Gauges: map[string]v1alpha1.Decimal{GaugeRunning: "3.9", GaugeWaiting: "0", GaugeKVCache: "0.06"}},
				{Concurrency: 1, Requests: 40, Errors: 1, RequestsPerSecond: "4", OutputTokensPerSecond: "32",
					TTFT:   lat(20*time.Millisecond, 25*time.Millisecond, 30*time.Millisecond),
					TPOT:   lat(3*time.Millisecond, 3500*time.Microsecond, 4*time.Millisecond),
					Gauges: map[string]v1alpha1.Decimal{GaugeRunning: "1", GaugeKVCache: "0.015"}},
			},
		},
	}
	y, err := loadgen.MarshalProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// A profile written by vllm-loadgen's writer loads, every figure intact, its
// points ordered by running batch.
func TestProfileWrittenByLoadgenLoads(t *testing.T) {
	p, err := ParseProfile(writtenProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "gemma-3-1b-it-cpu" || p.Model != "google/gemma-3-1b-it" || p.Accelerator != "cpu" ||
		p.PromptTokens != 64 || p.MaxTokens != 8 || len(p.Points) != 2 {
		t.Fatalf("profile %+v", p)
	}
	one, four := p.Points[0], p.Points[1]
	if one.Concurrency != 1 || one.RequestsPerSecond != 4 || one.OutputTokensPerSecond != 32 ||
		one.TTFT != (Percentiles{0.02, 0.025, 0.03}) || one.TPOT != (Percentiles{0.003, 0.0035, 0.004}) ||
		one.Gauges[GaugeKVCache] != 0.015 || one.waiting() != 0 {
		t.Errorf("point at 1 client %+v", one)
	}
	if four.Concurrency != 4 || four.RequestsPerSecond != 9.1 || four.running() != 3.9 || four.Gauges[GaugeKVCache] != 0.06 {
		t.Errorf("point at 4 clients %+v", four)
	}
}

// The bundled example profile loads.
func TestBundledProfileLoads(t *testing.T) {
	p := loadProfile(t)
	if p.Name != "gemma-3-1b-l4" || len(p.Points) != 7 || p.Points[6].Concurrency != 64 || p.Points[6].TTFT.P99 != 0.118 {
		t.Errorf("bundled profile %+v", p)
	}
}

// Each bad profile is refused with the field path, the value and the fix.
func TestProfileErrors(t *testing.T) {
	good := string(writtenProfile(t))
	cases := []struct {
		name, old, new string
		wants          []string
	}{
		{"unknown field", "  model:", "  modle: x\n  model:", []string{"not a VLLMServerProfile", "modle"}},
		{"wrong kind", "kind: VLLMServerProfile", "kind: VLLMHPAConfig", []string{`kind is "VLLMHPAConfig"`, "kind: VLLMServerProfile"}},
		{"wrong apiVersion", "apiVersion: vllmhpa.dev/v1alpha1", "apiVersion: vllmhpa.dev/v1", []string{`"vllmhpa.dev/v1"`, "vllmhpa.dev/v1alpha1"}},
		{"bad duration", "p50: 30ms", "p50: soon", []string{"spec.points[0].ttft.p50", `"soon"`, "write it like 80ms"}},
		{"latency out of order", "p50: 30ms", "p50: 60ms", []string{"spec.points[0].ttft", "p50 (0.06s) <= p90"}},
		{"no latency", "      ttft:\n        p50: 30ms\n        p90: 40ms\n        p99: 55ms\n", "", []string{"spec.points[0].ttft is missing", "measure the level again"}},
		{"negative gauge", "vllm:kv_cache_usage_perc: 0.06", "vllm:kv_cache_usage_perc: -0.06", []string{`spec.points[0].gauges["vllm:kv_cache_usage_perc"]`, "-0.06", "0 or more"}},
		{"not a number", "requestsPerSecond: 9.1", "requestsPerSecond: many", []string{"not a VLLMServerProfile", "many"}},
		{"zero prompt", "promptTokens: 64", "promptTokens: 0", []string{"spec.workload.promptTokens (0)", "above 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(good, c.old, c.new, 1)
			if bad == good {
				t.Fatalf("%q is not in the written profile:\n%s", c.old, good)
			}
			_, err := ParseProfile([]byte(bad))
			if err == nil {
				t.Fatalf("no error for\n%s", bad)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
