package v1alpha1

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Limits the Kubernetes API server puts on a HorizontalPodAutoscaler's behavior.
// They are checked here because the autoscaling/v2 types carry no schema markers,
// so the generated schema of spec.behavior has their shape but not their bounds.
const (
	maxStabilizationWindowSeconds = 3600
	maxPolicyPeriodSeconds        = 1800
)

// validateBehavior checks spec.behavior the way the API server would, so that a
// wrong value fails the render instead of the apply.
func validateBehavior(b *autoscalingv2.HorizontalPodAutoscalerBehavior) []FieldError {
	var errs []FieldError
	add := func(field string, value any, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Value: value, Message: field + " " + fmt.Sprintf(format, args...)})
	}
	for _, dir := range []struct {
		field string
		rules *autoscalingv2.HPAScalingRules
	}{{"spec.behavior.scaleUp", b.ScaleUp}, {"spec.behavior.scaleDown", b.ScaleDown}} {
		r := dir.rules
		if r == nil {
			continue
		}
		if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > maxStabilizationWindowSeconds) {
			add(dir.field+".stabilizationWindowSeconds", *w, "(%d) is out of range; use 0 to %d seconds (one hour)", *w, maxStabilizationWindowSeconds)
		}
		if p := r.SelectPolicy; p != nil {
			switch *p {
			case autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect:
			default:
				add(dir.field+".selectPolicy", string(*p), "(%q) is not a select policy; use Max (the policy allowing the largest change), Min (the smallest) or Disabled (no scaling in this direction)", *p)
			}
		}
		for i, p := range r.Policies {
			field := fmt.Sprintf("%s.policies[%d]", dir.field, i)
			if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
				add(field+".type", string(p.Type), "(%q) is not a policy type; use Pods (a number of pods) or Percent (a percentage of the current replicas)", p.Type)
			}
			if p.Value <= 0 {
				add(field+".value", p.Value, "(%d) must be above 0", p.Value)
			}
			if p.PeriodSeconds <= 0 || p.PeriodSeconds > maxPolicyPeriodSeconds {
				add(field+".periodSeconds", p.PeriodSeconds, "(%d) is out of range; use 1 to %d seconds (30 minutes)", p.PeriodSeconds, maxPolicyPeriodSeconds)
			}
		}
		if t := r.Tolerance; t != nil && t.Sign() < 0 {
			add(dir.field+".tolerance", t.String(), "(%s) must not be negative; use a fraction such as 0.1 (10%%)", t.String())
		}
	}
	return errs
}
