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

// GKE's own scrape of its managed DCGM exporter: with DCGM metrics enabled, GKE
// deploys a ClusterPodMonitoring to send them to Managed Service for Prometheus
// (cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics); on clusters it is
// named gke-managed-dcgm-exporter and scrapes the exporter's metrics port every 30
// seconds (kubectl get clusterpodmonitoring gke-managed-dcgm-exporter -o yaml), so
// its series carry job="gke-managed-dcgm-exporter".
const (
	GKEManagedDCGMJob      = "gke-managed-dcgm-exporter"
	gkeManagedDCGMInterval = "30s"
	gkeManagedNamespace    = "gke-managed-system"
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

// GKEManagedGPUUtilExpr is GPUUtilExpr for GKE's own scrape, whose target labels
// the function does not set, so it takes the workload's identity from wherever
// that scrape leaves it: in exported_namespace and exported_pod when the scrape
// sets the exporter pod's namespace and pod (GMP's default target labels), or in
// namespace and pod themselves when it keeps the exporter's. A GPU no pod uses
// has neither and is left out either way.
func GKEManagedGPUUtilExpr() string {
	sel := fmt.Sprintf("%s{job=%q", dcgmSeries, GKEManagedDCGMJob)
	return fmt.Sprintf(`avg by (namespace, pod) (label_replace(label_replace(%s, exported_namespace!=""}, "namespace", "$1", "exported_namespace", "(.+)"), "pod", "$1", "exported_pod", "(.+)") or %s, exported_namespace="", namespace!=%q, pod!=""})`,
		sel, sel, gkeManagedNamespace)
}

// BuildDCGM returns the recording rule that turns GKE's DCGM exporter into a
// per-pod GPU utilisation and, for source own, the cluster-wide scrape it reads.
// With source gke-managed the rule reads GKE's scrape instead, evaluated at that
// scrape's interval, and no series is ingested twice.
func BuildDCGM(source v1alpha1.GPUSource) []any {
	if source == v1alpha1.GPUSourceGKEManaged {
		return []any{dcgmRules(GKEManagedGPUUtilExpr(), gkeManagedDCGMInterval)}
	}
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
	return []any{monitoring, dcgmRules(GPUUtilExpr(DCGMMonitoringName), v1alpha1.DefaultScrapeInterval)}
}

// dcgmRules records expr as the per-pod GPU utilisation every interval.
// ClusterRules, not Rules: GMP adds namespace="<the Rules' namespace>" to every
// selector of a namespaced Rules, so one in the workload's namespace could never
// see series scraped in gke-managed-system and would record nothing.
func dcgmRules(expr, interval string) *gmp.ClusterRules {
	return &gmp.ClusterRules{
		TypeMeta:   metav1.TypeMeta{APIVersion: gmp.APIVersion, Kind: "ClusterRules"},
		ObjectMeta: metav1.ObjectMeta{Name: DCGMRulesName},
		Spec: gmp.RulesSpec{Groups: []gmp.RuleGroup{{
			Name:     "vllmhpa-gpu-util",
			Interval: interval,
			Rules:    []gmp.Rule{{Record: v1alpha1.GPUMetric, Expr: expr}},
		}}},
	}
}
