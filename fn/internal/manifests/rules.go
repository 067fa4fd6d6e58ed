package manifests

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
)

// IsFraction reports whether a vLLM gauge is a 0-1 fraction of a pod's capacity:
// vLLM names them *_perc (vllm:kv_cache_usage_perc). A pod's value of such a
// gauge is the mean over the pod's series, not their sum: a data-parallel pod
// exports one series per engine, and the adapter, which sums a pod's series,
// would report more than 1.
func IsFraction(metric string) bool { return strings.HasSuffix(metric, "_perc") }

// PerPodRecord names the series the recording rule writes for a fraction, in
// Prometheus's level:metric:operation form.
func PerPodRecord(metric string) string { return "pod:" + metric + ":avg" }

// PerPodExpr averages a fraction over each pod's series of the config's own scrape
// (its marker) and keeps the marker and the metric's selected labels, which the
// HPA selects on.
func PerPodExpr(c *v1alpha1.VLLMHPAConfig, m *v1alpha1.Metric) string {
	by := []string{"namespace", "pod", v1alpha1.MarkerLabel}
	matchers := []string{fmt.Sprintf("%s=%q", v1alpha1.MarkerLabel, c.Name)}
	for _, k := range slices.Sorted(maps.Keys(m.Labels)) {
		by = append(by, k)
		matchers = append(matchers, fmt.Sprintf("%s=%q", k, m.Labels[k]))
	}
	return fmt.Sprintf("avg by (%s) (%s{%s})", strings.Join(by, ", "), m.Name, strings.Join(matchers, ", "))
}

// BuildPerPodRules returns the Rules that records the per-pod mean of each of
// the config's metrics that is a fraction, or nil when none is. A namespaced
// Rules, in the workload's namespace: GMP confines its selectors to that
// namespace, where the PodMonitoring's series are
// (cloud.google.com/stackdriver/docs/managed-prometheus/rules-managed).
func BuildPerPodRules(c *v1alpha1.VLLMHPAConfig) *gmp.Rules {
	if c.Spec.Strategy != v1alpha1.StrategyVLLM {
		return nil
	}
	var rules []gmp.Rule
	for _, m := range c.ScaledMetrics() {
		if IsFraction(m.Name) {
			rules = append(rules, gmp.Rule{Record: PerPodRecord(m.Name), Expr: PerPodExpr(c, m.Metric)})
		}
	}
	if len(rules) == 0 {
		return nil
	}
	return &gmp.Rules{
		TypeMeta:   metav1.TypeMeta{APIVersion: gmp.APIVersion, Kind: "Rules"},
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace},
		Spec: gmp.RulesSpec{Groups: []gmp.RuleGroup{{
			Name: "vllmhpa-per-pod",
			// Each scrape brings a new value; evaluating more often records nothing new.
			Interval: c.Spec.Scrape.Interval,
			Rules:    rules,
		}}},
	}
}
