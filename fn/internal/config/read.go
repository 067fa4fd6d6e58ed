// Package config finds the VLLMHPAConfigs of a ResourceList (in functionConfig, as
// a typed config or a ConfigMap, and among the items) and decodes them strictly.
package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/schema"
)

// Source is one config and the object it was read from.
type Source struct {
	// Config is the decoded config, not yet defaulted.
	Config *v1alpha1.VLLMHPAConfig
	// Object is the functionConfig or item that holds the config.
	Object *fn.KubeObject
	// fromConfigMap is set when Config was built from a ConfigMap's flat keys,
	// whose errors name data.KEY instead of the spec path.
	fromConfigMap bool
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
			e := field.Duplicate(field.NewPath("metadata", "name"), src.Config.Name)
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
	if fldPath, fcValue, itemValue := differ(fc.Config, item.Config); fldPath != nil {
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
	ns := s.Config.Namespace
	if ns == "" {
		ns = v1alpha1.DefaultNamespace
	}
	return ns + "/" + s.Config.Name
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

// The decoder's errors, read to say them in the function's words; compiled
// only when a config has an error.
var (
	strictFieldError = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(unknown|duplicate) field "(.+)"$`) })
	typeError        = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^json: cannot unmarshal (.+) into Go struct field [A-Za-z0-9_]+\.(\S+) of type (\S+)$`)
	})
)

// decode reads one config strictly: an unknown or misspelled field is an error,
// never silently ignored, and every error names its field.
func decode(obj *fn.KubeObject, fromConfigMap bool) (*Source, field.ErrorList) {
	src := &Source{Object: obj, fromConfigMap: fromConfigMap}
	rn := obj.CopyToResourceNode()
	if fromConfigMap {
		data, err := configMapData(rn)
		if err != nil {
			return src, field.ErrorList{err}
		}
		cfg, errs := v1alpha1.FromConfigMapData(data)
		src.Config = cfg
		if len(errs) == 0 {
			errs = schema.Validate(v1alpha1.ConfigMapObject(cfg, data))
		}
		return src, errs
	}
	if obj.GetAPIVersion() != v1alpha1.APIVersion {
		return src, field.ErrorList{field.NotSupported(field.NewPath("apiVersion"), obj.GetAPIVersion(), []string{v1alpha1.APIVersion})}
	}
	decoded, ferr := value(rn.YNode(), nil)
	if ferr != nil {
		return src, field.ErrorList{ferr}
	}
	j, err := json.Marshal(decoded)
	if err != nil {
		return src, field.ErrorList{field.InternalError(nil, fmt.Errorf("cannot read the config: %w", err))}
	}
	// A quantity's decoder cannot say where it is; a value that is neither a
	// number nor a string is caught here, with its path.
	if q, _ := rn.Pipe(yaml.Lookup("spec", "metric", "targetAverageValue")); q != nil && q.YNode().Kind != yaml.ScalarNode {
		return src, field.ErrorList{field.TypeInvalid(field.NewPath("spec", "metric", "targetAverageValue"), field.OmitValueType{},
			`must be a number or a string such as 4, 0.8 or "500m", not a list or a mapping`)}
	}
	cfg := &v1alpha1.VLLMHPAConfig{}
	strict, err := sigsjson.UnmarshalStrict(j, cfg)
	src.Config = cfg
	var errs field.ErrorList
	if err != nil {
		errs = append(errs, typeFieldError(rn, decoded, err))
	}
	for _, e := range strict {
		m := strictFieldError().FindStringSubmatch(e.Error())
		if m == nil {
			errs = append(errs, field.Invalid(nil, field.OmitValueType{}, e.Error()))
			continue
		}
		switch m[1] {
		case "unknown":
			fix := "remove it, or check its spelling against the field reference"
			if s := suggest(m[2]); s != "" {
				fix = "did you mean " + s + "?"
			}
			errs = append(errs, field.Forbidden(parsePath(m[2]), "is not a field of "+v1alpha1.Kind+"; "+fix))
		default:
			errs = append(errs, setTwice(parsePath(m[2]), ""))
		}
	}
	// The schema's constraints are checked once the strict decoder has found every
	// field known and well typed, so that one mistake makes one result.
	if len(errs) == 0 {
		var m map[string]any // numbers as float64, as the schema reads them
		if err := json.Unmarshal(j, &m); err != nil {
			return src, field.ErrorList{field.InternalError(nil, fmt.Errorf("cannot read the config: %w", err))}
		}
		errs = schema.Validate(m)
	}
	return src, errs
}

