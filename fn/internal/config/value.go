package config

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// value converts a YAML node into the value encoding/json decodes from the same
// data (maps, slices, strings, numbers, booleans, nil), so that the config can
// be decoded strictly as JSON. It refuses, naming the field, what JSON cannot
// hold or the YAML decoder would silently settle: a key given twice, a key that
// is not a string, a number that is not finite. fldPath is n's path, nil for
// the object itself.
func value(n *yaml.Node, fldPath *field.Path) (any, *field.Error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return value(n.Content[0], fldPath)
	case yaml.AliasNode:
		return value(n.Alias, fldPath)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		if err := members(n, fldPath, m, true); err != nil {
			return nil, err
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := value(c, fldPath.Index(i))
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
		return nil, field.Invalid(fldPath, n.Value, "cannot be read: "+err.Error())
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, field.Invalid(fldPath, n.Value, `is not a finite number; write a number such as 4 or 0.5, or a quantity such as "500m"`)
	}
	return v, nil
}

// members adds the keys of mapping n to m. own says the keys are written in n
// itself, where a repeat is an error; keys merged in with << only fill gaps.
func members(n *yaml.Node, fldPath *field.Path, m map[string]any, own bool) *field.Error {
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
			return field.Invalid(fldPath, field.OmitValueType{}, "has a key that is a mapping or a list; keys are names such as maxReplicas")
		}
		if _, dup := m[k.Value]; dup {
			if !own {
				continue
			}
			return setTwice(fldPath.Child(k.Value), "")
		}
		val, err := value(v, fldPath.Child(k.Value))
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
				return field.Invalid(fldPath, field.OmitValueType{}, "merges (<<) a value that is not a mapping")
			}
			if err := members(src, fldPath, m, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// setTwice is the error of a key given twice in one mapping; where, when not
// empty, says where (the file and lines).
func setTwice(fldPath *field.Path, where string) *field.Error {
	e := field.Duplicate(fldPath, field.OmitValueType{})
	e.Detail = "set twice; keep one"
	if where != "" {
		e.Detail = "set twice (" + where + "); keep one"
	}
	return e
}

// mergeTag is the tag of a YAML merge key (<<).
const mergeTag = "!!merge"

// locate finds the field of v, a value of type t decoded from JSON data, that
// the JSON decoder refused without saying which (an UnmarshalJSON method that
// returns a plain error): it decodes each field alone until it finds the one
// that fails. It returns the field's path and its Go type, or nil when no
// single field fails.
func locate(data any, t reflect.Type, fldPath *field.Path) (*field.Path, reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fails := func(v any, t reflect.Type) bool {
		b, err := json.Marshal(v)
		return err != nil || json.Unmarshal(b, reflect.New(t).Interface()) != nil
	}
	// inner is the failing field inside v at p, else p itself.
	inner := func(v any, t reflect.Type, p *field.Path) (*field.Path, reflect.Type) {
		if q, typ := locate(v, t, p); q != nil {
			return q, typ
		}
		return p, t
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok || reflect.PointerTo(t).Implements(unmarshaler) {
			break
		}
		fields := jsonFields(t)
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			if v, ok := m[name]; ok && fails(v, fields[name]) {
				return inner(v, fields[name], fldPath.Child(name))
			}
		}
	case reflect.Slice:
		s, ok := data.([]any)
		if !ok {
			break
		}
		for i, v := range s {
			if fails(v, t.Elem()) {
				return inner(v, t.Elem(), fldPath.Index(i))
			}
		}
	case reflect.Map:
		m, ok := data.(map[string]any)
		if !ok {
			break
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if v := m[k]; fails(v, t.Elem()) {
				return inner(v, t.Elem(), fldPath.Child(k))
			}
		}
	}
	return nil, nil
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
