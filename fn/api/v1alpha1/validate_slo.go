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
// defaulted spec (at fldPath), before any target is derived: what a schema
// cannot say about them.
func validateSLOs(fldPath *field.Path, s *VLLMHPAConfigSpec) field.ErrorList {
	spec := fldPath
	var errs field.ErrorList
	if s.Metric != nil && len(s.Metrics) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("metrics"),
			"may not be set with spec.metric; give one metric under spec.metric, or several under spec.metrics (move spec.metric into the list)"))
	}
	errs = append(errs, validateMetrics(spec.Child("metrics"), s.Strategy, s.Metrics, s.SLO != nil)...)
	if s.SLO != nil {
		errs = append(errs, validateSLO(spec.Child("slo"), s.Strategy, s.SLO)...)
	}
	applies := false
	for _, m := range s.scaledMetrics() {
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
			errs = append(errs, field.Required(path.Child("name"), "name the metric, e.g. "+DefaultVLLMMetric))
		} else {
			errs = append(errs, validateMetric(path, strategy, &m.Metric)...)
		}
		if m.TargetAverageValue == nil && m.SLO == nil && !sharedSLO {
			errs = append(errs, field.Required(path.Child("targetAverageValue"), fmt.Sprintf(
				"give the per-pod target of %s, or an SLO to derive it from (%s, or spec.slo for every entry without a target)",
				orUnnamed(m.Name), path.Child("slo"))))
		}
		errs = append(errs, validateMetricLabels(path.Child("labels"), strategy, m.Labels)...)
		key := m.Name + "{" + FormatSelector(m.Labels) + "}"
		if first, dup := seen[key]; dup && m.Name != "" {
			errs = append(errs, field.Invalid(path.Child("name"), m.Name, fmt.Sprintf(
				"is given twice with the same labels (%s is the other); the HorizontalPodAutoscaler would compute one replica count twice: remove one entry",
				fldPath.Index(first))))
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
		errs = append(errs, field.Invalid(fldPath.Child("percentile"), *p, "is not a percentile a profile measures; use 50, 90 or 99"))
	}
	if slo.TTFT == nil && slo.TPOT == nil {
		errs = append(errs, field.Required(fldPath, "an SLO needs a latency bound: give ttft, tpot or both, e.g. ttft: 500ms"))
	}
	for _, b := range []struct {
		name  string
		bound *metav1.Duration
	}{{"ttft", slo.TTFT}, {"tpot", slo.TPOT}} {
		if b.bound != nil && b.bound.Duration <= 0 {
			errs = append(errs, field.Invalid(fldPath.Child(b.name), b.bound.Duration.String(), "must be above zero, e.g. 500ms"))
		}
	}
	switch {
	case slo.ProfileRef != "" && slo.Profile != nil:
		errs = append(errs, field.Forbidden(fldPath.Child("profileRef"),
			"may not be set with profile; keep one: profileRef names a VLLMServerProfile among the function's items, profile holds one inline"))
	case slo.ProfileRef == "" && slo.Profile == nil:
		errs = append(errs, field.Required(fldPath.Child("profileRef"),
			"give profileRef or profile: name a VLLMServerProfile among the function's items (vllm-loadgen profile writes one), or write its spec inline under profile"))
	case slo.ProfileRef != "":
		if msgs := validation.IsDNS1123Subdomain(slo.ProfileRef); len(msgs) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("profileRef"), slo.ProfileRef,
				"is not an object name: "+strings.Join(msgs, "; ")+"; give the metadata.name of a VLLMServerProfile"))
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
		"is not the model the metric is read for: %s selects %s=%s; profile %s, or correct the label",
		labelsPath.Child(ModelNameLabel), ModelNameLabel, want, want))}
}

func orUnnamed(name string) string {
	if name == "" {
		return "the metric"
	}
	return name
}
