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
	"strings"
	"sync"

	"github.com/kptdev/krm-functions-sdk/go/fn"
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

// Result is a result about one field of this config, pointing at the object and
// field the user wrote.
func (s *Source) Result(severity fn.Severity, e v1alpha1.FieldError) *fn.Result {
	field, msg := e.Field, e.Message
	if s.fromConfigMap {
		field = v1alpha1.ConfigMapField(e.Field)
		msg = strings.Replace(msg, e.Field, field, 1)
	}
	r := s.ObjectResult(severity, msg)
	if field != "" {
		r.Field = &fn.Field{Path: field, CurrentValue: e.Value}
	}
	return r
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
		for _, e := range errs {
			results = append(results, src.Result(fn.Error, e))
		}
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
			r := ObjectResult(obj, fn.Error, fmt.Sprintf(
				"functionConfig %s %s is not accepted; use a %s (%s) or a ConfigMap (v1) with flat keys such as strategy and maxReplicas",
				obj.GetAPIVersion(), obj.GetKind(), v1alpha1.Kind, v1alpha1.APIVersion))
			r.Field = &fn.Field{Path: "kind", CurrentValue: obj.GetKind()}
			results = append(results, r)
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
			results = append(results, src.Result(fn.Error, v1alpha1.FieldError{Field: "metadata.name", Value: src.Config.Name, Message: fmt.Sprintf(
				"metadata.name (%q) is taken: %s %s is given twice (%s and %s); a config is known by its namespace and name, which name the objects it generates: rename or remove one",
				src.Config.Name, v1alpha1.Kind, src.Key(), first.where(), src.where())}))
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
	if field, fcValue, itemValue := differ(fc.Config, item.Config); field != "" {
		results = append(results, fc.Result(fn.Error, v1alpha1.FieldError{Field: field, Value: fcValue, Message: fmt.Sprintf(
			"%s differs between the functionConfig (%s) and the item that gives %s %s too (%s, in %s); give the config once, or make both the same",
			field, show(fcValue), v1alpha1.Kind, fc.Key(), show(itemValue), item.where())}))
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
// "" when they are the same.
func differ(a, b *v1alpha1.VLLMHPAConfig) (string, any, any) {
	return firstDiff(defaulted(a), defaulted(b), "spec")
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

func firstDiff(a, b any, path string) (string, any, any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if reflect.DeepEqual(a, b) {
			return "", nil, nil
		}
		return path, a, b
	}
	keys := slices.Sorted(maps.Keys(am))
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if f, x, y := firstDiff(am[k], bm[k], path+"."+k); f != "" {
			return f, x, y
		}
	}
	return "", nil, nil
}

// show writes a JSON value for a message, "(unset)" when it is absent.
func show(v any) string {
	if v == nil {
		return "(unset)"
	}
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
func decode(obj *fn.KubeObject, fromConfigMap bool) (*Source, []v1alpha1.FieldError) {
	src := &Source{Object: obj, fromConfigMap: fromConfigMap}
	rn := obj.CopyToResourceNode()
	if fromConfigMap {
		data, err := configMapData(rn)
		if err != nil {
			return src, []v1alpha1.FieldError{*err}
		}
		cfg, errs := v1alpha1.FromConfigMapData(data)
		src.Config = cfg
		if len(errs) == 0 {
			errs = schema.Validate(v1alpha1.ConfigMapObject(cfg, data))
		}
		return src, errs
	}
	if obj.GetAPIVersion() != v1alpha1.APIVersion {
		return src, []v1alpha1.FieldError{{Field: "apiVersion", Value: obj.GetAPIVersion(), Message: fmt.Sprintf(
			"apiVersion (%q) is not served by this function; use %s", obj.GetAPIVersion(), v1alpha1.APIVersion)}}
	}
	decoded, ferr := value(rn.YNode(), "")
	if ferr != nil {
		return src, []v1alpha1.FieldError{*ferr}
	}
	j, err := json.Marshal(decoded)
	if err != nil {
		return src, []v1alpha1.FieldError{{Message: "cannot read the config: " + err.Error()}}
	}
	// A quantity's decoder cannot say where it is; a value that is neither a
	// number nor a string is caught here, with its path.
	if q, _ := rn.Pipe(yaml.Lookup("spec", "metric", "targetAverageValue")); q != nil && q.YNode().Kind != yaml.ScalarNode {
		return src, []v1alpha1.FieldError{{Field: "spec.metric.targetAverageValue", Message: "spec.metric.targetAverageValue must be a number or a string such as 4, 0.8 or \"500m\", not a list or a mapping"}}
	}
	cfg := &v1alpha1.VLLMHPAConfig{}
	strict, err := sigsjson.UnmarshalStrict(j, cfg)
	src.Config = cfg
	var errs []v1alpha1.FieldError
	if err != nil {
		errs = append(errs, typeFieldError(rn, decoded, err))
	}
	for _, e := range strict {
		m := strictFieldError().FindStringSubmatch(e.Error())
		if m == nil {
			errs = append(errs, v1alpha1.FieldError{Message: e.Error()})
			continue
		}
		switch m[1] {
		case "unknown":
			fix := "remove it, or check its spelling against the field reference"
			if s := suggest(m[2]); s != "" {
				fix = "did you mean " + s + "?"
			}
			errs = append(errs, v1alpha1.FieldError{Field: m[2], Message: fmt.Sprintf("%s is not a field of %s; %s", m[2], v1alpha1.Kind, fix)})
		default:
			errs = append(errs, v1alpha1.FieldError{Field: m[2], Message: fmt.Sprintf("%s is set twice; keep one", m[2])})
		}
	}
	// The schema's constraints are checked once the strict decoder has found every
	// field known and well typed, so that one mistake makes one result.
	if len(errs) == 0 {
		var m map[string]any // numbers as float64, as the schema reads them
		if err := json.Unmarshal(j, &m); err != nil {
			return src, []v1alpha1.FieldError{{Message: "cannot read the config: " + err.Error()}}
		}
		errs = schema.Validate(m)
	}
	return src, errs
}

// configMapData reads a ConfigMap functionConfig's data: flat keys, each given
// once, with scalar values as written.
func configMapData(rn *yaml.RNode) (map[string]string, *v1alpha1.FieldError) {
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
		return nil, &v1alpha1.FieldError{Field: "data", Message: "data must map keys to strings, e.g. strategy: vllm"}
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		field := "data." + k.Value
		if _, dup := data[k.Value]; dup {
			return nil, &v1alpha1.FieldError{Field: field, Message: field + " is set twice; keep one"}
		}
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, &v1alpha1.FieldError{Field: field, Message: field + " must be a string, e.g. strategy: vllm"}
		}
		data[k.Value] = v.Value
	}
	return data, nil
}

