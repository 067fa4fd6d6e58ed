package manifests_test

import (
	"maps"
	"reflect"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

func config(strategy v1alpha1.Strategy, metric string, labels map[string]string) *v1alpha1.VLLMHPAConfig {
	c := &v1alpha1.VLLMHPAConfig{Spec: v1alpha1.VLLMHPAConfigSpec{
		Strategy: strategy, ScaleTargetRef: v1alpha1.ScaleTargetRef{Name: "vllm-gemma"}, MaxReplicas: 3,
		PodSelector: map[string]string{"app": "vllm-gemma"}, Metric: &v1alpha1.Metric{Name: metric, Labels: labels},
	}}
	c.Name = "gemma"
	c.Default()
	return c
}

// TestHPAReadsOnlyItsOwnScrape: the HPA selects the marker its PodMonitoring
// writes on every series, plus spec.metric.labels, all as metric.labels.<name>;
// a fraction is read from its per-pod mean.
func TestHPAReadsOnlyItsOwnScrape(t *testing.T) {
	for _, tc := range []struct {
		c          *v1alpha1.VLLMHPAConfig
		wantSeries string
		wantLabels map[string]string
		wantRules  string
	}{
		{config(v1alpha1.StrategyVLLM, "vllm:num_requests_running", nil), "vllm:num_requests_running",
			map[string]string{"metric.labels.vllmhpa_config": "gemma"}, ""},
		{config(v1alpha1.StrategyVLLM, "vllm:num_requests_waiting_by_reason", map[string]string{"reason": "capacity"}), "vllm:num_requests_waiting_by_reason",
			map[string]string{"metric.labels.vllmhpa_config": "gemma", "metric.labels.reason": "capacity"}, ""},
		{config(v1alpha1.StrategyVLLM, "vllm:kv_cache_usage_perc", map[string]string{"model_name": "gemma"}), "pod:vllm:kv_cache_usage_perc:avg",
			map[string]string{"metric.labels.vllmhpa_config": "gemma", "metric.labels.model_name": "gemma"},
			`avg by (namespace, pod, vllmhpa_config, model_name) (vllm:kv_cache_usage_perc{vllmhpa_config="gemma", model_name="gemma"})`},
		{config(v1alpha1.StrategyGPU, "", nil), "dcgm_fi_dev_gpu_util", nil, ""},
	} {
		hpa := manifests.BuildHPA(tc.c)
		m := hpa.Spec.Metrics[0].Pods.Metric
		if want := manifests.MetricName(tc.wantSeries); m.Name != want {
			t.Errorf("%s: HPA metric %q, want %q", tc.c.Spec.Metric.Name, m.Name, want)
		}
		var got map[string]string
		if m.Selector != nil {
			got = m.Selector.MatchLabels
		}
		if !maps.Equal(got, tc.wantLabels) {
			t.Errorf("%s: HPA selector %v, want %v", tc.c.Spec.Metric.Name, got, tc.wantLabels)
		}
		rules := manifests.BuildPerPodRules(tc.c)
		switch {
		case tc.wantRules == "" && rules != nil:
			t.Errorf("%s: a Rules is generated for a metric the adapter can sum", tc.c.Spec.Metric.Name)
		case tc.wantRules != "" && (rules == nil || rules.Spec.Groups[0].Rules[0].Expr != tc.wantRules || rules.Namespace != "default"):
			t.Errorf("%s: Rules %+v, want a Rules in default with %s", tc.c.Spec.Metric.Name, rules, tc.wantRules)
		}
		if tc.c.Spec.Strategy == v1alpha1.StrategyVLLM {
			pm := manifests.BuildPodMonitoring(tc.c)
			want := gmp.RelabelingRule{Action: "replace", TargetLabel: "vllmhpa_config", Replacement: "gemma"}
			if r := pm.Spec.Endpoints[0].MetricRelabeling; len(r) != 1 || !reflect.DeepEqual(r[0], want) {
				t.Errorf("PodMonitoring metricRelabeling %+v, want the marker %+v", r, want)
			}
		}
	}
}

// TestGPUSource: own scrapes GKE's exporter itself every 15 s; gke-managed adds no
// scrape and reads GKE's job, at its 30 s interval.
func TestGPUSource(t *testing.T) {
	own := manifests.BuildDCGM(v1alpha1.GPUSourceOwn)
	if len(own) != 2 {
		t.Fatalf("source own: %d objects, want a ClusterPodMonitoring and a ClusterRules", len(own))
	}
	if _, ok := own[0].(*gmp.ClusterPodMonitoring); !ok {
		t.Errorf("source own: %T, want a ClusterPodMonitoring", own[0])
	}
	if g := own[1].(*gmp.ClusterRules).Spec.Groups[0]; g.Interval != "15s" || g.Rules[0].Expr != manifests.GPUUtilExpr(manifests.DCGMMonitoringName) {
		t.Errorf("source own: rule group %+v", g)
	}
	managed := manifests.BuildDCGM(v1alpha1.GPUSourceGKEManaged)
	if len(managed) != 1 {
		t.Fatalf("source gke-managed: %d objects, want only the ClusterRules", len(managed))
	}
	g := managed[0].(*gmp.ClusterRules).Spec.Groups[0]
	if g.Interval != "30s" || g.Rules[0].Record != v1alpha1.GPUMetric || g.Rules[0].Expr != manifests.GKEManagedGPUUtilExpr() {
		t.Errorf("source gke-managed: rule group %+v", g)
	}
}
