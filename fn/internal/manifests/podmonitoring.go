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
			Selector:     metav1.LabelSelector{MatchLabels: c.Spec.PodSelector},
			Endpoints:    []gmp.ScrapeEndpoint{{Port: *sc.Port, Path: sc.Path, Interval: sc.Interval}},
			TargetLabels: &gmp.TargetLabels{Metadata: targetLabels},
		},
	}
}
