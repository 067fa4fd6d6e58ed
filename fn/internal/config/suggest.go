package config

import (
	"reflect"
	"strings"
	"sync"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// knownFields are the field paths of VLLMHPAConfig, from its JSON tags, listed
// only when a field is unknown: most runs never need them.
var knownFields = sync.OnceValue(func() []string {
	return fieldPaths(reflect.TypeFor[v1alpha1.VLLMHPAConfig](), "", 0)
})

// suggest returns the known field closest to an unknown one, among its siblings,
// when it is close enough to be a misspelling; "" otherwise.
func suggest(unknown string) string {
	parent, name := "", unknown
	if i := strings.LastIndex(unknown, "."); i >= 0 {
		parent, name = unknown[:i+1], unknown[i+1:]
	}
	best, bestDist := "", 3
	for _, f := range knownFields() {
		if !strings.HasPrefix(f, parent) || strings.Contains(f[len(parent):], ".") {
			continue
		}
		if d := distance(strings.ToLower(name), strings.ToLower(f[len(parent):])); d < bestDist {
			best, bestDist = f, d
		}
	}
	return best
}

func fieldPaths(t reflect.Type, prefix string, depth int) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 8 {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case name == "":
			out = append(out, fieldPaths(f.Type, prefix, depth+1)...)
		default:
			out = append(out, prefix+name)
			out = append(out, fieldPaths(f.Type, prefix+name+".", depth+1)...)
		}
	}
	return out
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
