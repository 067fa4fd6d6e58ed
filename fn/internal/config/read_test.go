package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestToJSONMatchesMarshalJSON: toJSON converts every config the way
// RNode.MarshalJSON does, byte for byte, errors included.
func TestToJSONMatchesMarshalJSON(t *testing.T) {
	docs := []string{
		"spec: {strategy: vllm, maxReplicas: 5}",
		"spec:\n  port: !!str 8000\n  quoted: \"8000\"\n  float: 0.8\n  exp: 1e3\n  bool: yes\n  null: ~\n  empty:\n",
		"base: &b {name: vllm}\nspec:\n  scaleTargetRef: *b\n  merged:\n    <<: *b\n    kind: Deployment\n",
		"spec:\n  text: |\n    line one\n    line two\n  folded: >-\n    a\n    b\n",
		"spec: {a: 1, a: 2}",
		"spec: {0x10: hex, 1.5: float, true: bool}",
		"spec: {big: 123456789012345678901234567890, neg: -0, inf: .inf}",
		"spec: [1, 2]",
		"spec: !!binary aGVsbG8=",
	}
	inputs, err := filepath.Glob("../../../testdata/*/input.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := yaml.Parse(string(b))
		if err != nil {
			continue // the not-YAML cases
		}
		items, _ := nodes.Pipe(yaml.Lookup("items"))
		if items == nil {
			continue
		}
		for _, item := range items.Content() {
			docs = append(docs, yaml.NewRNode(item).MustString())
		}
	}
	for _, doc := range docs {
		rn, err := yaml.Parse(doc)
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		want, wantErr := rn.MarshalJSON()
		got, gotErr := toJSON(rn.YNode())
		if (gotErr != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Errorf("%q:\ngot  %s (%v)\nwant %s (%v)", doc, got, gotErr, want, wantErr)
		}
	}
}
