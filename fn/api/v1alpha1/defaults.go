package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Defaults. Every default of the API lives here and nowhere else.
const (
	DefaultNamespace              = "default"
	DefaultTargetAPIVersion       = "apps/v1"
	DefaultTargetKind             = "Deployment"
	DefaultMinReplicas      int32 = 1

	// DefaultVLLMMetric is the number of requests in the running batch, per pod.
	DefaultVLLMMetric = "vllm:num_requests_running"
	// DefaultVLLMTarget is the default per-pod average of the vllm metric.
	DefaultVLLMTarget Quantity = "4"
	// GPUMetric is the series the gpu strategy's recording rule writes.
	GPUMetric = "dcgm_fi_dev_gpu_util"
	// DefaultGPUTarget is the default per-pod GPU utilisation, in percent.
	DefaultGPUTarget Quantity = "20"

	// DefaultScrapePort is vLLM's default serving port (`vllm serve --port`).
	DefaultScrapePort     = 8000
	DefaultScrapePath     = "/metrics"
	DefaultScrapeInterval = "15s"

	// DefaultAdapterImage is upstream's production release (k8s-stackdriver PR
	// #1245): recent releases carry security fixes.
	DefaultAdapterImage = "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.10-gke.0"
	// DefaultAdapterHardening runs the adapter restricted (Pod Security Standards
	// "restricted", a NetworkPolicy); false emits Google's upstream shape.
	DefaultAdapterHardening = true
	// DefaultAdapterExternalMetrics leaves the external metrics API to whoever
	// serves it (KEDA): both strategies use Pods metrics only.
	DefaultAdapterExternalMetrics = false

	// DefaultGPUSource scrapes the DCGM exporter with the function's own
	// ClusterPodMonitoring, whose target labels the recording rule relies on.
	DefaultGPUSource = GPUSourceOwn

	// DefaultSLOPercentile holds a latency objective for 9 requests in 10: a
	// median hides the slow tail users notice, p99 needs long profile steps to
	// measure.
	DefaultSLOPercentile SLOPercentile = 90

	// DefaultScaleDownStabilizationSeconds keeps a replica for 5 minutes after the
	// load drops: vLLM pods take minutes to pull a model and start, so scaling down
	// on a short dip costs more than it saves.
	DefaultScaleDownStabilizationSeconds int32 = 300
)

// Default fills every unset field with its default, in place.
func (c *VLLMHPAConfig) Default() {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	s := &c.Spec
	if s.ScaleTargetRef.Kind == "" {
		s.ScaleTargetRef.Kind = DefaultTargetKind
	}
	if s.ScaleTargetRef.APIVersion == "" {
		s.ScaleTargetRef.APIVersion = targetAPIVersion(s.ScaleTargetRef.Kind)
	}
	if s.MinReplicas == nil {
		s.MinReplicas = ptr.To(DefaultMinReplicas)
	}
	// spec.metrics stands instead of spec.metric; each entry names its metric
	// and its target or SLO.
	if len(s.Metrics) == 0 {
		if s.Metric == nil {
			s.Metric = &Metric{}
		}
		if s.Metric.Name == "" {
			s.Metric.Name = DefaultVLLMMetric
			if s.Strategy == StrategyGPU {
				s.Metric.Name = GPUMetric
			}
		}
		// Under an SLO, the target is derived from the SLO's profile.
		if s.Metric.TargetAverageValue == nil && s.SLO == nil {
			target := DefaultVLLMTarget
			if s.Strategy == StrategyGPU {
				target = DefaultGPUTarget
			}
			s.Metric.TargetAverageValue = &target
		}
	}
	defaultSLO(s.SLO)
	for i := range s.Metrics {
		defaultSLO(s.Metrics[i].SLO)
	}
	if s.Scrape == nil {
		s.Scrape = &Scrape{}
	}
	if s.Scrape.Port == nil {
		port := intstr.FromInt32(DefaultScrapePort)
		s.Scrape.Port = &port
	}
	if s.Scrape.Path == "" {
		s.Scrape.Path = DefaultScrapePath
	}
	if s.Scrape.Interval == "" {
		s.Scrape.Interval = DefaultScrapeInterval
	}
	if s.Behavior == nil {
		s.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To(DefaultScaleDownStabilizationSeconds),
			},
		}
	}
	if s.ClusterResources == nil {
		s.ClusterResources = ptr.To(true)
	}
	if s.Adapter == nil {
		s.Adapter = &Adapter{}
	}
	if s.Adapter.Image == "" {
		s.Adapter.Image = DefaultAdapterImage
	}
	if s.Adapter.Hardening == nil {
		s.Adapter.Hardening = ptr.To(DefaultAdapterHardening)
	}
	if s.Adapter.ExternalMetrics == nil {
		s.Adapter.ExternalMetrics = ptr.To(DefaultAdapterExternalMetrics)
	}
	if s.GPU == nil {
		s.GPU = &GPU{}
	}
	if s.GPU.Source == "" {
		s.GPU.Source = DefaultGPUSource
	}
	c.defaultBackend()
}

func defaultSLO(slo *SLO) {
	if slo != nil && slo.Percentile == nil {
		slo.Percentile = ptr.To(DefaultSLOPercentile)
	}
}

// targetAPIVersion is the apiVersion of a supported workload kind, so that a
// config may name the kind alone.
func targetAPIVersion(kind string) string {
	for _, t := range SupportedTargets {
		if t.Kind == kind {
			return t.APIVersion
		}
	}
	return DefaultTargetAPIVersion
}
