package processor

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/slo"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/workload"
)

// deriveTargets sets the target of each metric of a valid, defaulted config that
// an SLO applies to, derived from the SLO's profile (written inline, or a
// VLLMServerProfile among the items, which passes through untouched), and
// reports each derivation as an info result. The workload, when among the
// items, must serve the profiled model. A metric whose target cannot be
// derived keeps none, and the error result says why.
func deriveTargets(p *prepared, inv *inventory.Inventory) fn.Results {
	src, c, w := p.src, p.config, p.workload
	var results fn.Results
	tolerance, toleranceFrom := scaleUpTolerance(c)
	for _, m := range c.ScaledMetrics() {
		if m.SLO == nil {
			continue
		}
		prof, err := resolveProfile(c, inv, m)
		if err == nil {
			err = checkModel(prof, m, w)
		}
		if err != nil {
			results = append(results, src.Result(fn.Error, err))
			continue
		}
		o := objective(m.SLO)
		d, derr := slo.Derive(m.Name, o, prof.spec, tolerance)
		if derr != nil {
			var e *slo.Error
			msg := derr.Error()
			if errors.As(derr, &e) {
				msg = e.Message
			}
			results = append(results, src.Result(fn.Error, field.Invalid(m.SLOPath, field.OmitValueType{}, fmt.Sprintf(
				"derives no target of %s from %s: %s", m.Name, prof.describe(), msg))))
			continue
		}
		target := v1alpha1.Quantity(d.Target)
		m.TargetAverageValue = &target
		results = append(results, src.Note(fn.Info, m.Path.Child("targetAverageValue"), d.Target, fmt.Sprintf(
			"set to %s, derived from %s (%s) and %s: %s", d.Target, m.SLOPath, o, prof.describe(), d.Explain(o, toleranceFrom))))
	}
	return results
}

// profile is the measurement an SLO is derived with, and where it was read.
type profile struct {
	spec *v1alpha1.VLLMServerProfileSpec
	// name is the VLLMServerProfile's name, "" for a profile written inline.
	name string
	// path is where the config gives it: spec.slo.profileRef or spec.slo.profile.
	path *field.Path
}

// describe names the profile and what it measured, for a message.
func (p *profile) describe() string {
	what := p.spec.Model
	if p.spec.Accelerator != "" {
		what += " on " + p.spec.Accelerator
	}
	what += fmt.Sprintf(", %d-token prompts, %d-token answers", p.spec.Workload.PromptTokens, p.spec.Workload.MaxTokens)
	if p.name == "" {
		return fmt.Sprintf("the profile in %s (%s)", p.path, what)
	}
	return fmt.Sprintf("%s %s (%s)", v1alpha1.ProfileKind, p.name, what)
}

// resolveProfile returns the profile of m's SLO: the one written inline, or the
// VLLMServerProfile profileRef names, in the config's namespace or written
// without one (a profile is local config: vllm-loadgen profile writes none).
func resolveProfile(c *v1alpha1.VLLMHPAConfig, inv *inventory.Inventory, m v1alpha1.ScaledMetric) (*profile, *field.Error) {
	if m.SLO.Profile != nil {
		return &profile{spec: m.SLO.Profile, path: m.SLOPath.Child("profile")}, nil
	}
	ref, refPath := m.SLO.ProfileRef, m.SLOPath.Child("profileRef")
	found := inv.Lookup(manifests.NewID(v1alpha1.APIVersion, v1alpha1.ProfileKind, c.Namespace, ref))
	if len(found) == 0 && c.Namespace != v1alpha1.DefaultNamespace {
		for _, e := range inv.Lookup(manifests.NewID(v1alpha1.APIVersion, v1alpha1.ProfileKind, v1alpha1.DefaultNamespace, ref)) {
			if e.Object.GetNamespace() == "" {
				found = append(found, e)
			}
		}
	}
	if len(found) == 0 {
		e := field.NotFound(refPath, ref)
		e.Detail = fmt.Sprintf("names no %s among the function's items (in namespace %s, or without a namespace); add the profile that vllm-loadgen profile wrote to the package, "+
			"or write its spec inline under %s (a kustomize generator sees only the config)",
			v1alpha1.ProfileKind, c.Namespace, m.SLOPath.Child("profile"))
		return nil, e
	}
	obj := found[0].Object
	p, err := decodeProfile(obj)
	if err != nil {
		where := ""
		if path := obj.PathAnnotation(); path != "" {
			where = " (" + path + ")"
		}
		return nil, field.Invalid(refPath, ref, fmt.Sprintf(
			"names %s %s%s, which cannot be read: %v; write it as vllm-loadgen profile does", v1alpha1.ProfileKind, ref, where, err))
	}
	return &profile{spec: &p.Spec, name: ref, path: refPath}, nil
}

