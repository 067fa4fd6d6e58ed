package v1alpha1

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

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
var promLabelName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`) })

// resourceLabels are the labels Managed Service for Prometheus stores on the
// prometheus_target resource, not on the metric: a metric.labels.<name> selector
// on them matches nothing.
var resourceLabels = []string{"project_id", "location", "cluster", "namespace", "job", "instance"}

// validateMetricLabels checks a metric's labels (spec.metric.labels or
// spec.metrics[i].labels): each key a Prometheus label name
// the adapter can select on, each value a Kubernetes label value, as the
// HorizontalPodAutoscaler's selector requires.
func validateMetricLabels(fldPath *field.Path, strategy Strategy, labels map[string]string) field.ErrorList {
	if len(labels) > 0 && strategy == StrategyGPU {
		return field.ErrorList{field.Invalid(fldPath, FormatSelector(labels), fmt.Sprintf(
			"cannot be used with strategy gpu: the recorded %s has only namespace and pod; remove it", GPUMetric))}
	}
	var allErrs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		keyPath, v := fldPath.Child(k), labels[k]
		switch {
		case !promLabelName().MatchString(k) || strings.HasPrefix(k, "__"):
			allErrs = append(allErrs, field.Invalid(keyPath, k,
				"is not a Prometheus label name; use letters, digits and '_', not starting with a digit or '__', e.g. reason or model_name"))
			continue
		case slices.Contains(resourceLabels, k):
			allErrs = append(allErrs, field.Forbidden(keyPath, fmt.Sprintf(
				"Managed Service for Prometheus keeps %q on the monitored resource, not on the metric, so the adapter's metric.labels selector can never match it; remove it", k)))
			continue
		case k == "pod":
			allErrs = append(allErrs, field.Forbidden(keyPath, "the adapter already matches pod to each pod of the workload; remove it"))
			continue
		case k == MarkerLabel:
			allErrs = append(allErrs, field.Forbidden(keyPath, fmt.Sprintf("the function sets %q on its own scrape; remove it", k)))
			continue
		}
		if msgs := validation.IsQualifiedName(MetricLabelPrefix + k); len(msgs) > 0 {
			allErrs = append(allErrs, field.Invalid(keyPath, k, fmt.Sprintf(
				"is too long for the HorizontalPodAutoscaler's selector key %s%s: %s; use a label name of at most %d characters",
				MetricLabelPrefix, k, strings.Join(msgs, "; "), qualifiedNameMaxLength-len(MetricLabelPrefix))))
		}
		switch msgs := validation.IsValidLabelValue(v); {
		case v == "":
			allErrs = append(allErrs, field.Required(keyPath, "give the label's value, e.g. reason: capacity"))
		case len(msgs) > 0:
			allErrs = append(allErrs, field.Invalid(keyPath, v, "cannot be written in the HorizontalPodAutoscaler's selector, whose values are Kubernetes label values: "+
				strings.Join(msgs, "; ")+"; select on a label whose value has only letters, digits, '-', '_' and '.' (for a model whose name has '/', start vLLM with --served-model-name without one)"))
		}
	}
	return allErrs
}
