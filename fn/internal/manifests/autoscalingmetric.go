package manifests

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gke"
)

// BuildAutoscalingMetric returns the AutoscalingMetric that exposes the config's
// gauge to the HPA through GKE's managed metrics adapter, which reads the pods'
// endpoint itself: no scrape into Cloud Monitoring, no adapter, no IAM
// (cloud.google.com/kubernetes-engine/docs/how-to/expose-custom-metrics-autoscaling).
// It lives in the workload's namespace ("NAMESPACE: the namespace that the Pods
// are in") and selects the vLLM pods by spec.podSelector; the endpoint is
// spec.scrape's port, by number, and path. Configs must be valid: the port is a
// number by then.
func BuildAutoscalingMetric(c *v1alpha1.VLLMHPAConfig) *gke.AutoscalingMetric {
	sc := c.Spec.Scrape
	var gauges []gke.PodMetric
	for _, g := range GKEGauges(c) {
		gauges = append(gauges, gke.PodMetric{Gauge: &g})
	}
	return &gke.AutoscalingMetric{
		TypeMeta:   metav1.TypeMeta{APIVersion: gke.APIVersion, Kind: "AutoscalingMetric"},
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace},
		Spec: gke.AutoscalingMetricSpec{Metrics: []gke.MetricSource{{Pod: &gke.PodMetricSource{
			Selector: metav1.LabelSelector{MatchLabels: c.Spec.PodSelector},
			Containers: []gke.ContainerMetrics{{
				Endpoint: gke.Endpoint{Port: sc.Port.IntVal, Path: sc.Path},
				Metrics:  gauges,
			}},
		}}}},
	}
}

// GKEGauges lists the gauges a config's AutoscalingMetric exposes, one for each
// metric the config scales on (entries of spec.metrics that read one metric
// with different labels share its gauge), each named for the HPA
// (v1alpha1.GKEGaugeName) and read by its Prometheus name. GKE counts them
// towards its per-cluster limit.
func GKEGauges(c *v1alpha1.VLLMHPAConfig) []gke.Gauge {
	var gauges []gke.Gauge
	seen := map[string]bool{}
	for _, m := range c.ScaledMetrics() {
		if seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		gauges = append(gauges, gke.Gauge{Name: v1alpha1.GKEGaugeName(m.Name), PrometheusMetricName: m.Name})
	}
	return gauges
}

// gkeMetricIdentifier is the HPA's metric m for backend gke: its gauge in the
// AutoscalingMetric, autoscaling.gke.io|<config name>|<gauge name>. The gauge is read from the
// pod's own endpoint, so no marker of a scrape is needed to tell it from another
// scrape's copy. The metric's labels become a selector on the gauge's labels,
// with plain Prometheus label names as keys: the docs' rule for "filtering based
// on metrics labels" (keys matching ^[a-zA-Z_][a-zA-Z0-9_]*) is a rule on
// Kubernetes label selector keys, and no AutoscalingMetric field for a filter is
// documented.
func gkeMetricIdentifier(c *v1alpha1.VLLMHPAConfig, m *v1alpha1.Metric) autoscalingv2.MetricIdentifier {
	id := autoscalingv2.MetricIdentifier{Name: v1alpha1.GKEMetricName(c.Name, v1alpha1.GKEGaugeName(m.Name))}
	if labels := m.Labels; len(labels) > 0 {
		id.Selector = &metav1.LabelSelector{MatchLabels: labels}
	}
	return id
}
