package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestValueMatchesMarshalJSON: value reads every document the way
// RNode.MarshalJSON does, byte for byte, except where that silently settles
// or refuses without saying where: there value names the field.
func TestValueMatchesMarshalJSON(t *testing.T) {
	refused := map[string]string{
		"spec: {a: 1, a: 2}": "spec.a: Duplicate value: set twice",
		"spec: {big: 123456789012345678901234567890, neg: -0, inf: .inf}": `spec.inf: Invalid value: ".inf": is not a finite number`,
		"spec: {tolerance: .nan}":                             `spec.tolerance: Invalid value: ".nan": is not a finite number`,
		"spec:\n  behavior:\n    scaleUp: {tolerance: -.Inf}": `spec.behavior.scaleUp.tolerance: Invalid value: "-.Inf": is not a finite number`,
		"spec: {list: [1, {x: 1, x: 2}]}":                     "spec.list[1].x: Duplicate value: set twice",
	}
	// Keys that are not strings: MarshalJSON cannot write the map; value reads
	// them as written, and the strict decoder then says which field is unknown.
	keysAsText := map[string]string{
		"spec:\n  port: !!str 8000\n  quoted: \"8000\"\n  float: 0.8\n  exp: 1e3\n  bool: yes\n  null: ~\n  empty:\n": `{"spec":{"bool":"yes","empty":null,"exp":1000,"float":0.8,"null":null,"port":"8000","quoted":"8000"}}`,
		"spec: {0x10: hex, 1.5: float, true: bool}": `{"spec":{"0x10":"hex","1.5":"float","true":"bool"}}`,
	}
	docs := []string{
		"spec: {strategy: vllm, maxReplicas: 5}",
		"spec:\n  port: !!str 8000\n  quoted: \"8000\"\n  float: 0.8\n  exp: 1e3\n  bool: yes\n  null: ~\n  empty:\n",
		"base: &b {name: vllm}\nspec:\n  scaleTargetRef: *b\n  merged:\n    <<: *b\n    kind: Deployment\n",
		"spec:\n  text: |\n    line one\n    line two\n  folded: >-\n    a\n    b\n",
		"spec: {0x10: hex, 1.5: float, true: bool}",
		"spec: [1, 2]",
		"spec: !!binary aGVsbG8=",
	}
	for doc := range refused {
		docs = append(docs, doc)
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
			if item.Kind == yaml.MappingNode { // an item that is not an object is no config
				docs = append(docs, yaml.NewRNode(item).MustString())
			}
		}
	}
	for _, doc := range docs {
		rn, err := yaml.Parse(doc)
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		v, ferr := value(rn.YNode(), nil)
		if msg, ok := refused[doc]; ok {
			if ferr == nil || !strings.HasPrefix(ferr.Error(), msg) {
				t.Errorf("%q: got %v, want an error starting %q", doc, ferr, msg)
			}
			continue
		}
		if ferr != nil {
			// Golden error cases hold documents that both refuse; value says where.
			if _, wantErr := rn.MarshalJSON(); ferr.Field == "<nil>" || wantErr == nil {
				t.Errorf("%q: %s", doc, ferr)
			}
			continue
		}
		want, wantErr := rn.MarshalJSON()
		if text, ok := keysAsText[doc]; ok {
			want, wantErr = []byte(text), nil
		}
		got, gotErr := json.Marshal(v)
		if wantErr != nil || gotErr != nil || !bytes.Equal(got, want) {
			t.Errorf("%q:\ngot  %s (%v)\nwant %s (%v)", doc, got, gotErr, want, wantErr)
		}
	}
}