// configMapData reads a ConfigMap functionConfig's data: flat keys, each given
// once, with scalar values as written.
func configMapData(rn *yaml.RNode) (map[string]string, *field.Error) {
	dataPath := field.NewPath("data")
	n, _ := rn.Pipe(yaml.Lookup("data"))
	data := map[string]string{}
	if n == nil || yaml.IsYNodeEmptyMap(n.YNode()) || n.YNode().Tag == yaml.NodeTagNull {
		return data, nil
	}
	node := n.YNode()
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind != yaml.MappingNode {
		return nil, field.TypeInvalid(dataPath, field.OmitValueType{}, "must map keys to strings, e.g. strategy: vllm")
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		keyPath := dataPath.Child(k.Value)
		if _, dup := data[k.Value]; dup {
			return nil, setTwice(keyPath, "")
		}
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, field.TypeInvalid(keyPath, field.OmitValueType{}, "must be a string, e.g. strategy: vllm")
		}
		data[k.Value] = v.Value
	}
	return data, nil
}

// typeFieldError turns a JSON decoding error into a field error with the value
// the user wrote.
func typeFieldError(rn *yaml.RNode, decoded any, err error) *field.Error {
	m := typeError().FindStringSubmatch(err.Error())
	if m == nil {
		// An UnmarshalJSON method's error names no field: find it.
		fldPath, typ := locate(decoded, reflect.TypeFor[v1alpha1.VLLMHPAConfig](), nil)
		if fldPath == nil {
			return field.Invalid(nil, field.OmitValueType{}, "the config cannot be decoded: "+err.Error())
		}
		want := "a value of type " + typ.String()
		if words, ok := typeNames[typ.String()]; ok {
			want = words
		}
		return field.TypeInvalid(fldPath, scalarAt(rn, fldPath.String()), fmt.Sprintf("cannot be read (%v); write %s", err, want))
	}
	path, got, want := m[2], m[1], m[3]
	if friendly, ok := typeNames[want]; ok {
		want = friendly
	}
	return field.TypeInvalid(parsePath(path), scalarAt(rn, path), fmt.Sprintf("has the wrong type: got a %s, want %s", got, want))
}

// scalarAt returns the scalar at a dotted field path as written, or
// field.OmitValueType when the path holds no scalar (or names a list element).
func scalarAt(rn *yaml.RNode, path string) any {
	if strings.Contains(path, "[") {
		return field.OmitValueType{}
	}
	if v, err := rn.Pipe(yaml.Lookup(strings.Split(path, ".")...)); err == nil && v != nil && v.YNode().Kind == yaml.ScalarNode {
		return v.YNode().Value
	}
	return field.OmitValueType{}
}

// parsePath reads a path as the JSON decoders write it (spec.a.b, list
// elements as [i]) into a field.Path.
func parsePath(path string) *field.Path {
	var p *field.Path
	for _, name := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(name, "[")
		p = p.Child(name)
		for rest != "" {
			var index string
			index, rest, _ = strings.Cut(rest, "]")
			if i, err := strconv.Atoi(index); err == nil {
				p = p.Index(i)
			} else {
				p = p.Key(index)
			}
			rest = strings.TrimPrefix(rest, "[")
		}
	}
	return p
}

// typeNames says in words what a Go type asks the user to write.
var typeNames = map[string]string{
	"int32":              "a whole number (e.g. 5, without quotes)",
	"v1alpha1.Quantity":  "a number or a string such as 4, 0.8 or \"500m\"",
	"resource.Quantity":  "a Kubernetes quantity such as 0.1 or \"100m\"",
	"*resource.Quantity": "a Kubernetes quantity such as 0.1 or \"100m\"",
	"string":             "a string",
	"bool":               "true or false",
	"map[string]string":  "a mapping of strings (key: value)",
	"v1alpha1.Strategy":  "a string (vllm or gpu)",
}
