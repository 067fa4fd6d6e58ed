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
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
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

// plan is what the configs of one run want, prepared for building.
type plan struct {
	sources []*config.Source
	configs []*v1alpha1.VLLMHPAConfig
	// keys are the configs of the run, as namespace/name.
	keys    map[string]bool
	targets []target
	// dirs holds the package directory of each config, by key.
	dirs map[string]string
}

// Process runs the function over rl in place. On any error result the items are
// left exactly as they came: nothing is half-written.
func Process(rl *fn.ResourceList) { process(rl) }

// process is Process, and returns what the run found and changed, for Main to
// print and for processAliased to carry over to the items as written.
func process(rl *fn.ResourceList) *report {
	// Results are output only; any in the input belong to an earlier function.
	rl.Results = nil
	rep := &report{}
	defer func() { rl.Results = rep.results }()

	sources, results := config.Read(rl)
	rep.add("", results...)
	inv := inventory.New(rl.Items)
	r := prepare(sources, inv, rep)
	checkDuplicateHPAs(r, inv, rep)
	if !rep.hasError() {
		rep.add("", checkMetricsAPIs(r.configs, rl.Items)...)
	}
	if rep.hasError() {
		return rep
	}
	desired := build(r, rep)
	items, applied := reconcile.Apply(inv, desired, r.keys)
	rep.add("", applied...)
	if rep.hasError() {
		return rep
	}
	rl.Items = items
	for _, t := range r.targets {
		if res := removeReplicas(t.workload, t.hpa); res != nil {
			rep.add("", res)
			rep.edits = append(rep.edits, edit{object: t.workload.Object, field: []string{"spec", "replicas"}, result: res})
		}
	}
	return rep
}

// prepare defaults each config, derives what it leaves out from its workload,
// validates it and checks it against the workload.
func prepare(sources []*config.Source, inv *inventory.Inventory, rep *report) *plan {
	r := &plan{sources: sources, keys: map[string]bool{}, dirs: map[string]string{}}
	hints := map[manifests.ID]candidates{}
	// Each workload is read once, however many configs name it.
	type found struct {
		w   *workload.Workload
		err error
	}
	workloads := map[manifests.ID]found{}
	for _, src := range sources {
		c := src.Config
		g := givenFields(c)
		c.Default()
		ref := c.Spec.ScaleTargetRef
		id := manifests.NewID(ref.APIVersion, ref.Kind, c.Namespace, ref.Name)
		f, ok := workloads[id]
		if !ok {
			f.w, f.err = workload.Find(inv, c.Namespace, ref)
			workloads[id] = f
		}
		w, err := f.w, f.err
		if err != nil {
			rep.add(kindTargetUnreadable, src.Result(fn.Warning, v1alpha1.FieldError{Field: "spec.scaleTargetRef.name", Value: c.Spec.ScaleTargetRef.Name, Message: fmt.Sprintf(
				"spec.scaleTargetRef names %s %s/%s, which cannot be read, so nothing is derived from it or checked against it: %v",
				c.Spec.ScaleTargetRef.Kind, c.Namespace, c.Spec.ScaleTargetRef.Name, err)}))
		}
		if w == nil {
			rep.add(kindTargetRenamed, renamedHint(src, inv, hints)...)
		}
		rep.add(kindDerive, derive(src, g, w)...)
		errs := c.Validate()
		if len(errs) == 0 {
			rep.add("", behaviorNotes(src)...)
			rep.add("", deriveTargets(src, inv, w)...)
		}
		for _, e := range errs {
			rep.add("", src.Result(fn.Error, e))
		}
		if w != nil && len(errs) == 0 {
			rep.add(kindCheck, check(src, w)...)
			r.targets = append(r.targets, target{workload: w, hpa: c.Name})
		}
		r.configs = append(r.configs, c)
		r.keys[manifests.Key(c)] = true
		r.dirs[manifests.Key(c)] = path.Dir(src.Path())
	}
	return r
}

// renamedHint warns about a target that is not among the items while workloads
// of its kind are in its namespace: kustomize may have renamed it. The
// candidates of each kind and namespace are listed once, in seen.
func renamedHint(src *config.Source, inv *inventory.Inventory, seen map[manifests.ID]candidates) fn.Results {
	c := src.Config
	ref := c.Spec.ScaleTargetRef
	key := manifests.NewID(ref.APIVersion, ref.Kind, c.Namespace, "")
	found, ok := seen[key]
	if !ok {
		found.names, found.more = workload.Candidates(inv, c.Namespace, ref)
		seen[key] = found
	}
	names, more := slices.Clone(found.names), found.more
	if len(names) == 0 {
		return nil
	}
	for i, n := range names {
		names[i] = c.Namespace + "/" + n
	}
	list, verb := strings.Join(names, ", "), "is"
	if more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	if len(names)+more > 1 {
		verb = "are"
	}
	return fn.Results{src.Result(fn.Warning, v1alpha1.FieldError{Field: "spec.scaleTargetRef.name", Value: ref.Name, Message: fmt.Sprintf(
		"spec.scaleTargetRef names %s %s/%s, which is not in the input, but %s %s %s; if kustomize renamed it (namePrefix, nameSuffix and namespace: run before transformers), name it as renamed",
		ref.Kind, c.Namespace, ref.Name, ref.Kind, list, verb)})}
}

// candidates are the workloads a renamed-target hint names, and how many more.
type candidates struct {
	names []string
	more  int
}

// build returns the objects the configs want, as reconcile takes them.
func build(r *plan, rep *report) []reconcile.Desired {
	var desired []reconcile.Desired
	for _, obj := range manifests.Build(r.configs) {
		ko, err := krm.FromTyped(obj.Value)
		if err == nil {
			err = ko.SetAnnotation(reconcile.OwnerAnnotation, strings.Join(obj.Owners, ","))
		}
		if err != nil {
			rep.add("", fn.GeneralResult(fmt.Sprintf("internal error: %v", err), fn.Error))
			continue
		}
		desired = append(desired, reconcile.Desired{
			Object: ko, ID: manifests.IDOf(obj.Value), Owners: obj.Owners,
			Path: path.Join(r.dirs[obj.Owners[0]], obj.File),
		})
	}
	return desired
}

func hasError(results fn.Results) bool {
	return slices.ContainsFunc(results, func(r *fn.Result) bool { return r.Severity == fn.Error })
}
