// Package config is the function's read step: it finds the VLLMHPAConfigs of a
// ResourceList (in functionConfig, as a typed config or a ConfigMap, and among
// the items), decodes each strictly and checks it against the config's schema
// (decode.go). A Source holds a config as its user wrote it; Source.Default
// hands it on, defaulted. result.go turns field errors into KRM results.
package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// Source is one config as its user wrote it, and the object it was read from.
type Source struct {
	// Object is the functionConfig or item that holds the config.
	Object *fn.KubeObject
	// config is the decoded config, as written until Default fills it in
	// place; given is what Default read of it first.
	config *v1alpha1.VLLMHPAConfig
	given  *Given
	// fromConfigMap is set when config was built from a ConfigMap's flat keys,
	// whose results name data.KEY instead of the spec path.
	fromConfigMap bool
}

// Given says which of the fields that a workload can supply the user wrote.
type Given struct {
	PodSelector, ScrapePort bool
}

// Default returns the config with every unset field defaulted, and what its
// user gave of the fields a workload can supply. It is the one way to the
// decoded config, so what was given is always read before the defaults fill
// it; later calls return the same.
func (s *Source) Default() (*v1alpha1.VLLMHPAConfig, Given) {
	if s.given == nil {
		c := s.config
		s.given = &Given{
			PodSelector: len(c.Spec.PodSelector) > 0,
			ScrapePort:  c.Spec.Scrape != nil && c.Spec.Scrape.Port != nil,
		}
		c.Default()
	}
	return s.config, *s.given
}

// Path is the package-relative file of the config, "" when unknown.
func (s *Source) Path() string {
	for _, a := range []string{kioutil.PathAnnotation, kioutil.LegacyPathAnnotation} {
		if p := s.Object.GetAnnotation(a); p != "" {
			return p
		}
	}
	return ""
}

// ObjectResult is a result about this config as a whole.
func (s *Source) ObjectResult(severity fn.Severity, msg string) *fn.Result {
	return ObjectResult(s.Object, severity, msg)
}

// ObjectResult is a result that points at obj and its file.
func ObjectResult(obj *fn.KubeObject, severity fn.Severity, msg string) *fn.Result {
	r := &fn.Result{
		Message:  msg,
		Severity: severity,
		ResourceRef: &fn.ResourceRef{
			APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(),
			Name: obj.GetName(), Namespace: obj.GetNamespace(),
		},
	}
	if p := obj.PathAnnotation(); p != "" {
		r.File = &fn.File{Path: p, Index: max(obj.IndexAnnotation(), 0)}
	}
	return r
}

// Read returns the configs of the ResourceList: the functionConfig, when it is a
// VLLMHPAConfig or a ConfigMap, and every VLLMHPAConfig among the items. A
// config is identified by its namespace and name: two items of one identity are
// an error, and so is a functionConfig that differs from the item of its
// identity (as with a kpt configPath, an identical one counts once, as the
// item). Sources with errors are left out; their problems are in the results.
func Read(rl *fn.ResourceList) ([]*Source, fn.Results) {
	var results fn.Results
	read := func(obj *fn.KubeObject, fromConfigMap bool) *Source {
		src, errs := decode(obj, fromConfigMap)
		results = append(results, src.Results(fn.Error, errs)...)
		if len(errs) > 0 {
			return nil
		}
		return src
	}

	var fc *Source
	if obj := rl.FunctionConfig; obj != nil && !obj.IsEmpty() {
		switch {
		case isConfig(obj):
			fc = read(obj, false)
		case obj.GetKind() == "ConfigMap" && obj.GetAPIVersion() == "v1":
			fc = read(obj, true)
		default:
			// The kind and its apiVersion together name a functionConfig, so both are shown.
			e := field.NotSupported(field.NewPath("kind"), obj.GetAPIVersion()+" "+obj.GetKind(), []string{v1alpha1.APIVersion + " " + v1alpha1.Kind, "v1 ConfigMap"})
			e.Detail += " (a ConfigMap's data holds flat keys such as strategy and maxReplicas)"
			results = append(results, FieldResult(obj, fn.Error, e))
		}
	}
	var sources []*Source
	byKey := map[string]*Source{}
	for _, item := range rl.Items {
		if !isConfig(item) {
			continue
		}
		src := read(item, false)
		if src == nil {
			continue
		}
		if first, dup := byKey[src.Key()]; dup {
			e := field.Duplicate(field.NewPath("metadata", "name"), src.config.Name)
			e.Detail = fmt.Sprintf("%s %s is given twice (%s and %s); a config is known by its namespace and name, which name the objects it generates: rename or remove one",
				v1alpha1.Kind, src.Key(), first.where(), src.where())
			results = append(results, src.Result(fn.Error, e))
			continue
		}
		byKey[src.Key()] = src
		sources = append(sources, src)
	}
	if fc == nil {
		return sources, results
	}
	item, both := byKey[fc.Key()]
	if !both {
		return append([]*Source{fc}, sources...), results
	}
	if fldPath, fcValue, itemValue := differ(fc.config, item.config); fldPath != nil {
		differs, has := "the functionConfig's value differs from", "has "+show(itemValue)
		if fcValue == nil {
			fcValue, differs = field.OmitValueType{}, "the functionConfig leaves it unset, unlike"
		}
		if itemValue == nil {
			has = "leaves it unset"
		}
		results = append(results, fc.Result(fn.Error, field.Invalid(fldPath, fcValue, fmt.Sprintf(
			"%s the item that gives %s %s too, which %s (in %s); give the config once, or make both the same",
			differs, v1alpha1.Kind, fc.Key(), has, item.where()))))
	}
	return sources, results
}

// Key identifies the config as "namespace/name", its namespace defaulted.
func (s *Source) Key() string {
	ns := s.config.Namespace
	if ns == "" {
		ns = v1alpha1.DefaultNamespace
	}
	return ns + "/" + s.config.Name
}

// where says where the config was read, for a message.
func (s *Source) where() string {
	if s.Object == nil {
		return "?"
	}
	if p := s.Path(); p != "" {
		return p
	}
	return "the input"
}

// differ compares two configs of one identity as they render, defaults
// applied, and returns the first field where they differ, with both values;
// nil when they are the same.
func differ(a, b *v1alpha1.VLLMHPAConfig) (*field.Path, any, any) {
	return firstDiff(defaulted(a), defaulted(b), field.NewPath("spec"))
}

// defaulted returns a defaulted copy of c's spec as JSON values.
func defaulted(c *v1alpha1.VLLMHPAConfig) any {
	var cp v1alpha1.VLLMHPAConfig
	if b, err := json.Marshal(c); err == nil {
		_ = json.Unmarshal(b, &cp)
	}
	cp.Default()
	var v any
	if b, err := json.Marshal(cp.Spec); err == nil {
		_ = json.Unmarshal(b, &v)
	}
	return v
}

func firstDiff(a, b any, fldPath *field.Path) (*field.Path, any, any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if reflect.DeepEqual(a, b) {
			return nil, nil, nil
		}
		return fldPath, a, b
	}
	keys := slices.Sorted(maps.Keys(am))
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if f, x, y := firstDiff(am[k], bm[k], fldPath.Child(k)); f != nil {
			return f, x, y
		}
	}
	return nil, nil, nil
}

// show writes a JSON value for a message.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func isConfig(obj *fn.KubeObject) bool {
	return obj.GetKind() == v1alpha1.Kind
}
