package v1alpha1

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MetricLabelPrefix is how the Custom Metrics Stackdriver Adapter spells a metric
// label in a Pods metric's selector: it accepts only metric.labels.<name> keys
// (and "reducer") and turns each into a Cloud Monitoring filter
// (GoogleCloudPlatform/k8s-stackdriver,
// custom-metrics-stackdriver-adapter/pkg/adapter/translator/query_builder.go,
// allowedCustomMetricsLabelPrefixes).
const MetricLabelPrefix = "metric.labels."

// MarkerLabel is the label the PodMonitoring adds to every series it scrapes,
// valued at the config's name. The HorizontalPodAutoscaler selects on it, so a
// second scrape of the same pods (GKE's automatic application monitoring makes
// one for vLLM) never adds to the value it sees.
const MarkerLabel = "vllmhpa_config"

// qualifiedNameMaxLength is the longest name part of a Kubernetes label key.
const qualifiedNameMaxLength = 63

// promLabelName is the Prometheus label name syntax.
var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// resourceLabels are the labels Managed Service for Prometheus stores on the
// prometheus_target resource, not on the metric: a metric.labels.<name> selector
// on them matches nothing.
var resourceLabels = []string{"project_id", "location", "cluster", "namespace", "job", "instance"}

// validateMetricLabels checks a metric's labels, written at fldPath: each key
// a Prometheus label name the adapter can select on, each value a Kubernetes
// label value, as the HorizontalPodAutoscaler's selector requires.
func validateMetricLabels(fldPath *field.Path, strategy Strategy, labels map[string]string) field.ErrorList {
	var errs field.ErrorList
	add := func(path *field.Path, value any, format string, args ...any) {
		errs = append(errs, field.Invalid(path, value, fmt.Sprintf(format, args...)))
	}
	if len(labels) > 0 && strategy == StrategyGPU {
		add(fldPath, labelList(labels), "(%s) cannot be used with strategy gpu: the recorded %s has only namespace and pod; remove %s", labelList(labels), GPUMetric, fldPath)
		return errs
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		path, v := fldPath.Child(k), labels[k]
		switch {
		case !promLabelName.MatchString(k) || strings.HasPrefix(k, "__"):
			add(path, k, "has %q, which is not a Prometheus label name; use letters, digits and '_', not starting with a digit or '__', e.g. reason or model_name", k)
			continue
		case slices.Contains(resourceLabels, k):
			add(path, k, "selects on %q, which Managed Service for Prometheus keeps on the monitored resource, not on the metric, so the adapter's metric.labels selector can never match it; remove it", k)
			continue
		case k == "pod":
			add(path, k, "selects on pod, which the adapter already matches to each pod of the workload; remove it")
			continue
		case k == MarkerLabel:
			add(path, k, "selects on %q, which the function sets on its own scrape; remove it", k)
			continue
		}
		if msgs := validation.IsQualifiedName(MetricLabelPrefix + k); len(msgs) > 0 {
			add(path, k, "is too long for the HorizontalPodAutoscaler's selector key %s%s: %s; use a label name of at most %d characters", MetricLabelPrefix, k, strings.Join(msgs, "; "), qualifiedNameMaxLength-len(MetricLabelPrefix))
		}
		switch msgs := validation.IsValidLabelValue(v); {
		case v == "":
			add(path, v, "is empty; give the label's value, e.g. reason: capacity")
		case len(msgs) > 0:
			add(path, v, "(%q) cannot be written in the HorizontalPodAutoscaler's selector, whose values are Kubernetes label values: %s; select on a label whose value has only letters, digits, '-', '_' and '.' (for a model whose name has '/', start vLLM with --served-model-name without one)", v, strings.Join(msgs, "; "))
		}
	}
	return errs
}

// labelList writes a label map as k=v,k2=v2, sorted.
func labelList(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}
