// Package config finds the VLLMHPAConfigs of a ResourceList (in functionConfig, as
// a typed config or a ConfigMap, and among the items) and decodes them strictly.
package config

import (
	"encoding/json"
	"fmt"
	"regexp"
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
// VLLMHPAConfig or a ConfigMap, and every VLLMHPAConfig among the items (one
// that is also the functionConfig, as with a kpt configPath, counts once).
// Sources with errors are left out; their problems are in the results.
func Read(rl *fn.ResourceList) ([]*Source, fn.Results) {
	var sources []*Source
	var results fn.Results
	seen := map[string]bool{}
	add := func(obj *fn.KubeObject, fromConfigMap bool) {
		src, errs := decode(obj, fromConfigMap)
		if len(errs) > 0 {
			for _, e := range errs {
				results = append(results, src.Result(fn.Error, e))
			}
			return
		}
		key := src.Config.Namespace + "/" + src.Config.Name
		if src.Config.Namespace == "" {
			key = v1alpha1.DefaultNamespace + "/" + src.Config.Name
		}
		if seen[key] {
			return
		}
		seen[key] = true
		sources = append(sources, src)
	}

	if fc := rl.FunctionConfig; fc != nil && !fc.IsEmpty() {
		switch {
		case isConfig(fc):
			add(fc, false)
		case fc.GetKind() == "ConfigMap" && fc.GetAPIVersion() == "v1":
			add(fc, true)
		default:
			results = append(results, ObjectResult(fc, fn.Error, fmt.Sprintf(
				"functionConfig %s %s is not accepted; use a %s (%s) or a ConfigMap (v1) with flat keys such as strategy and maxReplicas",
				fc.GetAPIVersion(), fc.GetKind(), v1alpha1.Kind, v1alpha1.APIVersion)))
		}
	}
	for _, item := range rl.Items {
		if item.GetKind() == v1alpha1.Kind {
			add(item, false)
		}
	}
	return sources, results
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
// never silently ignored.
func decode(obj *fn.KubeObject, fromConfigMap bool) (*Source, []v1alpha1.FieldError) {
	src := &Source{Object: obj, fromConfigMap: fromConfigMap}
	if fromConfigMap {
		data, _, err := obj.NestedStringMap("data")
		if err != nil {
			return src, []v1alpha1.FieldError{{Field: "data", Message: "data must map keys to strings, e.g. strategy: vllm; " + err.Error()}}
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
	rn := obj.CopyToResourceNode()
	j, err := toJSON(rn.YNode())
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
		errs = append(errs, typeFieldError(rn, err))
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
		var decoded map[string]any
		if err := json.Unmarshal(j, &decoded); err != nil {
			return src, []v1alpha1.FieldError{{Message: "cannot read the config: " + err.Error()}}
		}
		errs = schema.Validate(decoded)
	}
	return src, errs
}

// toJSON converts a config's mapping to JSON. It is rn.MarshalJSON without that
// method's detour: kyaml writes the node out as YAML text and parses the text
// again before converting, where decoding the node converts it the same way.
func toJSON(n *yaml.Node) ([]byte, error) {
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// typeFieldError turns a JSON type error into a field error with the value the user wrote.
func typeFieldError(rn *yaml.RNode, err error) v1alpha1.FieldError {
	m := typeError().FindStringSubmatch(err.Error())
	if m == nil {
		return v1alpha1.FieldError{Message: "the config cannot be decoded: " + err.Error()}
	}
	field, got, want := m[2], m[1], m[3]
	var value any
	if v, lookupErr := rn.Pipe(yaml.Lookup(strings.Split(field, ".")...)); lookupErr == nil && v != nil && v.YNode().Kind == yaml.ScalarNode {
		value = v.YNode().Value
	}
	if friendly, ok := typeNames[want]; ok {
		want = friendly
	}
	msg := fmt.Sprintf("%s has the wrong type: got a %s, want %s", field, got, want)
	if value != nil {
		msg = fmt.Sprintf("%s has the wrong type: got a %s (%q), want %s", field, got, value, want)
	}
	return v1alpha1.FieldError{Field: field, Value: value, Message: msg}
}

// typeNames says in words what a Go type asks the user to write.
var typeNames = map[string]string{
	"int32":             "a whole number (e.g. 5, without quotes)",
	"string":            "a string",
	"bool":              "true or false",
	"map[string]string": "a mapping of strings (key: value)",
	"v1alpha1.Strategy": "a string (vllm or gpu)",
}
