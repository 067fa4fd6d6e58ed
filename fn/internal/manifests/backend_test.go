package manifests_test

import (
	"reflect"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gke"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// withBackend returns a copy of a defaulted config, defaulted again for backend b.
func withBackend(c *v1alpha1.VLLMHPAConfig, b v1alpha1.Backend) *v1alpha1.VLLMHPAConfig {
	out := *c
	spec := c.Spec
	scrape := *c.Spec.Scrape
	scrape.Monitoring = nil
	spec.Scrape, spec.Backend = &scrape, b
	out.Spec = spec
	out.Default()
	return &out
}

// TestBackendsDifferOnlyInMetricSource: for the same config, the HPA of backend
// adapter and the HPA of backend gke are equal once their metric identifiers are
// set aside: target, bounds, behavior and scale target do not depend on how the
// metric reaches the HPA.
func TestBackendsDifferOnlyInMetricSource(t *testing.T) {
	up := int32(0)
	for _, c := range []*v1alpha1.VLLMHPAConfig{
		config(v1alpha1.StrategyVLLM, "", nil),
		config(v1alpha1.StrategyVLLM, "vllm:num_requests_waiting_by_reason", map[string]string{"reason": "capacity"}),
		config(v1alpha1.StrategyVLLM, "vllm:kv_cache_usage_perc", nil),
		func() *v1alpha1.VLLMHPAConfig {
			c := config(v1alpha1.StrategyVLLM, "vllm:num_requests_waiting", nil)
			c.Namespace, *c.Spec.MinReplicas, c.Spec.MaxReplicas = "serving", 2, 9
			c.Spec.ScaleTargetRef.Kind = "StatefulSet"
			c.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &up}
			return c
		}(),
	} {
		adapter := manifests.BuildHPA(withBackend(c, v1alpha1.BackendAdapter))
		managed := manifests.BuildHPA(withBackend(c, v1alpha1.BackendGKE))
		a, g := adapter.Spec.Metrics[0].Pods.Metric, managed.Spec.Metrics[0].Pods.Metric
		if !strings.HasPrefix(a.Name, "prometheus.googleapis.com|") || !strings.HasPrefix(g.Name, "autoscaling.gke.io|gemma|") {
			t.Errorf("%s: metric names %q and %q", c.Spec.Metric.Name, a.Name, g.Name)
		}
		adapter.Spec.Metrics[0].Pods.Metric = autoscalingv2.MetricIdentifier{}
		managed.Spec.Metrics[0].Pods.Metric = autoscalingv2.MetricIdentifier{}
		if !reflect.DeepEqual(adapter, managed) {
			t.Errorf("%s: the HPAs differ beyond the metric source:\nadapter %+v\ngke     %+v", c.Spec.Metric.Name, adapter, managed)
		}
	}
}

// TestGKEMetricSource: backend gke emits an AutoscalingMetric that reads the
// config's gauge from the selected pods' endpoint, no Rules even for a fraction,
// and a PodMonitoring only on request; the HPA names the AutoscalingMetric's gauge.
func TestGKEMetricSource(t *testing.T) {
	c := withBackend(config(v1alpha1.StrategyVLLM, "vllm:kv_cache_usage_perc", nil), v1alpha1.BackendGKE)
	port := intstr.FromInt32(8080)
	c.Spec.Scrape.Port, c.Spec.Scrape.Path = &port, "/v1/metrics"
	objs := manifests.BuildMetricSource(c)
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want the AutoscalingMetric alone: %+v", len(objs), objs)
	}
	am, ok := objs[0].(*gke.AutoscalingMetric)
	if !ok {
		t.Fatalf("got %T", objs[0])
	}
	pod := am.Spec.Metrics[0].Pod
	gauge := pod.Containers[0].Metrics[0].Gauge
	if am.Name != "gemma" || am.Namespace != "default" || pod.Selector.MatchLabels["app"] != "vllm-gemma" ||
		pod.Containers[0].Endpoint != (gke.Endpoint{Port: 8080, Path: "/v1/metrics"}) ||
		*gauge != (gke.Gauge{Name: "vllm-kv-cache-usage-perc", PrometheusMetricName: "vllm:kv_cache_usage_perc"}) {
		t.Errorf("AutoscalingMetric %+v", am)
	}
	if got := manifests.MetricIdentifier(c, c.Spec.Metric).Name; got != "autoscaling.gke.io|gemma|"+gauge.Name {
		t.Errorf("HPA metric %q does not name the gauge %q of AutoscalingMetric %s", got, gauge.Name, am.Name)
	}
	*c.Spec.Scrape.Monitoring = true
	objs = manifests.BuildMetricSource(c)
	if len(objs) != 2 {
		t.Fatalf("with monitoring: got %d objects", len(objs))
	}
	if _, ok := objs[0].(*gmp.PodMonitoring); !ok {
		t.Errorf("with monitoring: first object is %T, want a PodMonitoring", objs[0])
	}
}

