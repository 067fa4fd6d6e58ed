package krm_test

import (
	"encoding/json"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// everyObject is every object the function builds, for both strategies.
func everyObject(t testing.TB) []any {
	t.Helper()
	var configs []*v1alpha1.VLLMHPAConfig
	for _, s := range []v1alpha1.Strategy{v1alpha1.StrategyVLLM, v1alpha1.StrategyGPU} {
		c := &v1alpha1.VLLMHPAConfig{}
		c.Name, c.Namespace = "model-"+string(s), "default"
		c.Spec.Strategy = s
		c.Spec.ScaleTargetRef.Name = "vllm-" + string(s)
		c.Spec.MaxReplicas = 5
		c.Spec.PodSelector = map[string]string{"app": "vllm-" + string(s)}
		c.Default()
		configs = append(configs, c)
	}
	var out []any
	for _, o := range manifests.Build(configs) {
		out = append(out, o.Value)
	}
	if len(out) == 0 {
		t.Fatal("manifests.Build built nothing")
	}
	return out
}

// TestFromTypedReadsJSONAsYAMLWould checks that every object the function
// builds comes out exactly as the YAML parser would read its JSON: the same
// order, the same quoting of strings that look like numbers or booleans.
func TestFromTypedReadsJSONAsYAMLWould(t *testing.T) {
	for _, v := range everyObject(t) {
		got, err := krm.FromTyped(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		want := viaYAMLParser(t, v)
		if got.String() != want {
			t.Errorf("%T differs from the YAML parser's reading:\n--- got\n%s\n--- want\n%s", v, got.String(), want)
		}
	}
}

// TestFromTypedKeepsTrickyScalars covers values whose YAML form depends on the
// node's tag: strings that read as other types, escapes, numbers of each kind.
func TestFromTypedKeepsTrickyScalars(t *testing.T) {
	v := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"data": map[string]any{
			"int": "4", "bool": "true", "null": "null", "float": "0.5", "empty": "",
			"escapes": "a\"b\\c\n\t<&>\u2028é", "colon": "vllm:num_requests_running",
			"multiline": "line one\nline two\n",
		},
		"numbers": []any{0, -3, 2.5, 1e21, 1234567890123, true, false, nil},
		"nested":  map[string]any{"empty": map[string]any{}, "list": []any{}},
	}
	got, err := krm.FromTyped(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := viaYAMLParser(t, v); got.String() != want {
		t.Errorf("differs from the YAML parser's reading:\n--- got\n%s\n--- want\n%s", got.String(), want)
	}
}

// viaYAMLParser is FromTyped by way of the YAML parser, which reads JSON as YAML.
func viaYAMLParser(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	node := doc.Content[0]
	plain(node)
	c := node.Content
	if len(c) >= 4 && c[0].Value == "kind" && c[2].Value == "apiVersion" {
		c[0], c[1], c[2], c[3] = c[2], c[3], c[0], c[1]
	}
	rn := yaml.NewRNode(node)
	for _, f := range []yaml.Filter{yaml.Clear("status")} {
		if err := rn.PipeE(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := rn.PipeE(yaml.Lookup("metadata"), yaml.Clear("creationTimestamp")); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"spec", "strategy"}, {"spec"}} {
		field, err := rn.Pipe(yaml.Lookup(path...))
		if err != nil {
			t.Fatal(err)
		}
		if field != nil && field.YNode().Kind == yaml.MappingNode && len(field.Content()) == 0 {
			parent, _ := rn.Pipe(yaml.Lookup(path[:len(path)-1]...))
			if _, err := parent.Pipe(yaml.Clear(path[len(path)-1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fn.MoveToKubeObject(rn).String()
}

func plain(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}

// BenchmarkFromTyped converts every object of both strategies, as one run of the
// function in generator mode does.
func BenchmarkFromTyped(b *testing.B) {
	objects := everyObject(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range objects {
			if _, err := krm.FromTyped(v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
