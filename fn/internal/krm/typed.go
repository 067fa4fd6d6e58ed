package krm

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// typedNode builds the node tree the YAML parser would read from json.Marshal(v),
// following encoding/json's rules (field names and order, omitempty, omitzero,
// embedded structs, Marshalers, sorted map keys), but visiting only the values
// that are set. encoding/json prepares an encoder for every type a struct can
// reach, all of PodSpec for one Deployment: a one-shot process pays that on
// every run.
func typedNode(v reflect.Value) (*yaml.Node, error) {
	if !v.IsValid() {
		return nullNode(), nil
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(jsonMarshaler) {
		return marshalerNode(v.Addr())
	}
	if t.Implements(jsonMarshaler) {
		if t.Kind() == reflect.Pointer && v.IsNil() {
			return nullNode(), nil
		}
		return marshalerNode(v)
	}
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshaler) {
		return textNode(v.Addr())
	}
	if t.Implements(textMarshaler) {
		if t.Kind() == reflect.Pointer && v.IsNil() {
			return nullNode(), nil
		}
		return textNode(v)
	}
	switch v.Kind() {
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagBool, Value: strconv.FormatBool(v.Bool())}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return numberNode(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return numberNode(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		s, err := formatFloat(v.Float(), t.Bits())
		if err != nil {
			return nil, err
		}
		return numberNode(s), nil
	case reflect.String:
		return stringNode(v.String()), nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nullNode(), nil
		}
		return typedNode(v.Elem())
	case reflect.Struct:
		return structNode(v)
	case reflect.Map:
		return mapNode(v)
	case reflect.Slice:
		if v.IsNil() {
			return nullNode(), nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !implementsMarshaler(t.Elem()) {
			return stringNode(base64.StdEncoding.EncodeToString(v.Bytes())), nil
		}
		return sequenceNode(v)
	case reflect.Array:
		return sequenceNode(v)
	default:
		return nil, fmt.Errorf("json: unsupported type: %s", t)
	}
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func implementsMarshaler(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || p.Implements(jsonMarshaler) || p.Implements(textMarshaler)
}

func marshalerNode(v reflect.Value) (*yaml.Node, error) {
	b, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalJSON for type %s: %w", v.Type(), err)
	}
	r := jsonReader{b: b}
	n, err := r.value()
	if err != nil {
		return nil, fmt.Errorf("json: MarshalJSON of type %s: %w", v.Type(), err)
	}
	return n, nil
}

func textNode(v reflect.Value) (*yaml.Node, error) {
	b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalText for type %s: %w", v.Type(), err)
	}
	return stringNode(string(b)), nil
}

func structNode(v reflect.Value) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: yaml.NodeTagMap}
	for _, f := range fieldsOf(v.Type()) {
		fv, ok := fieldByIndex(v, f.index)
		if !ok || f.omitEmpty && isEmpty(fv) || f.omitZero && isZero(fv) {
			continue
		}
		var value *yaml.Node
		var err error
		if f.quoted && isQuotable(fv) {
			value, err = quotedNode(fv)
		} else {
			value, err = typedNode(fv)
		}
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, stringNode(f.name), value)
	}
	return n, nil
}

// fieldByIndex is v.FieldByIndex that reports a nil embedded pointer on the
// way instead of panicking: encoding/json leaves such fields out.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

type zeroer interface{ IsZero() bool }

var zeroerType = reflect.TypeFor[zeroer]()

// isZero is omitzero's test: the type's IsZero method when it has one.
func isZero(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Interface && t.Implements(zeroerType):
		return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() || v.Interface().(zeroer).IsZero()
	case t.Kind() == reflect.Pointer && t.Implements(zeroerType):
		return v.IsNil() || v.Interface().(zeroer).IsZero()
	case t.Implements(zeroerType):
		return v.Interface().(zeroer).IsZero()
	case reflect.PointerTo(t).Implements(zeroerType):
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(zeroer).IsZero()
	}
	return v.IsZero()
}

