package v1alpha1

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ModelNameLabel is the label vLLM puts on its metrics with the served model
// name (the first --served-model-name, else --model), which is also the name
// /v1/models reports (docs.vllm.ai, engine arguments, --served-model-name).
const ModelNameLabel = "model_name"

// validateSLOs checks spec.metrics, spec.slo and the slo of each entry of a
// defaulted config, before any target is derived: what a schema cannot say
// about them.
func (c *VLLMHPAConfig) validateSLOs() field.ErrorList {
	s := &c.Spec
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if s.Metric != nil && len(s.Metrics) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("metrics"),
			"and spec.metric are both set; give one metric under spec.metric, or several under spec.metrics (move spec.metric into the list)"))
	}
	errs = append(errs, validateMetrics(spec.Child("metrics"), s.Strategy, s.Metrics, s.SLO != nil)...)
	if s.SLO != nil {
		errs = append(errs, validateSLO(spec.Child("slo"), s.Strategy, s.SLO)...)
	}
	applies := false
	for _, m := range c.ScaledMetrics() {
		if m.SLO == nil {
			continue
		}
		applies = applies || m.SLOPath.String() == "spec.slo"
		if m.SLOPath.String() != "spec.slo" {
			errs = append(errs, validateSLO(m.SLOPath, s.Strategy, m.SLO)...)
		}
		if m.TargetAverageValue != nil {
			errs = append(errs, field.Forbidden(m.SLOPath, fmt.Sprintf(
				"derives %s, which is written too (%s); remove %s to use the target derived from the SLO, or remove %s to keep yours",
				m.Path.Child("targetAverageValue"), *m.TargetAverageValue, m.Path.Child("targetAverageValue"), m.SLOPath)))
		}
		errs = append(errs, validateProfileModel(m.SLOPath, m.SLO, m.Path.Child("labels"), m.Labels)...)
	}
	if s.SLO != nil && len(s.Metrics) > 0 && !applies {
		errs = append(errs, field.Forbidden(spec.Child("slo"),
			"applies to no metric: every entry of spec.metrics gives a targetAverageValue or its own slo; remove spec.slo, or the targetAverageValue of each entry whose target it should derive"))
	}
	return errs
}

// validateMetrics checks the entries of spec.metrics, at fldPath; sharedSLO
// says that spec.slo gives the entries without a target one.
func validateMetrics(fldPath *field.Path, strategy Strategy, metrics []MetricEntry, sharedSLO bool) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]int{}
	for i := range metrics {
		m, path := &metrics[i], fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(path.Child("name"), "is required: name the metric, e.g. "+DefaultVLLMMetric))
		} else {
			errs = append(errs, validateMetric(path, strategy, &m.Metric)...)
		}
		if m.TargetAverageValue == nil && m.SLO == nil && !sharedSLO {
			errs = append(errs, field.Required(path.Child("targetAverageValue"), fmt.Sprintf(
				"is required: give the per-pod target of %s, or an SLO to derive it from (%s, or spec.slo for every entry without a target)",
				orUnnamed(m.Name), path.Child("slo"))))
		}
		errs = append(errs, validateMetricLabels(path.Child("labels"), strategy, m.Labels)...)
		key := m.Name + "{" + labelList(m.Labels) + "}"
		if first, dup := seen[key]; dup && m.Name != "" {
			errs = append(errs, field.Invalid(path.Child("name"), m.Name, fmt.Sprintf(
				"(%q) is given twice with the same labels (%s is the other); the HorizontalPodAutoscaler would compute one replica count twice: remove one entry",
				m.Name, fldPath.Index(first))))
		} else if !dup {
			seen[key] = i
		}
	}
	return errs
}

// validateSLO checks one SLO, written at fldPath (spec.slo or spec.metrics[i].slo).
func validateSLO(fldPath *field.Path, strategy Strategy, slo *SLO) field.ErrorList {
	var errs field.ErrorList
	if strategy == StrategyGPU {
		return append(errs, field.Forbidden(fldPath,
			"cannot be used with strategy gpu: a profile measures the vLLM server's gauges, not GPU utilisation; use strategy vllm, or write the target"))
	}
	if p := slo.Percentile; p != nil && *p != 50 && *p != 90 && *p != 99 {
		errs = append(errs, field.Invalid(fldPath.Child("percentile"), *p, fmt.Sprintf("(%d) is not a percentile a profile measures; use 50, 90 or 99", *p)))
	}
	if slo.TTFT == nil && slo.TPOT == nil {
		errs = append(errs, field.Required(fldPath, "needs a latency bound: give ttft, tpot or both, e.g. ttft: 500ms"))
	}
	for _, b := range []struct {
		name  string
		bound *metav1.Duration
	}{{"ttft", slo.TTFT}, {"tpot", slo.TPOT}} {
		if b.bound != nil && b.bound.Duration <= 0 {
			errs = append(errs, field.Invalid(fldPath.Child(b.name), b.bound.Duration.String(), fmt.Sprintf("(%s) must be above zero, e.g. 500ms", b.bound.Duration)))
		}
	}
	switch {
	case slo.ProfileRef != "" && slo.Profile != nil:
		errs = append(errs, field.Forbidden(fldPath.Child("profileRef"),
			"and profile are both set; keep one: profileRef names a VLLMServerProfile among the function's items, profile holds one inline"))
	case slo.ProfileRef == "" && slo.Profile == nil:
		errs = append(errs, field.Required(fldPath.Child("profileRef"),
			"or profile is required: name a VLLMServerProfile among the function's items (vllm-loadgen profile writes one), or write its spec inline under profile"))
	case slo.ProfileRef != "":
		if msgs := validation.IsDNS1123Subdomain(slo.ProfileRef); len(msgs) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("profileRef"), slo.ProfileRef, fmt.Sprintf(
				"(%q) is not an object name: %s; give the metadata.name of a VLLMServerProfile", slo.ProfileRef, strings.Join(msgs, "; "))))
		}
	}
	return errs
}

// validateProfileModel refuses an inline profile of another model than the
// metric's model_name label selects, when both name one.
func validateProfileModel(fldPath *field.Path, slo *SLO, labelsPath *field.Path, labels map[string]string) field.ErrorList {
	want := labels[ModelNameLabel]
	if slo.Profile == nil || want == "" || slo.Profile.Model == "" || slo.Profile.Model == want {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath.Child("profile", "model"), slo.Profile.Model, fmt.Sprintf(
		"(%q) is not the model the metric is read for: %s selects %s=%s; profile %s, or correct the label",
		slo.Profile.Model, labelsPath.Child(ModelNameLabel), ModelNameLabel, want, want))}
}

// fieldErrors turns a field.ErrorList into the FieldErrors Validate returns,
// each message starting with its field path.
func fieldErrors(list field.ErrorList) []FieldError {
	out := make([]FieldError, 0, len(list))
	for _, e := range list {
		fe := FieldError{Field: e.Field, Value: e.BadValue, Message: e.Field + " " + e.Detail}
		if e.Type == field.ErrorTypeRequired || e.Type == field.ErrorTypeForbidden {
			fe.Value = nil // nothing, or nothing but the field's presence, is wrong with a value
		}
		out = append(out, fe)
	}
	return out
}

func orUnnamed(name string) string {
	if name == "" {
		return "the metric"
	}
	return name
}
