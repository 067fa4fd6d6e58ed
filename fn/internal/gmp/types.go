// Package gmp holds Go types for the Google Managed Prometheus custom resources
// that vllm-hpa emits (monitoring.googleapis.com/v1). Each struct carries only the
// fields the function sets; JSON tags match the upstream CRDs exactly.
package gmp

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Group is the API group of every GMP kind here, and APIVersion their group/version.
const (
	Group      = "monitoring.googleapis.com"
	APIVersion = Group + "/v1"
)

// PodMonitoring scrapes pods in its own namespace.
type PodMonitoring struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PodMonitoringSpec `json:"spec"`
}

// PodMonitoringSpec selects pods and says how to scrape them.
type PodMonitoringSpec struct {
	Selector     metav1.LabelSelector `json:"selector"`
	Endpoints    []ScrapeEndpoint     `json:"endpoints"`
	TargetLabels *TargetLabels        `json:"targetLabels,omitempty"`
}

// ClusterPodMonitoring scrapes pods in every namespace.
type ClusterPodMonitoring struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ClusterPodMonitoringSpec `json:"spec"`
}

// ClusterPodMonitoringSpec selects pods across namespaces and says how to scrape them.
type ClusterPodMonitoringSpec struct {
	Selector     metav1.LabelSelector `json:"selector"`
	Endpoints    []ScrapeEndpoint     `json:"endpoints"`
	TargetLabels *TargetLabels        `json:"targetLabels,omitempty"`
}

// ScrapeEndpoint is one port of the selected pods to scrape.
type ScrapeEndpoint struct {
	Port             intstr.IntOrString `json:"port"`
	Path             string             `json:"path,omitempty"`
	Interval         string             `json:"interval,omitempty"`
	MetricRelabeling []RelabelingRule   `json:"metricRelabeling,omitempty"`
}

// RelabelingRule is a Prometheus metric relabeling rule.
type RelabelingRule struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Replacement  string   `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// TargetLabels are the pod metadata labels set on every scraped series.
type TargetLabels struct {
	Metadata []string `json:"metadata,omitempty"`
}

// Rules holds recording and alerting rules evaluated over the series of its own
// namespace: GMP adds namespace="<its namespace>" to every selector.
type Rules struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RulesSpec `json:"spec"`
}

// ClusterRules holds recording and alerting rules evaluated over all namespaces.
type ClusterRules struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RulesSpec `json:"spec"`
}

// RulesSpec is a list of rule groups.
type RulesSpec struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is a set of rules evaluated together at one interval.
type RuleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []Rule `json:"rules"`
}

// Rule is one recording rule.
type Rule struct {
	Record string `json:"record,omitempty"`
	Expr   string `json:"expr"`
}
