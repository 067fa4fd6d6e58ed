package krm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/bench/gen"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
)

// tricky holds what YAML encoders trip on at the border of two items: comments
// above, beside and below objects, block scalars that keep or strip their final
// newlines, long lines, flow style, anchors, a document end marker.
const tricky = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
# head of the first item
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: b # beside the name
  data:
    keep: |+
      trailing newlines are kept

    strip: |-
      no final newline
    folded: >
      folded text that runs on and on and on and on and on and on and on and on past the line width
    long: "a double-quoted string that runs on and on and on and on and on and on past the line width of eighty"
  # foot of the data
# foot of the first item
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, labels: {x: "1"}}
  data:
    anchored: &value shared
    alias: *value
    last: |+
      ends the item with kept newlines


- apiVersion: example.com/v1
  kind: Widget
  metadata:
    name: c
  spec:
    list: [1, 2.5, "3", true, null]
    nested:
    - - deep
      - deeper
    empty: {}
# a comment at the end of the items
functionConfig:
  apiVersion: v1
  kind: ConfigMap # the config
  metadata:
    name: fc
  data:
    k: v
results:
- message: something to say
  severity: info
  resourceRef: {apiVersion: v1, kind: ConfigMap, name: a}
  file: {path: a.yaml, index: 1}
`

// TestResourceListYAMLIsToYAML checks that the item-by-item encoding writes
// exactly what the SDK writes, over every golden input and output, generated
// packages of every kind of user object, and the tricky cases above.
func TestResourceListYAMLIsToYAML(t *testing.T) {
	inputs := map[string][]byte{
		"tricky":            []byte(tricky),
		"generator":         gen.Generator().ResourceList(),
		"pass-through":      gen.PassThrough(60).ResourceList(),
		"configs-and-items": gen.Package{Items: 12, FunctionConfig: gen.GPU, ItemConfigs: []gen.Strategy{gen.VLLM, gen.GPU}}.ResourceList(),
		"empty":             []byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n"),
		"equal keys":        equalKeys(300),
		"many small parts":  manySmall(3000, 700),
		"flow-style config": []byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: fc}, data: {k: v}}\n"),
	}
	golden, err := filepath.Glob("../../../testdata/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range golden {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = b
	}
	compared := 0
	for name, in := range inputs {
		want, err := fn.ParseResourceList(in)
		if err != nil {
			continue // error cases hold inputs that are not ResourceLists
		}
		got, _ := fn.ParseResourceList(in)
		wantYAML, err := want.ToYAML()
		if err != nil {
			t.Fatalf("%s: ToYAML: %v", name, err)
		}
		gotYAML, err := krm.ResourceListYAML(got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(gotYAML) != string(wantYAML) {
			t.Errorf("%s: differs from ToYAML at %s", name, firstDifference(string(gotYAML), string(wantYAML)))
		}
		compared++
	}
	if compared < len(inputs)/2 {
		t.Fatalf("only %d of %d inputs parsed as ResourceLists", compared, len(inputs))
	}
}

// TestResourceListYAMLKeepsObjects checks that writing a list empties rl.Items
// but leaves every object as it was, for anyone else who holds one.
func TestResourceListYAMLKeepsObjects(t *testing.T) {
	rl, err := fn.ParseResourceList(gen.PassThrough(30).ResourceList())
	if err != nil {
		t.Fatal(err)
	}
	items := slices.Clone(rl.Items)
	before := make([]string, len(items))
	for i, o := range items {
		before[i] = o.String()
	}
	if _, err := krm.ResourceListYAML(rl); err != nil {
		t.Fatal(err)
	}
	if len(rl.Items) != 0 {
		t.Errorf("rl.Items holds %d items after writing, want none", len(rl.Items))
	}
	for i, o := range items {
		if o.String() != before[i] {
			t.Errorf("item %d changed by writing:\n%s\nwas:\n%s", i, o.String(), before[i])
		}
	}
}

// equalKeys is a ResourceList whose items share a few identities, so that the
// order a sort leaves equal keys in shows in the output.
func equalKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for i := range n {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: same-%d}\n  data: {i: \"%d\"}\n", (i*7)%3, i)
	}
	return []byte(b.String())
}

// manySmall is a ResourceList of n tiny items and r results, more than one
// part of the output holds of either.
func manySmall(n, r int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for i := range n {
		if i%3 == 0 {
			b.WriteString("- {}\n")
			continue
		}
		fmt.Fprintf(&b, "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c-%d}}\n", i)
	}
	b.WriteString("results:\n")
	for i := range r {
		fmt.Fprintf(&b, "- {message: \"result %d\", severity: info, field: {path: spec.x}}\n", i)
	}
	return []byte(b.String())
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("the end: got %d lines, want %d", len(g), len(w))
}

// BenchmarkResourceListYAML writes generated packages item by item;
// BenchmarkToYAML writes the same with the SDK's one-document encoder.
func BenchmarkResourceListYAML(b *testing.B) { benchmarkEncode(b, krm.ResourceListYAML) }

func BenchmarkToYAML(b *testing.B) {
	benchmarkEncode(b, func(rl *fn.ResourceList) ([]byte, error) { return rl.ToYAML() })
}

func benchmarkEncode(b *testing.B, encode func(*fn.ResourceList) ([]byte, error)) {
	for _, n := range gen.Sizes {
		rl, err := fn.ParseResourceList(gen.PassThrough(n).ResourceList())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encode(&fn.ResourceList{Items: slices.Clone(rl.Items)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
