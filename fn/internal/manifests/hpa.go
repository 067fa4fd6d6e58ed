package manifests

import (
	"maps"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// MetricName is the name under which the Custom Metrics Stackdriver Adapter serves
// a Google Managed Prometheus gauge to the HPA.
func MetricName(prometheusName string) string {
	return "prometheus.googleapis.com|" + prometheusName + "|gauge"
}

// BuildHPA returns the autoscaling/v2 HorizontalPodAutoscaler that holds each of
// the config's metrics at its per-pod target.
func BuildHPA(c *v1alpha1.VLLMHPAConfig) *autoscalingv2.HorizontalPodAutoscaler {
	s := c.Spec
	ref := s.ScaleTargetRef
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name},
			MinReplicas:    s.MinReplicas,
			MaxReplicas:    s.MaxReplicas,
			Metrics:        podsMetrics(c),
			Behavior:       s.Behavior,
		},
	}
}

// podsMetrics returns a Pods metric for each of the config's metrics, in their
// order. With several, the HorizontalPodAutoscaler computes a replica count for
// each and scales to the largest
// (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale, "Scaling on multiple metrics").
func podsMetrics(c *v1alpha1.VLLMHPAConfig) []autoscalingv2.MetricSpec {
	var out []autoscalingv2.MetricSpec
	for _, m := range c.ScaledMetrics() {
		out = append(out, autoscalingv2.MetricSpec{
			Type: autoscalingv2.PodsMetricSourceType,
			Pods: &autoscalingv2.PodsMetricSource{
				Metric: MetricIdentifier(c, m.Metric),
				Target: autoscalingv2.MetricTarget{
					Type:         autoscalingv2.AverageValueMetricType,
					AverageValue: ptr.To(resource.MustParse(string(*m.TargetAverageValue))),
				},
			},
		})
	}
	return out
}

// ScaledSeries returns the Prometheus series the HPA reads for one of a config's
// metrics and its selector on metric labels. For strategy vllm the selector holds
// the marker of the config's own scrape and the metric's labels, each as
// metric.labels.<name>, the only form the adapter accepts for a Pods metric; a
// fraction is read from its per-pod recording rule. Strategy gpu reads the
// recorded GPU utilisation, which no other scrape or rule writes.
func ScaledSeries(c *v1alpha1.VLLMHPAConfig, m *v1alpha1.Metric) (string, *metav1.LabelSelector) {
	if c.Spec.Strategy == v1alpha1.StrategyGPU {
		return m.Name, nil
	}
	match := map[string]string{v1alpha1.MetricLabelPrefix + v1alpha1.MarkerLabel: c.Name}
	for k, v := range maps.All(m.Labels) {
		match[v1alpha1.MetricLabelPrefix+k] = v
	}
	series := m.Name
	if IsFraction(m.Name) {
		series = PerPodRecord(m.Name)
	}
	return series, &metav1.LabelSelector{MatchLabels: match}
}
