package v1alpha1

import (
	"regexp"
	"strings"
	"sync"

	"k8s.io/utils/ptr"
)

// Backend names how the metric reaches the HorizontalPodAutoscaler.
// +kubebuilder:validation:Enum=adapter;gke
type Backend string

const (
	// BackendAdapter scrapes the pods with Google Managed Prometheus and serves the
	// series from Cloud Monitoring through the Custom Metrics Stackdriver Adapter.
	BackendAdapter Backend = "adapter"
	// BackendGKE declares the metric in an AutoscalingMetric, which GKE's managed
	// metrics adapter reads from the pods' endpoint itself
	// (cloud.google.com/kubernetes-engine/docs/how-to/expose-custom-metrics-autoscaling).
	BackendGKE Backend = "gke"
)

// DefaultBackend keeps the behaviour of the first release: it works on every GKE
// version, while backend gke needs 1.35.1-gke.1396000 or later.
const DefaultBackend = BackendAdapter

// WorkloadIdentity names the Google Cloud project whose Cloud Monitoring the
// adapter reads, to grant it access with Config Connector.
type WorkloadIdentity struct {
	// projectID is the ID of the cluster's Google Cloud project, e.g. my-project:
	// its Workload Identity pool is PROJECT_ID.svc.id.goog and its Cloud
	// Monitoring holds the Managed Prometheus series.
	// +required
	ProjectID string `json:"projectID"`

	// projectNumber is the number of the same project, e.g. "123456789012", as a
	// string (quote it in YAML): the Kubernetes service account's IAM principal
	// names the project by number.
	// +required
	ProjectNumber string `json:"projectNumber"`

	// namespace is where the IAMPolicyMember objects go: a namespace Config
	// Connector reconciles. Defaults to the project ID, the namespace-per-project
	// layout Config Connector's docs describe (a namespace annotated
	// cnrm.cloud.google.com/project-id).
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// defaultBackend fills the backend fields, after the rest of Default: the
// PodMonitoring's default depends on the backend.
func (c *VLLMHPAConfig) defaultBackend() {
	s := &c.Spec
	if s.Backend == "" {
		s.Backend = DefaultBackend
	}
	if s.Scrape.Monitoring == nil {
		s.Scrape.Monitoring = ptr.To(s.Backend == BackendAdapter)
	}
	if wi := s.Adapter.WorkloadIdentity; wi != nil && wi.Namespace == "" {
		wi.Namespace = wi.ProjectID
	}
}

// GKEMetricPrefix starts the name under which GKE's managed metrics adapter
// serves an AutoscalingMetric's metric to the HPA:
// autoscaling.gke.io|<AutoscalingMetric name>|<metric name>. The docs' HPA section
// is past what our stored copies of
// cloud.google.com/kubernetes-engine/docs/how-to/autoscale-using-metrics hold;
// the form is the one every published example uses (Google's launch post
// "Grow your own way: Introducing native support for custom metrics in GKE",
// 2026, and the GKE handbooks and demos that quote it).
const GKEMetricPrefix = "autoscaling.gke.io"

// GKEMetricName is the HPA's name for gauge of the AutoscalingMetric named
// autoscalingMetric.
func GKEMetricName(autoscalingMetric, gauge string) string {
	return GKEMetricPrefix + "|" + autoscalingMetric + "|" + gauge
}

var notGaugeChar = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })

// GKEGaugeName is the name an AutoscalingMetric gives a Prometheus gauge:
// lower-case, with '-' for every run of other characters
// (vllm:num_requests_running becomes vllm-num-requests-running). The docs require
// the name to match a regular expression that our stored copies cut off; the
// published examples use lower-case words joined by '-' (kv-cache,
// pubsub-a2a-undelivered), so the function writes a DNS-1123 label, the
// smallest form that fits both, and validates it as one.
func GKEGaugeName(prometheusName string) string {
	return strings.Trim(notGaugeChar().ReplaceAllString(strings.ToLower(prometheusName), "-"), "-")
}

// UsesAdapter reports whether the config's metric is served by the Custom
// Metrics Stackdriver Adapter, which then must run in the cluster.
func (c *VLLMHPAConfig) UsesAdapter() bool { return c.Spec.Backend != BackendGKE }
