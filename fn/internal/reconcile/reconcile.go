// Package reconcile merges the objects the configs of a run want into the
// package's items. It changes or removes only what those configs own: it
// replaces their objects and removes the ones none of them wants any more
// (a cluster-wide object they share with configs outside the run keeps those
// as owners, and is kept for them; one of configs outside the run that is
// exactly what the run wants is shared, its content untouched), and refuses to
// overwrite any other object at a name it writes. Everything else comes back as it went in.
package reconcile

import (
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// The annotations the function reads on the objects it meets.
const (
	OwnerAnnotation   = inventory.OwnerAnnotation
	ManagedAnnotation = inventory.ManagedAnnotation
)

// keptAnnotations say where an orchestrator keeps an object; a replaced object
// keeps them so that kpt writes it back to the same file. Its index is chosen
// afresh (see index).
var keptAnnotations = []string{
	kioutil.PathAnnotation, kioutil.IdAnnotation,
	kioutil.LegacyPathAnnotation, kioutil.LegacyIdAnnotation,
}

// placementAnnotations are the legacy and current annotations that say where an
// item is kept (the current ones all start with internal.config.kubernetes.io/).
var placementAnnotations = append(slices.Clone(keptAnnotations), kioutil.IndexAnnotation, kioutil.LegacyIndexAnnotation)

// Desired is one object the configs of the run want.
type Desired struct {
	Object *fn.KubeObject
	ID     manifests.ID
	// Owners are the configs that want it, as namespace/name, sorted.
	Owners []string
	// Path is the package-relative file for the object when it is new.
	Path string
}

// Apply returns the items with the desired objects merged in, and what it did.
// configs holds the configs of the run, as namespace/name. desired must be in
// the order a first render writes them: each file's objects get their indexes
// in that order. When the results hold an error, the returned items must not
// be used.
func Apply(inv *inventory.Inventory, desired []Desired, configs map[string]bool) (fn.KubeObjects, fn.Results) {
	want := make(map[manifests.ID]int, len(desired))
	for i, d := range desired {
		want[d.ID] = i
	}
	a := &applier{
		configs: configs, desired: desired, claimed: make([]*inventory.Entry, len(desired)),
		out: make(fn.KubeObjects, 0, len(inv.Items)+len(desired)), last: map[string]int{},
	}
	for i, item := range inv.Items {
		e := inv.Entry(i)
		if e == nil {
			a.out = append(a.out, item) // neither an object nor placed: kept
			continue
		}
		di, wanted := -1, false
		if e.ID.Kind != "" {
			di, wanted = want[e.ID]
		}
		a.item(e, di, wanted)
	}
	for i, d := range desired {
		if a.claimed[i] == nil {
			a.write(d.Object, i, d.Path)
		}
	}
	a.index()
	return a.out, a.results
}

type applier struct {
	configs map[string]bool
	desired []Desired
	// claimed[i] is the item at the identity of desired[i], once met.
	claimed []*inventory.Entry
	out     fn.KubeObjects
	// written are the objects this run writes, for index.
	written []written
	// last holds, per file, the largest index of the items the run leaves there.
	last    map[string]int
	results fn.Results
}

// written is an object this run writes: desired[desired], to be placed in path.
type written struct {
	obj     *fn.KubeObject
	desired int
	path    string
}

// keep leaves an item in the output, placed where it was.
func (a *applier) keep(e *inventory.Entry, obj *fn.KubeObject) {
	a.out = append(a.out, obj)
	if file := e.File(); file != "" {
		if prev, ok := a.last[file]; !ok || e.Index > prev {
			a.last[file] = e.Index
		}
	}
}

// write puts desired[di] in the output, in path.
func (a *applier) write(obj *fn.KubeObject, di int, path string) {
	a.out = append(a.out, obj)
	a.written = append(a.written, written{obj: obj, desired: di, path: path})
}

// item decides what becomes of one input item: kept as it is, replaced by the
// desired object di (when wanted), or removed.
func (a *applier) item(e *inventory.Entry, di int, wanted bool) {
	item := e.Object
	var inRun, others []string
	for _, o := range e.Owners {
		switch {
		case a.configs[o] && manifests.Generates(o, e.ID):
			inRun = append(inRun, o)
		case !a.configs[o]:
			others = append(others, o)
		}
	}
	if !wanted && len(inRun) == 0 {
		// Not this run's: a user object, or one generated for configs that are
		// not in this run (another package, an earlier kpt fn eval).
		if len(e.Owners) > 0 && manifests.MayGenerate(e.ID) && !strings.EqualFold(e.Managed, "false") {
			a.result(item, fn.Info, fmt.Sprintf("%s is left as it is: its %s annotation names %s, and no config of this run generates it",
				e.ID, OwnerAnnotation, strings.Join(e.Owners, ", ")))
		}
		a.keep(e, item)
		return
	}

	switch strings.ToLower(e.Managed) {
	case "", "true":
	case "false":
		a.keep(e, item)
		if wanted && a.claim(e, di) {
			a.result(item, fn.Info, fmt.Sprintf("%s is annotated %s: %q, so it is left as it is", e.ID, ManagedAnnotation, e.Managed))
		}
		return
	default:
		a.keep(e, item)
		a.fieldResult(item, fn.Error, "metadata.annotations["+ManagedAnnotation+"]", e.Managed, fmt.Sprintf(
			"%s is annotated %s: %q, which is neither true nor false; write \"false\" to keep the object as yours, or \"true\" (or nothing) to let vllm-hpa manage it",
			e.ID, ManagedAnnotation, e.Managed))
		return
	}

	if !wanted {
		if len(others) == 0 {
			a.result(item, fn.Info, fmt.Sprintf("removed %s: no config wants it any more (it was generated for %s)", e.ID, strings.Join(e.Owners, ", ")))
			return
		}
		// Shared with configs that are not in this run: theirs from now on.
		kept := item.Copy()
		_ = kept.SetAnnotation(OwnerAnnotation, strings.Join(others, ","))
		a.keep(e, kept)
		a.result(item, fn.Info, fmt.Sprintf("%s is kept for %s; %s no longer wants it", e.ID, strings.Join(others, ", "), strings.Join(inRun, ", ")))
		return
	}

	d := a.desired[di]
	if !a.claim(e, di) {
		a.keep(e, item)
		return
	}
	if len(inRun) == 0 {
		if len(others) > 0 && manifests.IsClusterWide(e.ID) && sameContent(item, d.Object) {
			// The cluster-wide stack of configs outside the run, exactly as this
			// run wants it (a second kpt fn eval): shared, nothing overwritten.
			shared := item.Copy()
			owners := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(d.Owners), others...))))
			_ = shared.SetAnnotation(OwnerAnnotation, strings.Join(owners, ","))
			a.keep(e, shared)
			a.result(item, fn.Info, fmt.Sprintf("%s, generated for %s, is shared with %s, which wants it as it is", e.ID, strings.Join(others, ", "), strings.Join(d.Owners, ", ")))
			return
		}
		// Someone else's object at a name this run writes: never overwritten.
		a.keep(e, item)
		a.conflict(e, d)
		return
	}
	obj := d.Object
	if len(others) > 0 {
		// A shared cluster-wide object keeps the owners that are not in this run.
		owners := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(d.Owners), others...))))
		_ = obj.SetAnnotation(OwnerAnnotation, strings.Join(owners, ","))
	}
	for _, k := range keptAnnotations {
		if v := item.GetAnnotation(k); v != "" {
			_ = obj.SetAnnotation(k, v)
		}
	}
	a.write(obj, di, e.Path)
}

