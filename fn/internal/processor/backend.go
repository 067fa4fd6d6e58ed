package processor

import (
	"fmt"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// resolvePortNumber turns a named scrape port into its number for backend gke:
// an AutoscalingMetric's endpoint takes the port number, which the workload's
// container ports give.
func resolvePortNumber(p *prepared) fn.Results {
	c, w := p.config, p.workload
	port := c.Spec.Scrape.Port
	if c.Spec.Backend != v1alpha1.BackendGKE || port.Type != intstr.String {
		return nil
	}
	for _, ctr := range w.Pod.Containers {
		for _, cp := range ctr.Ports {
			if cp.Name != port.StrVal {
				continue
			}
			number := intstr.FromInt32(cp.ContainerPort)
			c.Spec.Scrape.Port = &number
			return fn.Results{p.src.Note(fn.Info, scrapePortPath, number.String(), fmt.Sprintf(
				"%s is port %d of container %s in %s; the AutoscalingMetric names it by number",
				port.StrVal, cp.ContainerPort, ctr.Name, w.Describe()))}
		}
	}
	return nil
}

// scrapeObject names, for messages, the object that reads the vLLM pods.
func scrapeObject(c *v1alpha1.VLLMHPAConfig) string {
	if c.UsesAdapter() {
		return "the PodMonitoring"
	}
	return "the AutoscalingMetric"
}

// backendWarnings reports what only some GKE versions refuse.
func backendWarnings(p *prepared) fn.Results {
	return p.src.Results(fn.Warning, p.config.BackendWarnings())
}

// checkGKEMetricCount warns when the configs of the package alone expose as many
// metrics through GKE's managed adapter as its preview serves in a cluster (20):
// other packages' AutoscalingMetrics share the limit, and a metric beyond it is
// not served, which leaves its HPA without a value. The warning names the config
// whose metric reaches the limit.
func checkGKEMetricCount(p *plan) fn.Results {
	var exposing []*prepared // one entry per metric
	for _, pc := range p.prepared {
		c := pc.config
		if c.Spec.Backend != v1alpha1.BackendGKE || c.Spec.Strategy != v1alpha1.StrategyVLLM {
			continue
		}
		for range manifests.GKEGauges(c) {
			exposing = append(exposing, pc)
		}
	}
	limit := v1alpha1.GKEPreviewMetricLimit
	if len(exposing) < limit {
		return nil
	}
	pc := exposing[limit-1]
	return fn.Results{pc.src.Note(fn.Warning, backendPath, string(pc.config.Spec.Backend), fmt.Sprintf(
		"(gke): with this config the package reaches the %d distinct metrics GKE's managed adapter serves per cluster in its preview (%s to %s; from %s the limit is 50 per node), and its configs expose %d in all; "+
			"a metric beyond the limit, from this package or another, leaves its HPA without a value; move some configs to spec.backend: adapter, or run GKE %s or later",
		limit, v1alpha1.GKEPreviewVersion, v1alpha1.GKEGAVersion, v1alpha1.GKEGAVersion, len(exposing), v1alpha1.GKEGAVersion))}
}

// backendClash says, for two autoscalers on one workload, which backend each
// would read its metric through, when they differ.
func backendClash(other, this v1alpha1.Backend) string {
	if other == this || other == "" {
		return ""
	}
	return fmt.Sprintf(" (one through backend %s, the other through backend %s: both backends would serve one workload's HPA)", other, this)
}

// hpaBackend tells from an HPA's first Pods metric which backend serves it.
func hpaBackend(item *fn.KubeObject) v1alpha1.Backend {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := item.As(&hpa); err != nil || len(hpa.Spec.Metrics) == 0 || hpa.Spec.Metrics[0].Pods == nil {
		return ""
	}
	switch name := hpa.Spec.Metrics[0].Pods.Metric.Name; {
	case strings.HasPrefix(name, v1alpha1.GKEMetricPrefix+"|"):
		return v1alpha1.BackendGKE
	case strings.HasPrefix(name, "prometheus.googleapis.com|"):
		return v1alpha1.BackendAdapter
	}
	return ""
}
