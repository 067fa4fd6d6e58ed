package v1alpha1

import "k8s.io/apimachinery/pkg/util/validation/field"

// ScaledMetric is one metric the HorizontalPodAutoscaler scales on, with where
// the config writes it and the SLO its target is derived from.
type ScaledMetric struct {
	// Metric points into the config: a derived target is set on it.
	*Metric
	// Path is where the metric is written: spec.metric or spec.metrics[i].
	Path *field.Path
	// SLO is the objective the target is derived from; nil when it is written.
	SLO *SLO
	// SLOPath is where SLO is written: spec.slo or spec.metrics[i].slo.
	SLOPath *field.Path
}

// ScaledMetrics returns the metrics of a defaulted config, in order: the
// entries of spec.metrics, or spec.metric. spec.slo applies to spec.metric, and
// to each entry that gives neither a targetAverageValue nor its own slo.
func (c *VLLMHPAConfig) ScaledMetrics() []ScaledMetric { return c.Spec.scaledMetrics() }

func (s *VLLMHPAConfigSpec) scaledMetrics() []ScaledMetric {
	slo := field.NewPath("spec", "slo")
	if len(s.Metrics) == 0 {
		if s.Metric == nil {
			return nil
		}
		m := ScaledMetric{Metric: s.Metric, Path: field.NewPath("spec", "metric")}
		if s.SLO != nil {
			m.SLO, m.SLOPath = s.SLO, slo
		}
		return []ScaledMetric{m}
	}
	out := make([]ScaledMetric, len(s.Metrics))
	for i := range s.Metrics {
		e := &s.Metrics[i]
		m := ScaledMetric{Metric: &e.Metric, Path: field.NewPath("spec", "metrics").Index(i)}
		switch {
		case e.SLO != nil:
			m.SLO, m.SLOPath = e.SLO, m.Path.Child("slo")
		case e.TargetAverageValue == nil && s.SLO != nil:
			m.SLO, m.SLOPath = s.SLO, slo
		}
		out[i] = m
	}
	return out
}
