package v1alpha1

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The package's regular expressions are compiled on first use, as
// imageReference is: a process pays only for the checks its configs reach, and
// a generator run is mostly process start-up.

// promMetricName is the Prometheus metric name syntax (colons allowed).
var promMetricName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`) })

// Metric facts checked at render time, so a wrong unit never reaches a cluster.
const (
	// kvCacheMetric is a 0-1 fraction of the KV cache in use.
	kvCacheMetric = "vllm:kv_cache_usage_perc"
	// removedKVCacheMetric was renamed to kvCacheMetric in vLLM.
	removedKVCacheMetric = "vllm:gpu_cache_usage_perc"
)

// maxTarget bounds the per-pod target: no vLLM or GPU gauge gets near it, so a
// larger value is a typo (an exponent, extra zeros) that would never scale.
var maxTarget = resource.MustParse("1e9")

// SupportedTargets lists the workload kinds the HorizontalPodAutoscaler may scale,
// by apiVersion and kind.
var SupportedTargets = []ScaleTargetRef{
	{APIVersion: "apps/v1", Kind: "Deployment"},
	{APIVersion: "apps/v1", Kind: "StatefulSet"},
	// Multi-host vLLM: the HPA scales groups and averages over their leaders.
	{APIVersion: "leaderworkerset.x-k8s.io/v1", Kind: "LeaderWorkerSet"},
}

// Validate checks a defaulted config that its schema has accepted (required
// fields, enums and bounds are the schema's: see the markers in types.go) and
// returns every other problem it finds, in field order. An empty list means
// the config can be rendered, once the targets its SLOs apply to are derived.
// Each error's detail says how to fix it.
func (c *VLLMHPAConfig) Validate() field.ErrorList {
	allErrs := validateObjectMeta(field.NewPath("metadata"), &c.ObjectMeta)
	return append(allErrs, validateSpec(field.NewPath("spec"), &c.Spec)...)
}

func validateObjectMeta(fldPath *field.Path, meta *metav1.ObjectMeta) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case meta.Name == "":
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "it names the HorizontalPodAutoscaler and the PodMonitoring"))
	default:
		if msgs := validation.IsDNS1123Label(meta.Name); len(msgs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), meta.Name, "is not a DNS-1123 label: "+strings.Join(msgs, "; ")+
				"; use lower-case letters, digits and '-', at most 63 characters"))
		}
	}
	if msgs := validation.IsDNS1123Label(meta.Namespace); len(msgs) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("namespace"), meta.Namespace, "is not a valid namespace: "+strings.Join(msgs, "; ")))
	}
	return allErrs
}

func validateSpec(fldPath *field.Path, s *VLLMHPAConfigSpec) field.ErrorList {
	allErrs := validateTarget(fldPath.Child("scaleTargetRef"), s.ScaleTargetRef)
	if s.MaxReplicas < *s.MinReplicas {
		// Named bare: minReplicas and maxReplicas are also the ConfigMap form's keys.
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxReplicas"), s.MaxReplicas,
			fmt.Sprintf("is below minReplicas (%d); raise maxReplicas or lower minReplicas", *s.MinReplicas)))
	}
	if s.Metric != nil {
		metric := fldPath.Child("metric")
		allErrs = append(allErrs, validateMetric(metric, s.Strategy, s.Metric)...)
		allErrs = append(allErrs, validateMetricLabels(metric.Child("labels"), s.Strategy, s.Metric.Labels)...)
	}
	allErrs = append(allErrs, validateSLOs(fldPath, s)...)
	allErrs = append(allErrs, validateBehavior(fldPath.Child("behavior"), s.Behavior)...)
	if s.Strategy == StrategyVLLM {
		if len(s.PodSelector) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("podSelector"), fmt.Sprintf(
				"strategy vllm scrapes the pods it selects: give the labels of the vLLM pods (e.g. app: vllm-gemma), or add the %s %q to the function's input so its labels can be read",
				s.ScaleTargetRef.Kind, s.ScaleTargetRef.Name)))
		}
		allErrs = append(allErrs, validateScrape(fldPath.Child("scrape"), s.Scrape)...)
	}
	allErrs = append(allErrs, validatePodSelector(fldPath.Child("podSelector"), s.PodSelector)...)
	allErrs = append(allErrs, validateAdapter(fldPath.Child("adapter"), s.Adapter)...)
	return append(allErrs, validateBackend(fldPath, s)...)
}

func validatePodSelector(fldPath *field.Path, selector map[string]string) field.ErrorList {
	var allErrs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child(k), k, "is not a valid label key: "+strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(selector[k]); len(msgs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child(k), selector[k], "is not a valid label value: "+strings.Join(msgs, "; ")))
		}
	}
	return allErrs
}

func validateAdapter(fldPath *field.Path, a *Adapter) field.ErrorList {
	allErrs := validateAdapterImage(fldPath.Child("image"), a.Image)
	if gsa := a.GCPServiceAccount; gsa != "" && !isServiceAccountEmail(gsa) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("gcpServiceAccount"), gsa,
			"is not a Google service account email; write it as NAME@PROJECT.iam.gserviceaccount.com, or leave it empty and grant roles/monitoring.viewer to the adapter's principal"))
	}
	return allErrs
}

// serviceAccountName is the part of a Google service account email before the
// '@': an account ID ([a-z]([-a-z0-9]*[a-z0-9]), 6-30 characters, per
// cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create),
// or the project number that starts the default compute account
// (PROJECT_NUMBER-compute@developer.gserviceaccount.com).
var serviceAccountName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) })

// isServiceAccountEmail reports whether s is written as a Google service
// account email: NAME@DOMAIN, DOMAIN a DNS name under gserviceaccount.com
// (PROJECT.iam, developer, appspot), nothing else around it.
func isServiceAccountEmail(s string) bool {
	name, domain, ok := strings.Cut(s, "@")
	return ok && len(name) <= 63 && serviceAccountName().MatchString(name) &&
		strings.HasSuffix(domain, ".gserviceaccount.com") && len(validation.IsDNS1123Subdomain(domain)) == 0
}

func validateTarget(fldPath *field.Path, ref ScaleTargetRef) field.ErrorList {
	var allErrs field.ErrorList
	if msgs := validation.IsDNS1123Subdomain(ref.Name); len(msgs) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), ref.Name, "is not a valid object name: "+strings.Join(msgs, "; ")))
	}
	var supported []string
	for _, t := range SupportedTargets {
		if t.APIVersion == ref.APIVersion && t.Kind == ref.Kind {
			return allErrs
		}
		supported = append(supported, t.APIVersion+" "+t.Kind)
	}
	// The kind and its apiVersion together name a workload, so both are shown.
	return append(allErrs, field.NotSupported(fldPath.Child("kind"), ref.APIVersion+" "+ref.Kind, supported))
}

// validateMetric checks a metric's name and target, written at fldPath
// (spec.metric or spec.metrics[i]). A target left to an SLO is checked once
// derived; until then the derivation reports why there is none.
func validateMetric(fldPath *field.Path, strategy Strategy, m *Metric) field.ErrorList {
	var allErrs field.ErrorList
	name := fldPath.Child("name")
	switch {
	case m.Name == removedKVCacheMetric:
		allErrs = append(allErrs, field.Invalid(name, m.Name, fmt.Sprintf("was removed from vLLM; use %q (the same 0-1 fraction under its new name)", kvCacheMetric)))
	case strategy == StrategyGPU && m.Name != GPUMetric:
		allErrs = append(allErrs, field.Invalid(name, m.Name, fmt.Sprintf("cannot be used with strategy gpu, which records only %q; remove it or use strategy vllm", GPUMetric)))
	case !promMetricName().MatchString(m.Name):
		allErrs = append(allErrs, field.Invalid(name, m.Name, "is not a Prometheus metric name; use letters, digits, '_' and ':', e.g. vllm:num_requests_waiting"))
	}

	if m.TargetAverageValue == nil {
		return allErrs
	}
	target := fldPath.Child("targetAverageValue")
	raw := string(*m.TargetAverageValue)
	q, err := resource.ParseQuantity(raw)
	if err != nil || q.Sign() <= 0 {
		return append(allErrs, field.Invalid(target, raw, `is not a positive quantity; write a number above zero such as 4, 0.8 or "500m"`))
	}
	switch {
	case q.Cmp(maxTarget) > 0:
		allErrs = append(allErrs, field.Invalid(target, raw, fmt.Sprintf(
			"is above %s, more than any vLLM or GPU gauge reaches, so the HorizontalPodAutoscaler would never scale up; use a realistic per-pod value such as 4", maxTarget.String())))
	case m.Name == kvCacheMetric && q.Cmp(resource.MustParse("1")) > 0:
		allErrs = append(allErrs, field.Invalid(target, raw, fmt.Sprintf(
			"is above 1, but %s is a 0-1 fraction, so the target could never be reached; use a fraction such as 0.8", kvCacheMetric)))
	case strategy == StrategyGPU && q.Cmp(resource.MustParse("100")) > 0:
		allErrs = append(allErrs, field.Invalid(target, raw, "is above 100, but GPU utilisation is a percentage (0-100); use a value such as 60"))
	}
	return allErrs
}

func validateScrape(fldPath *field.Path, sc *Scrape) field.ErrorList {
	var allErrs field.ErrorList
	port := *sc.Port
	if port.Type == intstr.Int {
		if msgs := validation.IsValidPortNum(port.IntValue()); len(msgs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.IntValue(), "is not a port number; use 1-65535 or the name of the container port"))
		}
	} else if msgs := validation.IsValidPortName(port.StrVal); len(msgs) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.StrVal, "is not a valid port name: "+strings.Join(msgs, "; ")+
			"; use the container port's name (e.g. metrics) or its number"))
	}
	path := fldPath.Child("path")
	switch {
	case !strings.HasPrefix(sc.Path, "/"):
		allErrs = append(allErrs, field.Invalid(path, sc.Path, "must start with '/', e.g. /metrics"))
	case strings.ContainsAny(sc.Path, "?#"):
		// Prometheus builds the scrape URL with this as its path and its own
		// query (prometheus/prometheus scrape/target.go, Target.URL), so a '?'
		// or '#' would be sent escaped, as part of the path.
		allErrs = append(allErrs, field.Invalid(path, sc.Path, "holds a query string or a fragment, which Prometheus would send as part of the path; write the path alone, e.g. /metrics"))
	case strings.IndexFunc(sc.Path, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		allErrs = append(allErrs, field.Invalid(path, sc.Path, "holds a space or a control character; write an HTTP path such as /metrics (percent-encode what a path cannot hold)"))
	}
	if d, ok := parsePromDuration(sc.Interval); !ok || d <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("interval"), sc.Interval, "is not a Prometheus duration; write e.g. 15s, 30s or 1m"))
	}
	return allErrs
}