// typeFieldError turns a JSON decoding error into a field error with the value
// the user wrote.
func typeFieldError(rn *yaml.RNode, decoded any, err error) v1alpha1.FieldError {
	m := typeError().FindStringSubmatch(err.Error())
	if m == nil {
		// An UnmarshalJSON method's error names no field: find it.
		field, typ := locate(decoded, reflect.TypeFor[v1alpha1.VLLMHPAConfig](), "")
		if field == "" {
			return v1alpha1.FieldError{Message: "the config cannot be decoded: " + err.Error()}
		}
		value := scalarAt(rn, field)
		want := "a value of type " + typ.String()
		if words, ok := typeNames[typ.String()]; ok {
			want = words
		}
		msg := fmt.Sprintf("%s cannot be read (%v); write %s", field, err, want)
		if value != nil {
			msg = fmt.Sprintf("%s (%v) cannot be read (%v); write %s", field, value, err, want)
		}
		return v1alpha1.FieldError{Field: field, Value: value, Message: msg}
	}
	field, got, want := m[2], m[1], m[3]
	value := scalarAt(rn, field)
	if friendly, ok := typeNames[want]; ok {
		want = friendly
	}
	msg := fmt.Sprintf("%s has the wrong type: got a %s, want %s", field, got, want)
	if value != nil {
		msg = fmt.Sprintf("%s has the wrong type: got a %s (%q), want %s", field, got, value, want)
	}
	return v1alpha1.FieldError{Field: field, Value: value, Message: msg}
}

// scalarAt returns the scalar at a dotted field path as written, nil when the
// path holds no scalar (or names a list element).
func scalarAt(rn *yaml.RNode, field string) any {
	if strings.Contains(field, "[") {
		return nil
	}
	if v, err := rn.Pipe(yaml.Lookup(strings.Split(field, ".")...)); err == nil && v != nil && v.YNode().Kind == yaml.ScalarNode {
		return v.YNode().Value
	}
	return nil
}

// typeNames says in words what a Go type asks the user to write.
var typeNames = map[string]string{
	"int32":                   "a whole number (e.g. 5, without quotes)",
	"v1alpha1.Quantity":       "a number or a string such as 4, 0.8 or \"500m\"",
	"resource.Quantity":       "a Kubernetes quantity such as 0.1 or \"100m\"",
	"*resource.Quantity":      "a Kubernetes quantity such as 0.1 or \"100m\"",
	"string":                  "a string",
	"bool":                    "true or false",
	"map[string]string":       "a mapping of strings (key: value)",
	"v1alpha1.Strategy":       "a string (vllm or gpu)",
	"v1.Duration":             "a duration such as 500ms or 1.5s",
	"*v1.Duration":            "a duration such as 500ms or 1.5s",
	"v1alpha1.Decimal":        "a number such as 3.1",
	"*v1alpha1.SLOPercentile": "50, 90 or 99",
	"v1alpha1.SLOPercentile":  "50, 90 or 99",
}
