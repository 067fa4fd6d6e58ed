package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/schema"
)

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
		src.config = cfg
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
	src.config = cfg
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
