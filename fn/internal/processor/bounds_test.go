package processor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestYAMLLimits records what the YAML library (go.yaml.in/yaml/v3, under kyaml)
// already refuses, and the case it lets through that MaxExpandedBytes exists for.
func TestYAMLLimits(t *testing.T) {
	var v any
	err := yaml.Unmarshal([]byte(billionLaughs("")), &v)
	if err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("yaml.v3 decodes the billion laughs (%v); it used to refuse alias-heavy documents", err)
	}
	err = yaml.Unmarshal([]byte(strings.Repeat("[", 10001)+strings.Repeat("]", 10001)), &v)
	if err == nil || !strings.Contains(err.Error(), "exceeded max depth of 10000") {
		t.Errorf("yaml.v3 parses 10001 nested lists (%v); it used to stop at 10000", err)
	}

	// 64 KiB aliased 200 times: 12.5 MiB decoded from 65 KiB. The ratio of aliases
	// to nodes is low, so yaml.v3 lets it through; 10 MiB aliased 1000 times would
	// be 10 GiB.
	doc := "big: &s " + strings.Repeat("x", 64<<10) + "\nmany: [" + strings.Repeat("*s, ", 199) + "*s]\n"
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("yaml.v3 now refuses a long string aliased 200 times (%v): MaxExpandedBytes may be redundant", err)
	}
	if n := len(m["many"].([]any)); n != 200 {
		t.Fatalf("decoded %d copies, want 200", n)
	}
}

func TestCheckInput(t *testing.T) {
	cases := []struct {
		name, doc string
		wantErr   string
	}{
		{"no aliases", "a: [b, c]\n", ""},
		{"a few shared values", "data:\n  base: &b {app: x}\n  one: *b\n  two: *b\n", ""},
		{"the ResourceList's items as an alias", "kind: ResourceList\nx: &i []\nitems: *i\n", "the ResourceList's items is a YAML alias"},
		{"an item's name as an alias", "kind: ResourceList\nitems:\n- {kind: A, metadata: {name: &n a}, data: {b: *n}}\n- {kind: B, metadata: {name: *n}}\n", "items[1]"},
		{"an alias to another item", "kind: ResourceList\nitems:\n- {kind: A, metadata: {name: a}, data: &d {x: y}}\n- {kind: B, metadata: {name: b}, data: *d}\n", "names an anchor outside it"},
		{"just under the bound", "big: &s " + strings.Repeat("x", 1<<20) + "\nmany: [" + strings.Repeat("*s, ", 29) + "*s]\n", ""},
		{"just over the bound", "big: &s " + strings.Repeat("x", 1<<20) + "\nmany: [" + strings.Repeat("*s, ", 32) + "*s]\n", "more than 32 MiB"},
		{"over the bound across documents", strings.Repeat("big: &s "+strings.Repeat("x", 1<<20)+"\nmany: ["+strings.Repeat("*s, ", 15)+"*s]\n---\n", 3), "more than 32 MiB"},
		{"the billion laughs", billionLaughs(""), "more than 32 MiB"},
		{"an alias inside its own anchor", "a: &a [x, *a]\n", "contains it"},
		{"a syntax error is the parser's", "a: [\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkInput([]byte(tc.doc))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestExpandedSizeOfPlainYAML checks that the bound costs nothing to documents
// without aliases: their expanded size is at most their length, so any input
// MaxInputBytes admits, MaxExpandedBytes admits too.
func TestExpandedSizeOfPlainYAML(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "*", "input.yaml"))
	for _, p := range inputs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			continue
		}
		size, err := (&sizeWalker{anchored: map[*yaml.Node]int64{}}).size(&doc)
		if err != nil && !errors.Is(err, errAliasCycle) {
			t.Fatal(err)
		}
		if size > int64(len(b)) {
			t.Errorf("%s: expanded size %d is more than its %d bytes", p, size, len(b))
		}
	}
}