// TestAdapterStackOnlyForAdapterConfigs: a package of gke configs emits no
// cluster-wide object; with an adapter config beside them, the stack is emitted
// and owned by the adapter config alone.
func TestAdapterStackOnlyForAdapterConfigs(t *testing.T) {
	managed := withBackend(config(v1alpha1.StrategyVLLM, "", nil), v1alpha1.BackendGKE)
	for _, o := range manifests.Build([]*v1alpha1.VLLMHPAConfig{managed}) {
		if o.File != "vllmhpa-gemma.yaml" {
			t.Errorf("gke package emits %T in %s", o.Value, o.File)
		}
	}
	adapter := config(v1alpha1.StrategyVLLM, "", nil)
	adapter.Name = "llama"
	var stack int
	for _, o := range manifests.Build([]*v1alpha1.VLLMHPAConfig{managed, adapter}) {
		if o.File == manifests.AdapterFile {
			stack++
			if !reflect.DeepEqual(o.Owners, []string{"default/llama"}) {
				t.Errorf("%T owned by %v, want the adapter config alone", o.Value, o.Owners)
			}
		}
	}
	if stack == 0 {
		t.Error("no adapter stack for the adapter config")
	}
}

// TestSeveralMetricsOnBothBackends: spec.metrics gives the HPA one Pods metric
// per entry on either backend. On backend gke the AutoscalingMetric holds one
// gauge per metric read (two entries of one metric share it) and each HPA
// metric names its gauge with the entry's labels; on backend adapter each
// names its series, with a per-pod Rules for the fraction.
func TestSeveralMetricsOnBothBackends(t *testing.T) {
	four, eight, frac := v1alpha1.Quantity("4"), v1alpha1.Quantity("8"), v1alpha1.Quantity("0.8")
	base := config(v1alpha1.StrategyVLLM, "", nil)
	base.Spec.Metric = nil
	base.Spec.Metrics = []v1alpha1.MetricEntry{
		{Metric: v1alpha1.Metric{Name: "vllm:num_requests_running", TargetAverageValue: &four}},
		{Metric: v1alpha1.Metric{Name: "vllm:kv_cache_usage_perc", TargetAverageValue: &frac}},
		{Metric: v1alpha1.Metric{Name: "vllm:num_requests_running", TargetAverageValue: &eight, Labels: map[string]string{"model_name": "lora"}}},
	}
	adapter := withBackend(base, v1alpha1.BackendAdapter)
	managed := withBackend(base, v1alpha1.BackendGKE)
	for _, tc := range []struct {
		c     *v1alpha1.VLLMHPAConfig
		names []string
	}{
		{adapter, []string{
			"prometheus.googleapis.com|vllm:num_requests_running|gauge",
			"prometheus.googleapis.com|pod:vllm:kv_cache_usage_perc:avg|gauge",
			"prometheus.googleapis.com|vllm:num_requests_running|gauge"}},
		{managed, []string{
			"autoscaling.gke.io|gemma|vllm-num-requests-running",
			"autoscaling.gke.io|gemma|vllm-kv-cache-usage-perc",
			"autoscaling.gke.io|gemma|vllm-num-requests-running"}},
	} {
		hpa := manifests.BuildHPA(tc.c)
		if len(hpa.Spec.Metrics) != len(tc.names) {
			t.Fatalf("backend %s: %d HPA metrics, want %d", tc.c.Spec.Backend, len(hpa.Spec.Metrics), len(tc.names))
		}
		for i, want := range tc.names {
			m := hpa.Spec.Metrics[i].Pods
			if m.Metric.Name != want || m.Target.AverageValue.Cmp(resource.MustParse(string(*base.Spec.Metrics[i].TargetAverageValue))) != 0 {
				t.Errorf("backend %s: metric %d is %q at %s, want %q at %s", tc.c.Spec.Backend, i, m.Metric.Name, m.Target.AverageValue, want, *base.Spec.Metrics[i].TargetAverageValue)
			}
		}
		if sel := hpa.Spec.Metrics[2].Pods.Metric.Selector; sel == nil || !strings.HasSuffix(labelValue(sel.MatchLabels, "model_name"), "lora") {
			t.Errorf("backend %s: the third metric's selector %v does not select model_name lora", tc.c.Spec.Backend, sel)
		}
	}
	gauges := manifests.GKEGauges(managed)
	if len(gauges) != 2 || gauges[0].PrometheusMetricName != "vllm:num_requests_running" || gauges[1].PrometheusMetricName != "vllm:kv_cache_usage_perc" {
		t.Errorf("gauges %+v, want one for each metric read", gauges)
	}
	var rules *gmp.Rules
	for _, o := range manifests.BuildMetricSource(adapter) {
		if r, ok := o.(*gmp.Rules); ok {
			rules = r
		}
	}
	if rules == nil {
		t.Error("backend adapter: no per-pod Rules for vllm:kv_cache_usage_perc")
	}
}

// labelValue returns the value of a selector key that ends with name.
func labelValue(labels map[string]string, name string) string {
	for k, v := range labels {
		if strings.HasSuffix(k, name) {
			return v
		}
	}
	return ""
}
