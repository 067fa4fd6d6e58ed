// Package v1alpha1 is the VLLMHPAConfig API: one small resource that describes how
// a vLLM workload on GKE is autoscaled, expanded by the vllm-hpa function into the
// Kubernetes objects that do it.
//
// +groupName=vllmhpa.dev
// +kubebuilder:object:generate=false
package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	// Group is the API group of VLLMHPAConfig.
	Group = "vllmhpa.dev"
	// Version is the API version of VLLMHPAConfig.
	Version = "v1alpha1"
	// APIVersion is Group/Version, as written in a manifest.
	APIVersion = Group + "/" + Version
	// Kind is the kind of the config resource.
	Kind = "VLLMHPAConfig"
)

// Strategy names the signal the HorizontalPodAutoscaler scales on.
// +kubebuilder:validation:Enum=vllm;gpu
type Strategy string

const (
	// StrategyVLLM scales on a gauge the vLLM server exports on /metrics,
	// scraped by a Google Managed Prometheus PodMonitoring.
	StrategyVLLM Strategy = "vllm"
	// StrategyGPU scales on NVIDIA GPU utilisation from GKE's managed DCGM exporter,
	// scraped by a ClusterPodMonitoring and re-attributed to the workload's pods by a
	// ClusterRules recording rule.
	StrategyGPU Strategy = "gpu"
)

// VLLMHPAConfig describes how one vLLM workload is autoscaled. It is local
// configuration for the vllm-hpa function and is never applied to a cluster.
//
// +kubebuilder:resource:path=vllmhpaconfigs,scope=Namespaced
// +kubebuilder:metadata:annotations="config.kubernetes.io/local-config=true"
type VLLMHPAConfig struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata. metadata.name names the per-model objects (the
	// HorizontalPodAutoscaler and the PodMonitoring) and must be a DNS-1123 label;
	// metadata.namespace is the workload's namespace (default "default").
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what to scale, on which signal, and between which bounds.
	Spec VLLMHPAConfigSpec `json:"spec"`
}

// VLLMHPAConfigSpec is the desired autoscaling of one vLLM workload.
type VLLMHPAConfigSpec struct {
	// strategy is the signal to scale on: vllm (a vLLM server gauge, by default
	// vllm:num_requests_running) or gpu (NVIDIA GPU utilisation, 0-100).
	// +required
	Strategy Strategy `json:"strategy"`

	// backend is how the metric reaches the HorizontalPodAutoscaler: adapter
	// (Google Managed Prometheus scrapes the pods, Cloud Monitoring stores the
	// series, the Custom Metrics Stackdriver Adapter serves them) or gke (GKE's
	// managed metrics adapter reads the pods' endpoint itself, declared by an
	// AutoscalingMetric: no adapter to run, no IAM, no Cloud Monitoring round trip;
	// GKE 1.35.1-gke.1396000 or later with the HPA performance profile, strategy
	// vllm only). Defaults to adapter.
	// +optional
	// +kubebuilder:default=adapter
	Backend Backend `json:"backend,omitempty"`

	// scaleTargetRef names the workload the HorizontalPodAutoscaler scales, in the
	// config's namespace.
	// +required
	ScaleTargetRef ScaleTargetRef `json:"scaleTargetRef"`

	// minReplicas is the fewest replicas the autoscaler may run, at least 1: the
	// HorizontalPodAutoscaler cannot scale to zero on custom metrics. Defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=1
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas is the most replicas the autoscaler may run. It must not be below
	// minReplicas.
	// +required
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`

	// metric names the metric and the per-pod average to hold it at. Its defaults
	// depend on the strategy. Give spec.metric or spec.metrics, not both.
	// +optional
	Metric *Metric `json:"metric,omitempty"`

	// metrics are several metrics to scale on, each a Pods metric of the
	// HorizontalPodAutoscaler, which computes a replica count for each and
	// scales to the largest: vllm:num_requests_running with
	// vllm:kv_cache_usage_perc guards both latency and memory. Each entry needs
	// a name and either a targetAverageValue or an SLO to derive it from (its
	// own slo, or spec.slo). Give spec.metric or spec.metrics, not both.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	Metrics []MetricEntry `json:"metrics,omitempty"`

	// slo derives targets from a latency objective and a measured profile of
	// the server, instead of a written targetAverageValue: the target of
	// spec.metric, or of each entry of spec.metrics that gives neither a
	// targetAverageValue nor its own slo. Strategy vllm only.
	// +optional
	SLO *SLO `json:"slo,omitempty"`

	// podSelector holds the labels of the vLLM pods (strategy vllm): the
	// PodMonitoring scrapes the pods that carry all of them. Required for strategy
	// vllm unless the target workload is in the function's input, whose selector
	// is used then.
	// +optional
	PodSelector map[string]string `json:"podSelector,omitempty"`

	// scrape says where and how often the vLLM server's metrics are scraped
	// (strategy vllm).
	// +optional
	Scrape *Scrape `json:"scrape,omitempty"`

	// behavior is the HorizontalPodAutoscaler's scaling behavior (autoscaling/v2),
	// copied as written. When absent, scale-down waits for a stabilization window of
	// 300 seconds, because vLLM pods take minutes to start and load a model.
	// +optional
	// +kubebuilder:default={scaleDown: {stabilizationWindowSeconds: 300}}
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`

	// clusterResources says whether to emit the cluster-wide objects: the Custom
	// Metrics Stackdriver Adapter stack and, for strategy gpu, the DCGM scrape and
	// recording rule. Set it to false where another package already provides them.
	// Defaults to true.
	// +optional
	// +kubebuilder:default=true
	ClusterResources *bool `json:"clusterResources,omitempty"`

	// adapter configures the Custom Metrics Stackdriver Adapter.
	// +optional
	Adapter *Adapter `json:"adapter,omitempty"`

	// gpu configures where the GPU utilisation of strategy gpu comes from.
	// +optional
	GPU *GPU `json:"gpu,omitempty"`
}

