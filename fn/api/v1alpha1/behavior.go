package v1alpha1

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
func validateBehavior(fldPath *field.Path, b *autoscalingv2.HorizontalPodAutoscalerBehavior) field.ErrorList {
	allErrs := validateScalingRules(fldPath.Child("scaleUp"), b.ScaleUp)
	return append(allErrs, validateScalingRules(fldPath.Child("scaleDown"), b.ScaleDown)...)
}

func validateScalingRules(fldPath *field.Path, r *autoscalingv2.HPAScalingRules) field.ErrorList {
	if r == nil {
		return nil
	}
	var allErrs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > maxStabilizationWindowSeconds) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w,
			fmt.Sprintf("is out of range; use 0 to %d seconds (one hour)", maxStabilizationWindowSeconds)))
	}
	if p := r.SelectPolicy; p != nil {
		switch *p {
		case autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect:
		default:
			e := field.NotSupported(fldPath.Child("selectPolicy"), string(*p), []autoscalingv2.ScalingPolicySelect{
				autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect})
			e.Detail += " (Max: the policy allowing the largest change, Min: the smallest, Disabled: no scaling in this direction)"
			allErrs = append(allErrs, e)
		}
	}
	for i, p := range r.Policies {
		idxPath := fldPath.Child("policies").Index(i)
		if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
			e := field.NotSupported(idxPath.Child("type"), string(p.Type), []autoscalingv2.HPAScalingPolicyType{
				autoscalingv2.PodsScalingPolicy, autoscalingv2.PercentScalingPolicy})
			e.Detail += " (Pods: a number of pods, Percent: a percentage of the current replicas)"
			allErrs = append(allErrs, e)
		}
		if p.Value <= 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("value"), p.Value, "must be above 0"))
		}
		if p.PeriodSeconds <= 0 || p.PeriodSeconds > maxPolicyPeriodSeconds {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("periodSeconds"), p.PeriodSeconds,
				fmt.Sprintf("is out of range; use 1 to %d seconds (30 minutes)", maxPolicyPeriodSeconds)))
		}
	}
	if t := r.Tolerance; t != nil && t.Sign() < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("tolerance"), t.String(), "must not be negative; use a fraction such as 0.1 (10%)"))
	}
	return allErrs
}