// decodeProfile reads a VLLMServerProfile strictly: a misspelled field is an
// error, not a measurement silently left out.
func decodeProfile(obj *fn.KubeObject) (*v1alpha1.VLLMServerProfile, error) {
	if obj.GetAPIVersion() != v1alpha1.APIVersion {
		return nil, fmt.Errorf("apiVersion %s is not %s", obj.GetAPIVersion(), v1alpha1.APIVersion)
	}
	j, err := sigsyaml.YAMLToJSON([]byte(obj.String()))
	if err != nil {
		return nil, err
	}
	var p v1alpha1.VLLMServerProfile
	strict, err := sigsjson.UnmarshalStrict(j, &p)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, strict[0]
	}
	if p.Spec.Model == "" || len(p.Spec.Points) == 0 {
		return nil, errors.New("it has no spec.model or no spec.points")
	}
	return &p, nil
}

// checkModel refuses a profile of another model than the one the metric is
// read for (its model_name label) or the workload serves, when both name one.
// An inline profile's model is checked against the label with the config.
func checkModel(p *profile, m v1alpha1.ScaledMetric, w *workload.Workload) *field.Error {
	path := p.path
	if p.name == "" {
		path = p.path.Child("model")
	}
	measured := p.spec.Model
	if label := m.Labels[v1alpha1.ModelNameLabel]; p.name != "" && label != "" && label != measured {
		return field.Invalid(path, p.name, fmt.Sprintf(
			"names %s %s, which measured %s, but %s selects %s=%s; profile %s, or correct the label",
			v1alpha1.ProfileKind, p.name, measured, m.Path.Child("labels", v1alpha1.ModelNameLabel), v1alpha1.ModelNameLabel, label, label))
	}
	if w == nil {
		return nil
	}
	served := w.ServedModels()
	if len(served) == 0 || slices.Contains(served, measured) {
		return nil
	}
	fix := "a target derived from another model's latency would not hold: profile the model the workload serves"
	if p.name == "" {
		return field.Invalid(path, measured, fmt.Sprintf(
			"is not a model %s serves (%s); %s", w.Describe(), strings.Join(served, ", "), fix))
	}
	return field.Invalid(path, p.name, fmt.Sprintf(
		"names %s %s, which measured %s, but %s serves %s; %s",
		v1alpha1.ProfileKind, p.name, measured, w.Describe(), strings.Join(served, ", "), fix))
}

// objective is an SLO as the derivation reads it.
func objective(s *v1alpha1.SLO) slo.Objective {
	o := slo.Objective{Percentile: int32(v1alpha1.DefaultSLOPercentile)}
	if s.Percentile != nil {
		o.Percentile = int32(*s.Percentile)
	}
	if s.TTFT != nil {
		o.TTFT = s.TTFT.Duration
	}
	if s.TPOT != nil {
		o.TPOT = s.TPOT.Duration
	}
	return o
}

// scaleUpTolerance is the tolerance the HorizontalPodAutoscaler scales up with,
// and where it comes from.
func scaleUpTolerance(c *v1alpha1.VLLMHPAConfig) (resource.Quantity, string) {
	if b := c.Spec.Behavior; b != nil && b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		return *b.ScaleUp.Tolerance, "spec.behavior.scaleUp.tolerance"
	}
	return slo.DefaultTolerance, "the HorizontalPodAutoscaler's default"
}
