package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// value converts a YAML node into the value encoding/json decodes from the same
// data (maps, slices, strings, numbers, booleans, nil), so that the config can
// be decoded strictly as JSON. It refuses, naming the field, what JSON cannot
// hold or the YAML decoder would silently settle: a key given twice, a key that
// is not a string, a number that is not finite.
func value(n *yaml.Node, path string) (any, *v1alpha1.FieldError) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return value(n.Content[0], path)
	case yaml.AliasNode:
		return value(n.Alias, path)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		if err := members(n, path, m, true); err != nil {
			return nil, err
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := value(c, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	}
	if n.ShortTag() == yaml.NodeTagString {
		return n.Value, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, &v1alpha1.FieldError{Field: path, Value: n.Value, Message: fmt.Sprintf("%s (%s) cannot be read: %v", orTop(path), n.Value, err)}
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, &v1alpha1.FieldError{Field: path, Value: n.Value, Message: fmt.Sprintf(
			"%s (%s) is not a finite number; write a number such as 4 or 0.5, or a quantity such as \"500m\"", orTop(path), n.Value)}
	}
	return v, nil
}

// members adds the keys of mapping n to m. own says the keys are written in n
// itself, where a repeat is an error; keys merged in with << only fill gaps.
func members(n *yaml.Node, path string, m map[string]any, own bool) *v1alpha1.FieldError {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.ShortTag() == mergeTag {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return &v1alpha1.FieldError{Field: path, Message: fmt.Sprintf("%s has a key that is a mapping or a list; keys are names such as maxReplicas", orTop(path))}
		}
		field := join(path, k.Value)
		if _, dup := m[k.Value]; dup {
			if !own {
				continue
			}
			return &v1alpha1.FieldError{Field: field, Message: fmt.Sprintf("%s is set twice; keep one", field)}
		}
		val, err := value(v, field)
		if err != nil {
			return err
		}
		m[k.Value] = val
	}
	// A key written in the mapping wins over a merged one, the first merge over later ones.
	for _, mn := range merges {
		if mn.Kind == yaml.AliasNode {
			mn = mn.Alias
		}
		sources := []*yaml.Node{mn}
		if mn.Kind == yaml.SequenceNode {
			sources = mn.Content
		}
		for _, src := range sources {
			if src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				return &v1alpha1.FieldError{Field: path, Message: fmt.Sprintf("%s merges (<<) a value that is not a mapping", orTop(path))}
			}
			if err := members(src, path, m, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeTag is the tag of a YAML merge key (<<).
const mergeTag = "!!merge"

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orTop(path string) string {
	if path == "" {
		return "the config"
	}
	return path
}

// locate finds the field of v, a value of type t decoded from JSON data, that
// the JSON decoder refused without saying which (an UnmarshalJSON method that
// returns a plain error): it decodes each field alone until it finds the one
// that fails. It returns the field's path and its Go type, or "" when no single
// field fails.
func locate(data any, t reflect.Type, path string) (string, reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fails := func(v any, t reflect.Type) bool {
		b, err := json.Marshal(v)
		return err != nil || json.Unmarshal(b, reflect.New(t).Interface()) != nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok || reflect.PointerTo(t).Implements(unmarshaler) {
			break
		}
		fields := jsonFields(t)
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			ft := fields[name]
			if v, ok := m[name]; ok && fails(v, ft) {
				if p, typ := locate(v, ft, join(path, name)); p != "" {
					return p, typ
				}
				return join(path, name), ft
			}
		}
	case reflect.Slice:
		s, ok := data.([]any)
		if !ok {
			break
		}
		for i, v := range s {
			if fails(v, t.Elem()) {
				p := path + "[" + strconv.Itoa(i) + "]"
				if q, typ := locate(v, t.Elem(), p); q != "" {
					return q, typ
				}
				return p, t.Elem()
			}
		}
	case reflect.Map:
		m, ok := data.(map[string]any)
		if !ok {
			break
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if v := m[k]; fails(v, t.Elem()) {
				if q, typ := locate(v, t.Elem(), join(path, k)); q != "" {
					return q, typ
				}
				return join(path, k), t.Elem()
			}
		}
	}
	return "", nil
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// jsonFields maps the JSON names of a struct's fields, inlined structs
// flattened, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case name == "" && (f.Anonymous || strings.Contains(opts, "inline")):
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
			}
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}
