package manifests

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
)

// targetLabels keeps pod among the scraped series' labels: the adapter attributes a
// series to a pod through metric.labels.pod. container is only filled for a named port.
var targetLabels = []string{"container", "pod", "top_level_controller_name", "top_level_controller_type"}

// BuildPodMonitoring returns the PodMonitoring that scrapes the vLLM pods. It lives in
// the workload's namespace because a PodMonitoring only sees pods in its own.
func BuildPodMonitoring(c *v1alpha1.VLLMHPAConfig) *gmp.PodMonitoring {
	sc := c.Spec.Scrape
	return &gmp.PodMonitoring{
		TypeMeta:   metav1.TypeMeta{APIVersion: gmp.APIVersion, Kind: "PodMonitoring"},
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace},
		Spec: gmp.PodMonitoringSpec{
			Selector: metav1.LabelSelector{MatchLabels: c.Spec.PodSelector},
			Endpoints: []gmp.ScrapeEndpoint{{
				Port: *sc.Port, Path: sc.Path, Interval: sc.Interval,
				MetricRelabeling: []gmp.RelabelingRule{markerRule(c)},
			}},
			TargetLabels: &gmp.TargetLabels{Metadata: targetLabels},
		},
	}
}

// markerRule labels every series of this scrape vllmhpa_config=<config name>. The
// adapter sums every series that maps to a pod, and an HPA selector sees only
// metric labels (metric.labels.*), not the job: another scrape of the same pods,
// such as the PodMonitoring GKE's automatic application monitoring deploys for
// each vLLM workload it detects
// (cloud.google.com/stackdriver/docs/managed-prometheus/exporters/vllm), would
// otherwise double the value. metricRelabeling may write any label but the
// protected target labels (project_id, location, cluster, namespace, job,
// instance, ...; GoogleCloudPlatform/prometheus-engine,
// charts/operator/crds/monitoring.googleapis.com_podmonitorings.yaml), so the
// marker reaches Cloud Monitoring as a metric label. A replace with no source
// labels always matches and writes the replacement.
func markerRule(c *v1alpha1.VLLMHPAConfig) gmp.RelabelingRule {
	return gmp.RelabelingRule{Action: "replace", TargetLabel: v1alpha1.MarkerLabel, Replacement: c.Name}
}
