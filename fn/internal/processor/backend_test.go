package processor_test

import (
	"fmt"
	"strings"
	"testing"
)

// gkePackage is a ResourceList of n configs with backend gke and one with
// backend adapter, which does not count towards GKE's limit.
func gkePackage(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for i := 0; i <= n; i++ {
		backend := "gke"
		if i == n {
			backend = "adapter"
		}
		fmt.Fprintf(&b, `- apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata: {name: model-%02[1]d, namespace: serving}
  spec:
    strategy: vllm
    backend: %[2]s
    scaleTargetRef: {name: vllm-model-%02[1]d}
    maxReplicas: 4
    podSelector: {app: vllm-model-%02[1]d}
    scrape: {port: 8000}
`, i, backend)
	}
	return []byte(b.String())
}

// TestGKEMetricLimit: below GKE's preview limit of 20 metrics per cluster the
// package gets no warning; at and above it, one warning on the config whose
// metric reaches the limit, with the package's count. It never fails the run.
func TestGKEMetricLimit(t *testing.T) {
	for _, tc := range []struct {
		configs int
		want    string
	}{
		{19, ""},
		{20, "serving/model-19 spec.backend: spec.backend (gke): with this config the package reaches the 20 distinct metrics"},
		{23, "and its configs expose 23 in all"},
	} {
		_, stderr, code := run(gkePackage(tc.configs))
		if code != 0 {
			t.Fatalf("%d configs: exit %d: %s", tc.configs, code, stderr)
		}
		warnings := strings.Count(string(stderr), "[warning]")
		switch {
		case tc.want == "" && warnings != 0:
			t.Errorf("%d configs: unexpected warnings:\n%s", tc.configs, stderr)
		case tc.want != "" && (warnings != 1 || !strings.Contains(string(stderr), tc.want)):
			t.Errorf("%d configs: got\n%s\nwant one warning with %q", tc.configs, stderr, tc.want)
		}
	}
}

// TestGKEMetricLimitCountsEveryMetric: each metric of spec.metrics is a gauge
// of the AutoscalingMetric and counts towards GKE's limit: ten configs of two
// metrics each reach 20, where ten of one metric do not.
func TestGKEMetricLimitCountsEveryMetric(t *testing.T) {
	twoMetrics := strings.ReplaceAll(string(gkePackage(10)), "    scrape: {port: 8000}\n",
		"    scrape: {port: 8000}\n    metrics:\n    - {name: vllm:num_requests_running, targetAverageValue: 4}\n    - {name: vllm:kv_cache_usage_perc, targetAverageValue: 0.8}\n")
	_, stderr, code := run([]byte(twoMetrics))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "serving/model-09 spec.backend: spec.backend (gke): with this config the package reaches the 20 distinct metrics"; strings.Count(string(stderr), "[warning]") != 1 || !strings.Contains(string(stderr), want) {
		t.Errorf("got\n%s\nwant one warning with %q", stderr, want)
	}
}
