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

	// Spec says what to scale, on which signal, and between which bounds.
	Spec VLLMHPAConfigSpec `json:"spec"`
}

// VLLMHPAConfigSpec is the desired autoscaling of one vLLM workload.
type VLLMHPAConfigSpec struct {
	// Strategy is the signal to scale on: "vllm" (a vLLM server gauge, by default
	// vllm:num_requests_running) or "gpu" (NVIDIA GPU utilisation, 0-100).
	// +required
	Strategy Strategy `json:"strategy"`

	// ScaleTargetRef names the workload the HorizontalPodAutoscaler scales, in the
	// config's namespace.
	// +required
	ScaleTargetRef ScaleTargetRef `json:"scaleTargetRef"`

	// MinReplicas is the lower bound of replicas the autoscaler may set.
	// Defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the upper bound of replicas the autoscaler may set. It must not
	// be below minReplicas.
	// +required
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`

	// Metric names the metric and the per-pod average to hold it at.
	// Defaults depend on the strategy.
	// +optional
	Metric *Metric `json:"metric,omitempty"`

	// PodSelector holds the labels of the vLLM pods (strategy vllm): the
	// PodMonitoring scrapes the pods that carry all of them.
	// +optional
	PodSelector map[string]string `json:"podSelector,omitempty"`

	// Scrape says where and how often the vLLM server's metrics are scraped
	// (strategy vllm).
	// +optional
	Scrape *Scrape `json:"scrape,omitempty"`

	// Behavior is the HorizontalPodAutoscaler's scaling behavior (autoscaling/v2),
	// copied as written. When absent, scale-down waits for a stabilization window of
	// 300 seconds, because vLLM pods take minutes to start and load a model.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`

	// ClusterResources says whether to emit the cluster-wide objects: the Custom
	// Metrics Stackdriver Adapter stack and, for strategy gpu, the DCGM scrape and
	// recording rule. Set it to false where another package already provides them.
	// Defaults to true.
	// +optional
	ClusterResources *bool `json:"clusterResources,omitempty"`

	// Adapter configures the Custom Metrics Stackdriver Adapter.
	// +optional
	Adapter *Adapter `json:"adapter,omitempty"`
}

// ScaleTargetRef identifies the workload to scale.
type ScaleTargetRef struct {
	// APIVersion of the workload. Defaults to "apps/v1".
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the workload. Defaults to "Deployment".
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the workload.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// Metric is the metric the autoscaler holds at a per-pod average.
type Metric struct {
	// Name is the Prometheus metric name. Defaults to vllm:num_requests_running
	// (strategy vllm) or dcgm_fi_dev_gpu_util (strategy gpu, the only metric the
	// gpu strategy records).
	// +optional
	Name string `json:"name,omitempty"`

	// TargetAverageValue is the per-pod average the autoscaler aims for, a
	// Kubernetes quantity such as 4, "500m" or 0.8. Defaults to 4 (strategy vllm)
	// or 20 (strategy gpu, percent).
	// +optional
	TargetAverageValue *Quantity `json:"targetAverageValue,omitempty"`
}

// Scrape says how Google Managed Prometheus scrapes the vLLM server.
type Scrape struct {
	// Port is the container port number or name that serves /metrics. Defaults to
	// 8000, vLLM's default port. A named port also keeps the container label.
	// +optional
	Port *intstr.IntOrString `json:"port,omitempty"`

	// Path is the HTTP path of the metrics. Defaults to /metrics.
	// +optional
	Path string `json:"path,omitempty"`

	// Interval is how often to scrape, as a Prometheus duration. Defaults to 15s.
	// +optional
	Interval string `json:"interval,omitempty"`
}

// Adapter configures the Custom Metrics Stackdriver Adapter.
type Adapter struct {
	// Image is the adapter's container image. Defaults to
	// gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.9-gke.0.
	// +optional
	Image string `json:"image,omitempty"`

	// GCPServiceAccount, when set, annotates the adapter's Kubernetes service
	// account with iam.gke.io/gcp-service-account (the older Workload Identity
	// form). Leave it empty when roles/monitoring.viewer is granted to the
	// Kubernetes service account's principal directly.
	// +optional
	GCPServiceAccount string `json:"gcpServiceAccount,omitempty"`
}
