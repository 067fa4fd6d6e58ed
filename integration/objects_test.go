package integration_test

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/internal/plainyaml"
)

// parse reads a YAML stream of objects.
func parse(t *testing.T, stream []byte) []*yaml.RNode {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(stream), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatalf("not a YAML stream of objects: %v\n%s", err, stream)
	}
	return nodes
}

// id is an object's identity: group, kind, namespace and name.
func id(n *yaml.RNode) string {
	group, _, found := strings.Cut(n.GetApiVersion(), "/")
	if !found {
		group = ""
	}
	return group + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
}

// normalized returns the objects keyed by id, each as YAML with sorted keys and
// without a function runtime's annotations: two streams with equal normalized
// objects apply the same objects to a cluster, whatever their order and style.
func normalized(t *testing.T, nodes []*yaml.RNode) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range nodes {
		n = n.Copy()
		if err := plainyaml.StripRuntimeAnnotations(n); err != nil {
			t.Fatal(err)
		}
		m, err := n.Map()
		if err != nil {
			t.Fatal(err)
		}
		b, err := sigsyaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[id(n)]; dup {
			t.Errorf("%s appears twice", id(n))
		}
		out[id(n)] = string(b)
	}
	return out
}

// sameObjects reports every object that is missing, extra or different.
func sameObjects(t *testing.T, what string, got, want []*yaml.RNode) {
	t.Helper()
	g, w := normalized(t, got), normalized(t, want)
	for k, wv := range w {
		gv, ok := g[k]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, k)
		case gv != wv:
			t.Errorf("%s: %s differs:\n%s", what, k, lineDiff(wv, gv))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: %s is extra", what, k)
		}
	}
}

// find returns the object of kind, namespace and name, failing the test when
// there is none.
func find(t *testing.T, nodes []*yaml.RNode, kind, namespace, name string) *yaml.RNode {
	t.Helper()
	for _, n := range nodes {
		if n.GetKind() == kind && n.GetNamespace() == namespace && n.GetName() == name {
			return n
		}
	}
	var have []string
	for _, n := range nodes {
		have = append(have, id(n))
	}
	t.Fatalf("no %s %s/%s among:\n  %s", kind, namespace, name, strings.Join(have, "\n  "))
	return nil
}

// ofKind returns the objects of kind.
func ofKind(nodes []*yaml.RNode, kind string) []*yaml.RNode {
	var out []*yaml.RNode
	for _, n := range nodes {
		if n.GetKind() == kind {
			out = append(out, n)
		}
	}
	return out
}

// field returns the scalar at the dotted path, "" when absent.
func field(t *testing.T, n *yaml.RNode, path ...string) string {
	t.Helper()
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil {
		t.Fatal(err)
	}
	if v == nil {
		return ""
	}
	return yaml.GetValue(v)
}
