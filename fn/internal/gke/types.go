// Package gke holds Go types for the GKE custom resource that vllm-hpa emits for
// backend gke: AutoscalingMetric (autoscaling.gke.io/v1beta1), which tells GKE's
// managed metrics adapter which pods' endpoint to read and which Prometheus
// gauges to serve to the HorizontalPodAutoscaler. Google publishes no schema for
// it; these structs hold the fields "Expose custom metrics for autoscaling"
// documents (cloud.google.com/kubernetes-engine/docs/how-to/expose-custom-metrics-autoscaling),
// with JSON tags spelled as its example spells them.
package gke

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion is the group/version of AutoscalingMetric.
const APIVersion = "autoscaling.gke.io/v1beta1"

// AutoscalingMetric exposes gauges of the pods it selects, in its own namespace,
// to the HorizontalPodAutoscaler.
type AutoscalingMetric struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              AutoscalingMetricSpec `json:"spec"`
}

// AutoscalingMetricSpec lists where the metrics come from.
type AutoscalingMetricSpec struct {
	Metrics []MetricSource `json:"metrics"`
}

// MetricSource is one source of metrics. The docs also show a PromQL source over
// Cloud Monitoring; the function emits only the pod source.
type MetricSource struct {
	Pod *PodMetricSource `json:"pod,omitempty"`
}

// PodMetricSource selects pods and the container endpoints to read.
type PodMetricSource struct {
	Selector   metav1.LabelSelector `json:"selector"`
	Containers []ContainerMetrics   `json:"containers"`
}

// ContainerMetrics is one HTTP endpoint of the selected pods and its gauges.
type ContainerMetrics struct {
	Endpoint Endpoint    `json:"endpoint"`
	Metrics  []PodMetric `json:"metrics"`
}

// Endpoint is where the metrics are served: the docs name the port by number
// ("METRIC_PORT: the port number") and the path defaults to /metrics.
type Endpoint struct {
	Port int32  `json:"port"`
	Path string `json:"path,omitempty"`
}

// PodMetric is one metric to expose; only gauges are supported.
type PodMetric struct {
	Gauge *Gauge `json:"gauge,omitempty"`
}

// Gauge maps a Prometheus gauge to the name the HPA asks for.
type Gauge struct {
	// Name is the metric's name in the HPA's autoscaling.gke.io|<object>|<name>.
	Name string `json:"name"`
	// PrometheusMetricName is the gauge's name on the endpoint.
	PrometheusMetricName string `json:"prometheusMetricName"`
}
