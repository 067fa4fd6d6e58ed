// Package processor is the vllm-hpa function: it reads the configs of a
// ResourceList, defaults and validates them, checks them against the workloads
// they target, builds the objects they want and reconciles those with the items.
package processor

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/reconcile"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/workload"
)

// target is a config's workload found among the items.
type target struct {
	workload *workload.Workload
	hpa      string
}

// Process runs the function over rl in place. On any error result the items are
// left exactly as they came: nothing is half-written.
func Process(rl *fn.ResourceList) {
	// Results are output only; any in the input belong to an earlier function.
	rl.Results = nil
	sources, results := config.Read(rl)
	var configs []*v1alpha1.VLLMHPAConfig
	var targets []target
	dirs := map[string]string{}
	for _, src := range sources {
		c := src.Config
		g := givenFields(c)
		c.Default()
		w, err := workload.Find(rl.Items, c.Namespace, c.Spec.ScaleTargetRef)
		if err != nil {
			results = append(results, src.ObjectResult(fn.Warning, fmt.Sprintf(
				"the target workload cannot be read, so nothing is derived from it or checked against it: %v", err)))
		}
		if others := workload.Others(rl.Items, c.Spec.ScaleTargetRef.Kind); w == nil && len(others) > 0 {
			results = append(results, src.Result(fn.Warning, v1alpha1.FieldError{Field: "spec.scaleTargetRef.name", Value: c.Spec.ScaleTargetRef.Name, Message: fmt.Sprintf(
				"spec.scaleTargetRef names %s %s/%s, which is not in the input, but %s %s is; if kustomize renamed it (namePrefix, nameSuffix and namespace: run before transformers), name it as renamed",
				c.Spec.ScaleTargetRef.Kind, c.Namespace, c.Spec.ScaleTargetRef.Name, c.Spec.ScaleTargetRef.Kind, strings.Join(others, ", "))}))
		}
		results = append(results, derive(src, g, w)...)
		errs := c.Validate()
		if len(errs) == 0 {
			results = append(results, behaviorNotes(src)...)
			results = append(results, backendWarnings(src)...)
		}
		for _, e := range errs {
			results = append(results, src.Result(fn.Error, e))
		}
		if w != nil && len(errs) == 0 {
			results = append(results, check(src, w)...)
			targets = append(targets, target{workload: w, hpa: c.Name})
		}
		configs = append(configs, c)
		dirs[manifests.Key(c)] = path.Dir(src.Path())
	}
	results = append(results, checkDuplicateHPAs(sources, rl.Items)...)
	results = append(results, checkGKEMetricCount(sources)...)
	if !hasError(results) {
		results = append(results, checkMetricsAPIs(configs, rl.Items)...)
	}
	if hasError(results) {
		rl.Results = append(rl.Results, results...)
		return
	}

	var desired []reconcile.Desired
	for _, obj := range manifests.Build(configs) {
		ko, err := krm.FromTyped(obj.Value)
		if err == nil {
			err = ko.SetAnnotation(reconcile.OwnerAnnotation, strings.Join(obj.Owners, ","))
		}
		if err != nil {
			results = append(results, fn.GeneralResult(fmt.Sprintf("internal error: %v", err), fn.Error))
			continue
		}
		desired = append(desired, reconcile.Desired{Object: ko, Owners: obj.Owners, Path: path.Join(dirs[obj.Owners[0]], obj.File)})
	}
	items, applied := reconcile.Apply(rl.Items, desired)
	results = append(results, applied...)
	if !hasError(results) {
		rl.Items = items
		for _, t := range targets {
			if r := removeReplicas(t.workload, t.hpa); r != nil {
				results = append(results, r)
			}
		}
	}
	rl.Results = append(rl.Results, results...)
}

func hasError(results fn.Results) bool {
	return slices.ContainsFunc(results, func(r *fn.Result) bool { return r.Severity == fn.Error })
}
