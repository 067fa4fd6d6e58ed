package v1alpha1

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FieldError is one problem with one field of a config.
type FieldError struct {
	// Field is the path of the field, e.g. spec.maxReplicas.
	Field string
	// Value is the offending value, nil when the field is missing.
	Value any
	// Message says what is wrong and how to fix it; it starts with the field path.
	Message string
}

func (e FieldError) Error() string { return e.Message }

// promMetricName is the Prometheus metric name syntax (colons allowed).
var promMetricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

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
// returns every other problem it finds, in field order. An empty result means
// the config can be rendered, once the targets its SLOs apply to are derived.
func (c *VLLMHPAConfig) Validate() []FieldError {
	var errs []FieldError
	add := func(field string, value any, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Value: value, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	s := &c.Spec

	switch {
	case c.Name == "":
		add("metadata.name", nil, "is required; it names the HorizontalPodAutoscaler and the PodMonitoring")
	default:
		if msgs := validation.IsDNS1123Label(c.Name); len(msgs) > 0 {
			add("metadata.name", c.Name, "(%q) is not a DNS-1123 label: %s; use lower-case letters, digits and '-', at most 63 characters", c.Name, strings.Join(msgs, "; "))
		}
	}
	if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		add("metadata.namespace", c.Namespace, "(%q) is not a valid namespace: %s", c.Namespace, strings.Join(msgs, "; "))
	}

	errs = append(errs, validateTarget(s.ScaleTargetRef)...)

	if s.MaxReplicas < *s.MinReplicas {
		add("spec.maxReplicas", s.MaxReplicas, "(%d) is below spec.minReplicas (%d); raise maxReplicas or lower minReplicas", s.MaxReplicas, *s.MinReplicas)
	}

	if s.Metric != nil {
		metric := field.NewPath("spec", "metric")
		errs = append(errs, fieldErrors(validateMetric(metric, s.Strategy, s.Metric))...)
		errs = append(errs, fieldErrors(validateMetricLabels(metric.Child("labels"), s.Strategy, s.Metric.Labels))...)
	}
	errs = append(errs, fieldErrors(c.validateSLOs())...)
	errs = append(errs, validateBehavior(s.Behavior)...)

	if s.Strategy == StrategyVLLM {
		if len(s.PodSelector) == 0 {
			add("spec.podSelector", nil, "is required for strategy vllm: give the labels of the vLLM pods (e.g. app: vllm-gemma), or add the Deployment %q to the function's input so its labels can be read", s.ScaleTargetRef.Name)
		}
		errs = append(errs, validateScrape(s.Scrape)...)
	}
	for _, k := range slices.Sorted(maps.Keys(s.PodSelector)) {
		field := "spec.podSelector." + k
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			add(field, k, "has an invalid label key %q: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(s.PodSelector[k]); len(msgs) > 0 {
			add(field, s.PodSelector[k], "(%q) is not a valid label value: %s", s.PodSelector[k], strings.Join(msgs, "; "))
		}
	}

	errs = append(errs, validateAdapterImage(s.Adapter.Image)...)
	if gsa := s.Adapter.GCPServiceAccount; gsa != "" && !isServiceAccountEmail(gsa) {
		add("spec.adapter.gcpServiceAccount", gsa, "(%q) is not a Google service account email; write it as NAME@PROJECT.iam.gserviceaccount.com, or leave it empty and grant roles/monitoring.viewer to the adapter's principal", gsa)
	}
	return errs
}

// serviceAccountName is the part of a Google service account email before the
// '@': an account ID ([a-z]([-a-z0-9]*[a-z0-9]), 6-30 characters, per
// cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create),
// or the project number that starts the default compute account
// (PROJECT_NUMBER-compute@developer.gserviceaccount.com).
var serviceAccountName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// isServiceAccountEmail reports whether s is written as a Google service
// account email: NAME@DOMAIN, DOMAIN a DNS name under gserviceaccount.com
// (PROJECT.iam, developer, appspot), nothing else around it.
func isServiceAccountEmail(s string) bool {
	name, domain, ok := strings.Cut(s, "@")
	return ok && len(name) <= 63 && serviceAccountName.MatchString(name) &&
		strings.HasSuffix(domain, ".gserviceaccount.com") && len(validation.IsDNS1123Subdomain(domain)) == 0
}

func validateTarget(ref ScaleTargetRef) []FieldError {
	var errs []FieldError
	if msgs := validation.IsDNS1123Subdomain(ref.Name); len(msgs) > 0 {
		errs = append(errs, FieldError{Field: "spec.scaleTargetRef.name", Value: ref.Name,
			Message: fmt.Sprintf("spec.scaleTargetRef.name (%q) is not a valid object name: %s", ref.Name, strings.Join(msgs, "; "))})
	}
	for _, t := range SupportedTargets {
		if t.APIVersion == ref.APIVersion && t.Kind == ref.Kind {
			return errs
		}
	}
	var names []string
	for _, t := range SupportedTargets {
		names = append(names, t.APIVersion+" "+t.Kind)
	}
	return append(errs, FieldError{Field: "spec.scaleTargetRef.kind", Value: ref.APIVersion + " " + ref.Kind,
		Message: fmt.Sprintf("spec.scaleTargetRef.kind (%s, apiVersion %s) is not a workload this function can scale; use one of: %s", ref.Kind, ref.APIVersion, strings.Join(names, ", "))})
}

