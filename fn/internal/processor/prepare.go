package processor

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/workload"
)

// The paths of the config fields that the steps of prepare report on.
var (
	targetNamePath  = field.NewPath("spec", "scaleTargetRef", "name")
	strategyPath    = field.NewPath("spec", "strategy")
	podSelectorPath = field.NewPath("spec", "podSelector")
	scrapePortPath  = field.NewPath("spec", "scrape", "port")
	behaviorPath    = field.NewPath("spec", "behavior")
	backendPath     = field.NewPath("spec", "backend")
)

// prepared is one config ready to build, once prepare has reported no error.
type prepared struct {
	src *config.Source
	// config is the config defaulted, then completed from its workload.
	config *v1alpha1.VLLMHPAConfig
	// given is what the user wrote of the fields derive may fill.
	given config.Given
	// workload is the config's target among the items; nil when it is not
	// there or cannot be read.
	workload *workload.Workload
}

// plan is the configs of one run, prepared.
type plan struct {
	prepared []*prepared
	// keys are the configs of the run, as namespace/name.
	keys map[string]bool
	// dirs holds the package directory of each config, by key.
	dirs map[string]string
}

// configs are the prepared configs, for manifests.Build.
func (p *plan) configs() []*v1alpha1.VLLMHPAConfig {
	out := make([]*v1alpha1.VLLMHPAConfig, len(p.prepared))
	for i, c := range p.prepared {
		out[i] = c.config
	}
	return out
}

// prepare makes each config ready to build (prepareConfig), then checks the
// configs against the package: one HorizontalPodAutoscaler per workload.
func prepare(sources []*config.Source, inv *inventory.Inventory, rep *report) *plan {
	p := &plan{keys: map[string]bool{}, dirs: map[string]string{}}
	targets := newTargets(inv)
	for _, src := range sources {
		c := prepareConfig(src, targets, rep)
		p.prepared = append(p.prepared, c)
		p.keys[manifests.Key(c.config)] = true
		p.dirs[manifests.Key(c.config)] = path.Dir(src.Path())
	}
	checkDuplicateHPAs(p, inv, rep)
	rep.add("", checkGKEMetricCount(p)...)
	return p
}

// prepareConfig takes one config through its steps, each on what the one
// before left: default it (Source.Default reads what the user gave first),
// find its workload, derive what it leaves out from the workload, validate
// it, derive the targets its SLOs apply to, and check a valid config against
// the workload (the guard rails check a derived target as a written one).
func prepareConfig(src *config.Source, targets *targets, rep *report) *prepared {
	cfg, given := src.Default()
	c := &prepared{src: src, config: cfg, given: given}
	c.workload = targets.find(c, rep)
	rep.add(kindDerive, derive(c)...)
	if errs := cfg.Validate(); len(errs) > 0 {
		rep.add("", src.Results(fn.Error, errs)...)
		return c
	}
	rep.add("", behaviorNotes(c)...)
	rep.add("", deriveTargets(c, targets.inv)...)
	rep.add("", backendWarnings(c)...)
	if c.workload != nil {
		rep.add(kindCheck, checkWorkload(c)...)
	}
	return c
}

// targets finds the workloads configs target among the items, reading each
// once however many configs name it.
type targets struct {
	inv   *inventory.Inventory
	found map[manifests.ID]found
	// hints holds the candidates of each kind and namespace a renamed-target
	// hint names, listed once.
	hints map[manifests.ID]candidates
}

// found is a workload read from the items, or why it could not be.
type found struct {
	w   *workload.Workload
	err error
}

// candidates are the workloads a renamed-target hint names, and how many more.
type candidates struct {
	names []string
	more  int
}

func newTargets(inv *inventory.Inventory) *targets {
	return &targets{inv: inv, found: map[manifests.ID]found{}, hints: map[manifests.ID]candidates{}}
}

// find returns c's workload, nil when it is not among the items or cannot be
// read, and reports either.
func (t *targets) find(c *prepared, rep *report) *workload.Workload {
	ns, ref := c.config.Namespace, c.config.Spec.ScaleTargetRef
	id := manifests.NewID(ref.APIVersion, ref.Kind, ns, ref.Name)
	f, ok := t.found[id]
	if !ok {
		f.w, f.err = workload.Find(t.inv, ns, ref)
		t.found[id] = f
	}
	if f.err != nil {
		rep.add(kindTargetUnreadable, c.src.Note(fn.Warning, targetNamePath, ref.Name, fmt.Sprintf(
			"names %s %s/%s, which cannot be read, so nothing is derived from it or checked against it: %v", ref.Kind, ns, ref.Name, f.err)))
	}
	if f.w == nil {
		rep.add(kindTargetRenamed, t.renamedHint(c)...)
	}
	return f.w
}

// renamedHint warns about a target that is not among the items while workloads
// of its kind are in its namespace: kustomize may have renamed it.
func (t *targets) renamedHint(c *prepared) fn.Results {
	ns, ref := c.config.Namespace, c.config.Spec.ScaleTargetRef
	key := manifests.NewID(ref.APIVersion, ref.Kind, ns, "")
	found, ok := t.hints[key]
	if !ok {
		found.names, found.more = workload.Candidates(t.inv, ns, ref)
		t.hints[key] = found
	}
	names, more := slices.Clone(found.names), found.more
	if len(names) == 0 {
		return nil
	}
	for i, n := range names {
		names[i] = ns + "/" + n
	}
	list, verb := strings.Join(names, ", "), "is"
	if more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	if len(names)+more > 1 {
		verb = "are"
	}
	e := field.NotFound(targetNamePath, ref.Name)
	e.Detail = fmt.Sprintf("%s %s/%s is not in the input, but %s %s %s; if kustomize renamed it (namePrefix, nameSuffix and namespace: run before transformers), name it as renamed",
		ref.Kind, ns, ref.Name, ref.Kind, list, verb)
	return fn.Results{c.src.Result(fn.Warning, e)}
}
