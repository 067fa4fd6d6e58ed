package inventory_test

import (
	"slices"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

func TestParseOwners(t *testing.T) {
	got := inventory.ParseOwners(" team-b/mistral,default/gemma,, default/gemma ")
	if want := []string{"default/gemma", "team-b/mistral"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestNew reads each item once: an empty item has no entry, an object is found
// by its identity (a stray namespace on a cluster-scoped kind dropped), and
// annotations are read as written, an unquoted false included.
func TestNew(t *testing.T) {
	rl, err := fn.ParseResourceList([]byte(`apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- {}
- apiVersion: v1
  kind: Namespace
  metadata:
    name: custom-metrics
    namespace: stray
    annotations:
      vllmhpa.dev/generated-by: default/gemma
      vllmhpa.dev/managed: false
      config.kubernetes.io/path: a.yaml
      config.kubernetes.io/index: '3'
`))
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New(rl.Items)
	if inv.Entry(0) != nil {
		t.Error("an empty item has an entry")
	}
	found := inv.Lookup(manifests.ID{Kind: "Namespace", Name: "custom-metrics"})
	if len(found) != 1 {
		t.Fatalf("found %d Namespaces custom-metrics, want 1", len(found))
	}
	e := found[0]
	if e.Managed != "false" || e.Path != "a.yaml" || e.Index != 3 || !e.Generated() || e.Position != 1 {
		t.Errorf("entry %+v", *e)
	}
}