// validateMetric checks a metric's name and target, written at fldPath
// (spec.metric or spec.metrics[i]). A target left to an SLO is checked once
// derived; until then the derivation reports why there is none.
func validateMetric(fldPath *field.Path, strategy Strategy, m *Metric) field.ErrorList {
	var errs field.ErrorList
	name, target := fldPath.Child("name"), fldPath.Child("targetAverageValue")
	switch {
	case m.Name == removedKVCacheMetric:
		errs = append(errs, field.Invalid(name, m.Name, fmt.Sprintf("(%q) was removed from vLLM; use %q (the same 0-1 fraction under its new name)", m.Name, kvCacheMetric)))
	case strategy == StrategyGPU && m.Name != GPUMetric:
		errs = append(errs, field.Invalid(name, m.Name, fmt.Sprintf("(%q) cannot be used with strategy gpu, which records only %q; remove %s or use strategy vllm", m.Name, GPUMetric, name)))
	case !promMetricName.MatchString(m.Name):
		errs = append(errs, field.Invalid(name, m.Name, fmt.Sprintf("(%q) is not a Prometheus metric name; use letters, digits, '_' and ':', e.g. vllm:num_requests_waiting", m.Name)))
	}
	if m.TargetAverageValue == nil {
		return errs
	}
	raw := string(*m.TargetAverageValue)
	q, err := resource.ParseQuantity(raw)
	if err != nil || q.Sign() <= 0 {
		return append(errs, field.Invalid(target, raw, fmt.Sprintf("(%q) is not a positive quantity; write a number above zero such as 4, 0.8 or \"500m\"", raw)))
	}
	switch {
	case q.Cmp(maxTarget) > 0:
		errs = append(errs, field.Invalid(target, raw, fmt.Sprintf("(%s) is above %s, more than any vLLM or GPU gauge reaches, so the HorizontalPodAutoscaler would never scale up; use a realistic per-pod value such as 4", raw, maxTarget.String())))
	case m.Name == kvCacheMetric && q.Cmp(resource.MustParse("1")) > 0:
		errs = append(errs, field.Invalid(target, raw, fmt.Sprintf("(%s) is above 1, but %s is a 0-1 fraction, so the target could never be reached; use a fraction such as 0.8", raw, kvCacheMetric)))
	case strategy == StrategyGPU && q.Cmp(resource.MustParse("100")) > 0:
		errs = append(errs, field.Invalid(target, raw, fmt.Sprintf("(%s) is above 100, but GPU utilisation is a percentage (0-100); use a value such as 60", raw)))
	}
	return errs
}

func validateScrape(sc *Scrape) []FieldError {
	var errs []FieldError
	add := func(field string, value any, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Value: value, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	port := *sc.Port
	if port.Type == intstr.Int {
		if msgs := validation.IsValidPortNum(port.IntValue()); len(msgs) > 0 {
			add("spec.scrape.port", port.IntValue(), "(%d) is not a port number; use 1-65535 or the name of the container port", port.IntValue())
		}
	} else if msgs := validation.IsValidPortName(port.StrVal); len(msgs) > 0 {
		add("spec.scrape.port", port.StrVal, "(%q) is not a valid port name: %s; use the container port's name (e.g. metrics) or its number", port.StrVal, strings.Join(msgs, "; "))
	}
	switch {
	case !strings.HasPrefix(sc.Path, "/"):
		add("spec.scrape.path", sc.Path, "(%q) must start with '/', e.g. /metrics", sc.Path)
	case strings.ContainsAny(sc.Path, "?#"):
		// Prometheus builds the scrape URL with this as its path and its own
		// query (prometheus/prometheus scrape/target.go, Target.URL), so a '?'
		// or '#' would be sent escaped, as part of the path.
		add("spec.scrape.path", sc.Path, "(%q) holds a query string or a fragment, which Prometheus would send as part of the path; write the path alone, e.g. /metrics", sc.Path)
	case strings.IndexFunc(sc.Path, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		add("spec.scrape.path", sc.Path, "(%q) holds a space or a control character; write an HTTP path such as /metrics (percent-encode what a path cannot hold)", sc.Path)
	}
	if d, ok := parsePromDuration(sc.Interval); !ok || d <= 0 {
		add("spec.scrape.interval", sc.Interval, "(%q) is not a Prometheus duration; write e.g. 15s, 30s or 1m", sc.Interval)
	}
	return errs
}
