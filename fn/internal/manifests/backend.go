package manifests

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// The backend decides three things, kept here: the per-model objects that carry
// the metric to the HPA, the name the HPA asks for, and (manifests.go) whether
// the Stackdriver adapter stack is needed.

// BuildMetricSource returns the per-model objects that make a config's metric
// readable: for backend adapter, the PodMonitoring and, for a fraction, its
// per-pod Rules; for backend gke, the AutoscalingMetric, and the PodMonitoring
// only when spec.scrape.monitoring asks for it (dashboards). Strategy gpu's
// objects are cluster-wide (BuildDCGM).
func BuildMetricSource(c *v1alpha1.VLLMHPAConfig) []any {
	if c.Spec.Strategy != v1alpha1.StrategyVLLM {
		return nil
	}
	var objs []any
	if *c.Spec.Scrape.Monitoring {
		objs = append(objs, BuildPodMonitoring(c))
	}
	if c.UsesAdapter() {
		if rules := BuildPerPodRules(c); rules != nil {
			objs = append(objs, rules)
		}
		return objs
	}
	return append(objs, BuildAutoscalingMetric(c))
}

// MetricIdentifier is how the config's HPA asks for one of its metrics, m: the
// Stackdriver adapter's prometheus.googleapis.com|<series>|gauge with a
// selector on metric labels, or GKE's autoscaling.gke.io|<AutoscalingMetric>|<gauge>.
// It is the one place that depends on which adapter serves the metric.
func MetricIdentifier(c *v1alpha1.VLLMHPAConfig, m *v1alpha1.Metric) autoscalingv2.MetricIdentifier {
	if !c.UsesAdapter() {
		return gkeMetricIdentifier(c, m)
	}
	series, selector := ScaledSeries(c, m)
	return autoscalingv2.MetricIdentifier{Name: MetricName(series), Selector: selector}
}