// conflict reports an item at the identity of d that no config of the run owns.
func (a *applier) conflict(e *inventory.Entry, d Desired) {
	wanted := strings.Join(d.Owners, ", ")
	clusterWide := manifests.IsClusterWide(e.ID)
	switch {
	case len(e.Owners) == 0 && clusterWide:
		a.fieldResult(e.Object, fn.Error, "metadata.name", e.ID.Name, fmt.Sprintf(
			"%s already exists and was not generated by vllm-hpa, which wants to write an object of that name for %s; "+
				"if it belongs to an adapter stack you run already, set spec.clusterResources: false; otherwise remove it, or annotate it %s: \"false\" to keep it as yours",
			e.ID, wanted, ManagedAnnotation))
	case len(e.Owners) == 0:
		a.fieldResult(e.Object, fn.Error, "metadata.name", e.ID.Name, fmt.Sprintf(
			"%s already exists and was not generated by vllm-hpa, which wants to write an object of that name for %s; "+
				"rename the config, remove the object, or annotate it %s: \"false\" to keep it as yours",
			e.ID, wanted, ManagedAnnotation))
	case clusterWide:
		// Another package, or an earlier kpt fn eval, wrote the shared stack
		// with other settings.
		a.fieldResult(e.Object, fn.Error, "metadata.annotations["+OwnerAnnotation+"]", strings.Join(e.Owners, ","), fmt.Sprintf(
			"%s was generated for %s, which is not a config of this run, and %s wants it with other settings; "+
				"to use it as it is, set spec.clusterResources: false (kpt fn eval: clusterResources=false), give both configs the same spec.adapter and spec.gpu settings, or run the function with all its configs at once",
			e.ID, strings.Join(e.Owners, ", "), wanted))
	default:
		a.fieldResult(e.Object, fn.Error, "metadata.annotations["+OwnerAnnotation+"]", strings.Join(e.Owners, ","), fmt.Sprintf(
			"%s was generated for %s, not for a config of this run, and %s wants to write an object of that name; "+
				"two configs would overwrite each other's object: rename the config, remove the object, or annotate it %s: \"false\" to keep it as it is",
			e.ID, strings.Join(e.Owners, ", "), wanted, ManagedAnnotation))
	}
}

