package hpa

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Defaulted returns the Spec of an autoscaling/v2 HPA as the API server
// stores it: minReplicas 1 when unset, and a behavior that is present filled
// with the defaults of pkg/apis/autoscaling/v2/defaults.go (scale up: no
// window, max of 4 pods or 100% per 15 s; scale down: 100% per 15 s, the
// window left to the controller's flag).
func Defaulted(h *autoscalingv2.HorizontalPodAutoscaler) (Spec, error) {
	s := Spec{MinReplicas: 1, MaxReplicas: h.Spec.MaxReplicas}
	if h.Spec.MinReplicas != nil {
		s.MinReplicas = *h.Spec.MinReplicas
	}
	if s.MinReplicas < 1 {
		return s, fmt.Errorf("spec.minReplicas (%d) is below 1; scale-to-zero is not simulated", s.MinReplicas)
	}
	if s.MaxReplicas < s.MinReplicas {
		return s, fmt.Errorf("spec.maxReplicas (%d) is below spec.minReplicas (%d)", s.MaxReplicas, s.MinReplicas)
	}
	if len(h.Spec.Metrics) == 0 {
		return s, fmt.Errorf("spec.metrics is empty; the simulator needs a Pods metric (the API server would default to CPU, which a vLLM server does not scale on)")
	}
	for i, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.PodsMetricSourceType || m.Pods == nil {
			return s, fmt.Errorf("spec.metrics[%d].type is %q; only Pods metrics are simulated", i, m.Type)
		}
		t := m.Pods.Target
		if t.Type != autoscalingv2.AverageValueMetricType || t.AverageValue == nil {
			return s, fmt.Errorf("spec.metrics[%d].pods.target: Pods metrics take an AverageValue target", i)
		}
		milli := t.AverageValue.MilliValue()
		if milli <= 0 {
			return s, fmt.Errorf("spec.metrics[%d].pods.target.averageValue (%s) must be above 0", i, t.AverageValue.String())
		}
		s.Metrics = append(s.Metrics, Metric{Name: m.Pods.Metric.Name, TargetMilli: milli})
	}
	if h.Spec.Behavior != nil {
		b := h.Spec.Behavior.DeepCopy()
		b.ScaleUp = fill(b.ScaleUp, defaultScaleUp())
		b.ScaleDown = fill(b.ScaleDown, defaultScaleDown())
		s.Behavior = b
	}
	return s, nil
}

func defaultScaleUp() *autoscalingv2.HPAScalingRules {
	window := int32(0)
	policy := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: &window,
		SelectPolicy:               &policy,
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
}

func defaultScaleDown() *autoscalingv2.HPAScalingRules {
	policy := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{
		SelectPolicy: &policy,
		Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
	}
}

// fill is copyHPAScalingRules: every field the user set wins.
func fill(from, to *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return to
	}
	if from.SelectPolicy != nil {
		to.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		to.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		to.Policies = from.Policies
	}
	if from.Tolerance != nil {
		to.Tolerance = from.Tolerance
	}
	return to
}