// isQuotable says whether the ",string" option applies to v's kind.
func isQuotable(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// quotedNode writes a value under the ",string" option: its JSON text as a string.
func quotedNode(v reflect.Value) (*yaml.Node, error) {
	if v.Kind() == reflect.String {
		b, err := json.Marshal(v.String())
		if err != nil {
			return nil, err
		}
		return stringNode(string(b)), nil
	}
	n, err := typedNode(v)
	if err != nil {
		return nil, err
	}
	return stringNode(n.Value), nil
}

func mapNode(v reflect.Value) (*yaml.Node, error) {
	if v.IsNil() {
		return nullNode(), nil
	}
	type entry struct {
		key   string
		value reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for iter := v.MapRange(); iter.Next(); {
		k, err := mapKey(iter.Key())
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{k, iter.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: yaml.NodeTagMap, Content: make([]*yaml.Node, 0, 2*len(entries))}
	for _, e := range entries {
		value, err := typedNode(e.value)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, stringNode(e.key), value)
	}
	return n, nil
}

// mapKey is encoding/json's text for a map key.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("json: unsupported map key type: %s", k.Type())
}

func sequenceNode(v reflect.Value) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: yaml.NodeTagSeq, Content: make([]*yaml.Node, 0, v.Len())}
	for i := range v.Len() {
		item, err := typedNode(v.Index(i))
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, item)
	}
	return n, nil
}

// formatFloat writes f as encoding/json does: like ES6, exponents only for very
// small or very large magnitudes.
func formatFloat(f float64, bits int) (string, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(nil, f, format, -1, bits)
	if format == 'e' {
		// e-09 becomes e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b), nil
}

func nullNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagNull, Value: "null"}
}

// stringNode holds s as encoding/json writes it: each byte that is not valid
// UTF-8 becomes U+FFFD.
func stringNode(s string) *yaml.Node {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
		}
		s = b.String()
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: s}
}

// numberNode tags a JSON number as the YAML parser resolves it: an int when it
// fits 64 bits, else a float (5.5, 1e+21, 100000000000000000000).
func numberNode(s string) *yaml.Node {
	tag := yaml.NodeTagFloat
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		tag = yaml.NodeTagInt
	} else if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		tag = yaml.NodeTagInt
	} else if _, err := strconv.ParseFloat(s, 64); err != nil {
		tag = yaml.NodeTagString
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}

// field is one JSON field of a struct type.
type field struct {
	name                        string
	index                       []int
	omitEmpty, omitZero, quoted bool
	tagged                      bool
}

// fieldCache holds fieldsOf per struct type: ObjectMeta and the like recur in
// every object.
var fieldCache sync.Map

// fieldsOf lists the JSON fields of struct type t in encoding/json's order,
// embedded structs' fields in place, with its rules for names that clash.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.([]field)
}

func typeFields(t reflect.Type) []field {
	if fields, ok := flatFields(t); ok {
		return fields
	}
	type queued struct {
		t     reflect.Type
		index []int
	}
	var fields []field
	current, next := []queued{}, []queued{{t: t}}
	visited := map[reflect.Type]bool{}
	count, nextCount := map[reflect.Type]int{}, map[reflect.Type]int{t: 1}
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.t] {
				continue
			}
			visited[q.t] = true
			for i := range q.t.NumField() {
				sf := q.t.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				index := append(slices.Clip(q.index), i)
				f, ft := newField(sf, tag, index)
				if f.tagged || !sf.Anonymous || ft.Kind() != reflect.Struct {
					fields = append(fields, f)
					if count[q.t] > 1 {
						// Two copies at one depth annihilate each other.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{t: ft, index: index})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	// Keep the dominant field of each name: the shallowest, then the tagged one;
	// a tie leaves the name out.
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		group := fields[i:j]
		if len(group) == 1 || len(group[0].index) < len(group[1].index) || group[0].tagged && !group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

// flatFields is typeFields for the common case, a struct that embeds nothing
// and whose JSON names are distinct: there are no dominance rules to apply, and
// the fields come in declaration order. ok is false for any other struct.
func flatFields(t reflect.Type) (fields []field, ok bool) {
	fields = make([]field, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, false
		}
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		f, _ := newField(sf, tag, []int{i})
		for _, g := range fields {
			if g.name == f.name {
				return nil, false
			}
		}
		fields = append(fields, f)
	}
	return fields, true
}

// newField reads the JSON tag of struct field sf, found at index. It also
// returns the field's type with an unnamed pointer taken off, as encoding/json
// looks through it for embedded structs.
func newField(sf reflect.StructField, tag string, index []int) (field, reflect.Type) {
	name, opts, _ := strings.Cut(tag, ",")
	if !isValidTag(name) {
		name = ""
	}
	ft := sf.Type
	if ft.Name() == "" && ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	f := field{
		name: name, index: index, tagged: name != "",
		omitEmpty: hasOption(opts, "omitempty"), omitZero: hasOption(opts, "omitzero"),
	}
	if f.name == "" {
		f.name = sf.Name
	}
	if hasOption(opts, "string") {
		switch ft.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64, reflect.String:
			f.quoted = true
		}
	}
	return f, ft
}

// isValidTag is encoding/json's test for a usable field name in a tag.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}