// claim records e as the item at the identity of desired[di]. A second item at
// that identity is an error: the function cannot tell which one to write.
func (a *applier) claim(e *inventory.Entry, di int) bool {
	first := a.claimed[di]
	if first == nil {
		a.claimed[di] = e
		return true
	}
	a.fieldResult(e.Object, fn.Error, "metadata.name", e.ID.Name, fmt.Sprintf(
		"%s is in the input twice (%s and %s), and vllm-hpa writes one object of that name for %s; remove one of them",
		e.ID, place(first), place(e), strings.Join(a.desired[di].Owners, ", ")))
	return false
}

// sameContent reports whether an item holds what obj holds, but for the
// annotations that say who owns an object and where it is kept.
func sameContent(item, obj *fn.KubeObject) bool {
	content := func(o *fn.KubeObject) (map[string]any, bool) {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(o.String()), &m); err != nil {
			return nil, false
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			if ann, ok := md["annotations"].(map[string]any); ok {
				for k := range ann {
					if k == OwnerAnnotation || strings.HasPrefix(k, "internal.config.kubernetes.io/") || slices.Contains(placementAnnotations, k) {
						delete(ann, k)
					}
				}
				if len(ann) == 0 {
					delete(md, "annotations")
				}
			}
		}
		return m, true
	}
	a, okA := content(item)
	b, okB := content(obj)
	return okA && okB && reflect.DeepEqual(a, b)
}

// index gives the objects this run writes their indexes: in each file, after
// every item the run leaves in it, in the order a first render writes them. An
// index never depends on the one an object had before, so that switching a
// config back and forth leaves its file as a fresh render writes it.
func (a *applier) index() {
	files := map[string][]written{}
	for _, w := range a.written {
		if w.path != "" {
			file := path.Clean(w.path)
			files[file] = append(files[file], w)
		}
	}
	for _, file := range slices.Sorted(maps.Keys(files)) {
		objs := files[file]
		slices.SortFunc(objs, func(x, y written) int { return x.desired - y.desired })
		next := 0
		if i, ok := a.last[file]; ok {
			next = i + 1
		}
		for _, w := range objs {
			index := strconv.Itoa(next)
			_ = w.obj.SetAnnotation(kioutil.PathAnnotation, w.path)
			_ = w.obj.SetAnnotation(kioutil.IndexAnnotation, index)
			if w.obj.GetAnnotation(kioutil.LegacyPathAnnotation) != "" {
				// kyaml refuses legacy and current annotations that disagree.
				_ = w.obj.SetAnnotation(kioutil.LegacyIndexAnnotation, index)
			}
			next++
		}
	}
}

func (a *applier) result(obj *fn.KubeObject, severity fn.Severity, msg string) {
	a.results = append(a.results, config.ObjectResult(obj, severity, msg))
}

func (a *applier) fieldResult(obj *fn.KubeObject, severity fn.Severity, field string, value any, msg string) {
	r := config.ObjectResult(obj, severity, msg)
	r.Field = &fn.Field{Path: field, CurrentValue: value}
	a.results = append(a.results, r)
}

// place says where an item is, for a message: its file and index, or its
// position among the items.
func place(e *inventory.Entry) string {
	if e.Path != "" {
		return fmt.Sprintf("%s, index %d", e.Path, max(e.Index, 0))
	}
	return fmt.Sprintf("items[%d]", e.Position)
}