// ScaleTargetRef identifies the workload to scale.
type ScaleTargetRef struct {
	// apiVersion is the workload's API version. Defaults to the API version of its
	// kind: apps/v1 for Deployment and StatefulSet.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind is the workload's kind: Deployment, StatefulSet or LeaderWorkerSet.
	// Defaults to Deployment.
	// +optional
	// +kubebuilder:default=Deployment
	Kind string `json:"kind,omitempty"`

	// name is the name of the workload to scale, e.g. the vLLM Deployment.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// Metric is the metric the autoscaler holds at a per-pod average.
type Metric struct {
	// name is the Prometheus metric name, e.g. vllm:num_requests_waiting. In
	// spec.metric it defaults to vllm:num_requests_running (strategy vllm) or
	// dcgm_fi_dev_gpu_util (strategy gpu, the only metric the gpu strategy
	// records); each entry of spec.metrics names its own.
	// +optional
	Name string `json:"name,omitempty"`

	// targetAverageValue is the per-pod average the autoscaler aims for, a
	// Kubernetes quantity above zero such as 4, "500m" or 0.8. Where an SLO
	// applies, it is derived from the SLO and must not be written. Otherwise
	// spec.metric defaults it to 4 (strategy vllm) or 20 (strategy gpu,
	// percent), and each entry of spec.metrics gives its own.
	// +optional
	TargetAverageValue *Quantity `json:"targetAverageValue,omitempty"`

	// labels selects the metric's series by their Prometheus labels, e.g.
	// {reason: capacity} for vllm:num_requests_waiting_by_reason, or model_name on a
	// server that serves several models. It becomes the HorizontalPodAutoscaler's
	// metric selector (metric.labels.<name>: <value>). Keys are Prometheus label
	// names; values must also be Kubernetes label values (no '/'). Strategy vllm only.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// MetricEntry is one entry of spec.metrics: a metric, and its target or the
// SLO its target is derived from.
type MetricEntry struct {
	Metric `json:",inline"`

	// slo derives this metric's target from a latency objective and a measured
	// profile; it replaces spec.slo for this entry. Give targetAverageValue or
	// slo, not both.
	// +optional
	SLO *SLO `json:"slo,omitempty"`
}

// SLOPercentile is the percentile of requests a latency objective holds for.
// +kubebuilder:validation:Enum=50;90;99
type SLOPercentile int32

// SLO is a latency objective and the measured profile of the server that a
// target is derived from. For the metric it applies to, v* is the largest
// per-pod value of the gauge measured at a profile point such that every point
// whose value is at or below it meets the objective; the target is
// v* / (1 + t), t the scale-up tolerance in force (spec.behavior.scaleUp.tolerance,
// else the HorizontalPodAutoscaler's 0.1), rounded down to 0.01.
type SLO struct {
	// percentile is the percentile of requests the bounds hold for: 50, 90 or
	// 99, read from the profile's p50, p90 or p99. Defaults to 90.
	// +optional
	// +kubebuilder:default=90
	Percentile *SLOPercentile `json:"percentile,omitempty"`

	// ttft bounds the time to first token, from sending a request to its first
	// streamed token, as a duration such as 500ms or 1.5s. Give ttft, tpot or both.
	// +optional
	TTFT *metav1.Duration `json:"ttft,omitempty"`

	// tpot bounds the time per output token after the first, as a duration
	// such as 50ms. Give ttft, tpot or both.
	// +optional
	TPOT *metav1.Duration `json:"tpot,omitempty"`

	// profileRef is the metadata.name of a VLLMServerProfile among the
	// function's items (kpt, or a kustomize transformer), as written by
	// vllm-loadgen profile. Give profileRef or profile, not both.
	// +optional
	ProfileRef string `json:"profileRef,omitempty"`

	// profile is the spec of a VLLMServerProfile written inline, for a
	// kustomize generator, which sees only the config. Give profileRef or
	// profile, not both.
	// +optional
	Profile *VLLMServerProfileSpec `json:"profile,omitempty"`
}

// Scrape says how Google Managed Prometheus scrapes the vLLM server.
type Scrape struct {
	// port is the container port number or name that serves /metrics. Defaults to
	// 8000, vLLM's default port. A named port also keeps the container label.
	// +optional
	// +kubebuilder:default=8000
	Port *intstr.IntOrString `json:"port,omitempty"`

	// path is the HTTP path of the metrics, starting with '/'. Defaults to /metrics.
	// +optional
	// +kubebuilder:default="/metrics"
	Path string `json:"path,omitempty"`

	// interval is how often to scrape, as a Prometheus duration such as 15s or 1m.
	// Defaults to 15s.
	// +optional
	// +kubebuilder:default="15s"
	Interval string `json:"interval,omitempty"`

	// monitoring says whether to emit the Managed Prometheus PodMonitoring. The
	// adapter backend reads the metric from it, so it must stay true there; with
	// backend gke it only feeds dashboards and alerts. Defaults to true for backend
	// adapter and false for backend gke.
	// +optional
	Monitoring *bool `json:"monitoring,omitempty"`
}

// Adapter configures the Custom Metrics Stackdriver Adapter.
type Adapter struct {
	// image is the adapter's container image. Defaults to
	// gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.10-gke.0.
	// +optional
	// +kubebuilder:default="gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.10-gke.0"
	Image string `json:"image,omitempty"`

	// gcpServiceAccount, when set, annotates the adapter's Kubernetes service
	// account with iam.gke.io/gcp-service-account (the older Workload Identity
	// form). Leave it empty when roles/monitoring.viewer is granted to the
	// Kubernetes service account's principal directly.
	// +optional
	GCPServiceAccount string `json:"gcpServiceAccount,omitempty"`

	// hardening runs the adapter restricted: a non-root user, a read-only root
	// filesystem, no Linux capabilities, the RuntimeDefault seccomp profile,
	// serving on the non-privileged port 10250, ephemeral-storage requests and
	// limits, and a NetworkPolicy for its pods (ingress to its serving port only,
	// egress to DNS, HTTPS and the GKE metadata server only). Set it to false to
	// emit the adapter as Google's upstream manifest runs it. Defaults to true.
	// +optional
	// +kubebuilder:default=true
	Hardening *bool `json:"hardening,omitempty"`

	// externalMetrics registers the adapter for the external metrics API
	// (the v1beta1.external.metrics.k8s.io APIService and the
	// external-metrics-reader role for the HorizontalPodAutoscaler). No strategy
	// needs it, and a cluster has one external metrics server: registering
	// takes the API over from KEDA or any other. Defaults to false.
	// +optional
	// +kubebuilder:default=false
	ExternalMetrics *bool `json:"externalMetrics,omitempty"`

	// workloadIdentity, when set, emits the IAM grant that lets the adapter read
	// Cloud Monitoring as Config Connector IAMPolicyMember objects, so the Google
	// Cloud side lives in Git too: roles/monitoring.viewer for the adapter's
	// Kubernetes service account, or, with gcpServiceAccount set,
	// roles/iam.workloadIdentityUser on that Google service account and
	// roles/monitoring.viewer for it. Backend adapter only.
	// +optional
	WorkloadIdentity *WorkloadIdentity `json:"workloadIdentity,omitempty"`
}

// GPUSource names the scrape of GKE's DCGM exporter that strategy gpu reads.
// +kubebuilder:validation:Enum=own;gke-managed
type GPUSource string

const (
	// GPUSourceOwn scrapes the exporter with the function's own
	// ClusterPodMonitoring, every 15 seconds, keeping only GPU utilisation.
	GPUSourceOwn GPUSource = "own"
	// GPUSourceGKEManaged reads the series GKE's own ClusterPodMonitoring
	// gke-managed-dcgm-exporter already scrapes (every 30 seconds), adding no scrape.
	GPUSourceGKEManaged GPUSource = "gke-managed"
)

// GPU configures the GPU utilisation signal of strategy gpu.
type GPU struct {
	// source is the scrape the recording rule reads: own (a ClusterPodMonitoring
	// of the function's, every 15 seconds) or gke-managed (GKE's managed DCGM
	// scrape, job gke-managed-dcgm-exporter, every 30 seconds: no second copy of
	// the series is ingested, but the HPA sees a change up to 30 seconds later).
	// Defaults to own.
	// +optional
	// +kubebuilder:default=own
	Source GPUSource `json:"source,omitempty"`
}
