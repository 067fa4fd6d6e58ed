// Package processor is the vllm-hpa function. process runs its steps in
// order, each taking what the one before returns: read the configs, prepare
// them (default, derive from the workload, validate, check against the
// workload; prepare.go), build the objects they want, reconcile those with
// the items, finish. run.go reads stdin and writes stdout around it.
package processor

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/reconcile"
)

// Process runs the function over rl in place. On any error result the items are
// left exactly as they came: nothing is half-written.
func Process(rl *fn.ResourceList) { process(rl) }

// process is Process, and returns what the run found and changed, for Main to
// print and for processAliased to carry over to the items as written. Every
// step reports to rep; after a step that reports an error, none runs that
// would change the items.
func process(rl *fn.ResourceList) *report {
	rl.Results = nil // any in the input belong to an earlier function
	rep := &report{}
	defer func() { rl.Results = rep.results }()

	sources := read(rl, rep)
	inv := inventory.New(rl.Items)
	p := prepare(sources, inv, rep)
	if rep.hasError() {
		return rep
	}
	objects := build(p)
	rep.add("", checkMetricsAPIs(objects, rl.Items)...)
	if rep.hasError() {
		return rep
	}
	items := reconcileItems(inv, p, objects, rep)
	if rep.hasError() {
		return rep
	}
	finish(rl, items, p, rep)
	return rep
}

// read finds and decodes the configs of rl, as their users wrote them.
func read(rl *fn.ResourceList, rep *report) []*config.Source {
	sources, results := config.Read(rl)
	rep.add("", results...)
	return sources
}

// build returns the objects the prepared configs want: a pure function of them.
func build(p *plan) []manifests.Object {
	return manifests.Build(p.configs())
}

// reconcileItems merges the objects into the items: each marked with the
// configs that own it and placed next to the config of its first owner.
func reconcileItems(inv *inventory.Inventory, p *plan, objects []manifests.Object, rep *report) fn.KubeObjects {
	desired := make([]reconcile.Desired, 0, len(objects))
	for _, obj := range objects {
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
			Path: path.Join(p.dirs[obj.Owners[0]], obj.File),
		})
	}
	items, results := reconcile.Apply(inv, desired, p.keys)
	rep.add("", results...)
	return items
}

// finish writes the items to rl and leaves each target's replica count to its
// HorizontalPodAutoscaler.
func finish(rl *fn.ResourceList, items fn.KubeObjects, p *plan, rep *report) {
	rl.Items = items
	for _, c := range p.prepared {
		if c.workload == nil {
			continue
		}
		if res := removeReplicas(c); res != nil {
			rep.add("", res)
			rep.edits = append(rep.edits, edit{object: c.workload.Object, field: []string{"spec", "replicas"}, result: res})
		}
	}
}

// removeReplicas leaves the replica count to the HPA: a fixed spec.replicas that a
// GitOps tool syncs (Config Sync, Argo CD) would undo every scaling.
func removeReplicas(c *prepared) *fn.Result {
	w := c.workload
	was, err := w.RemoveReplicas()
	if err != nil || was == "" {
		return nil
	}
	r := config.ObjectResult(w.Object, fn.Info, fmt.Sprintf(
		"removed spec.replicas (%s) from %s: the HorizontalPodAutoscaler %s owns the replica count, and a fixed value synced from Git would undo every scaling",
		was, w.Describe(), c.config.Name))
	r.Field = &fn.Field{Path: "spec.replicas", CurrentValue: was}
	return r
}

func hasError(results fn.Results) bool {
	return slices.ContainsFunc(results, func(r *fn.Result) bool { return r.Severity == fn.Error })
}
