package manifests

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
)

// GKE's managed DCGM exporter, as GKE deploys it in namespace gke-managed-system.
const (
	dcgmAppLabel = "gke-managed-dcgm-exporter"
	dcgmPort     = "metrics"
	dcgmSeries   = "DCGM_FI_DEV_GPU_UTIL"
)

// Names of the cluster-wide GPU objects; the ClusterPodMonitoring's name is the
// job label of the series it scrapes.
const (
	DCGMMonitoringName = "vllmhpa-dcgm-exporter"
	DCGMRulesName      = "vllmhpa-dcgm-gpu-util"
	DCGMFile           = "vllmhpa-dcgm.yaml"
)

// GPUUtilExpr re-attributes DCGM_FI_DEV_GPU_UTIL to the pod that uses the GPU.
// The exporter is scraped from its own pod, so the workload's identity arrives in
// exported_pod/exported_namespace; the rule moves it back onto pod/namespace, where
// the adapter looks for it, and averages per pod because the adapter sums every
// series of a pod (a pod with 2 GPUs would otherwise report twice its utilisation).
func GPUUtilExpr(job string) string {
	return fmt.Sprintf(`avg by (namespace, pod) (label_replace(label_replace(%s{job=%q, exported_pod!=""}, "namespace", "$1", "exported_namespace", "(.+)"), "pod", "$1", "exported_pod", "(.+)"))`,
		dcgmSeries, job)
}

// BuildDCGM returns the cluster-wide scrape of GKE's DCGM exporter and the
// recording rule that turns it into a per-pod GPU utilisation.
func BuildDCGM() []any {
	monitoring := &gmp.ClusterPodMonitoring{
		TypeMeta:   metav1.TypeMeta{APIVersion: gmp.APIVersion, Kind: "ClusterPodMonitoring"},
		ObjectMeta: metav1.ObjectMeta{Name: DCGMMonitoringName},
		Spec: gmp.ClusterPodMonitoringSpec{
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": dcgmAppLabel}},
			Endpoints: []gmp.ScrapeEndpoint{{
				Port:     intstr.FromString(dcgmPort),
				Interval: v1alpha1.DefaultScrapeInterval,
				// Only the one series the rule reads: the exporter emits dozens per GPU.
				MetricRelabeling: []gmp.RelabelingRule{{SourceLabels: []string{"__name__"}, Regex: dcgmSeries, Action: "keep"}},
			}},
		},
	}
	// ClusterRules, not Rules: GMP adds namespace="<the Rules' namespace>" to every
	// selector of a namespaced Rules, so one in the workload's namespace could never
	// see series scraped in gke-managed-system and would record nothing.
	rules := &gmp.ClusterRules{
		TypeMeta:   metav1.TypeMeta{APIVersion: gmp.APIVersion, Kind: "ClusterRules"},
		ObjectMeta: metav1.ObjectMeta{Name: DCGMRulesName},
		Spec: gmp.RulesSpec{Groups: []gmp.RuleGroup{{
			Name:     "vllmhpa-gpu-util",
			Interval: v1alpha1.DefaultScrapeInterval,
			Rules:    []gmp.Rule{{Record: v1alpha1.GPUMetric, Expr: GPUUtilExpr(DCGMMonitoringName)}},
		}}},
	}
	return []any{monitoring, rules}
}
