package reconcile_test

import (
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/reconcile"
)

func object(t *testing.T, yaml string) *fn.KubeObject {
	t.Helper()
	o, err := fn.ParseKubeObject([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func desired(t *testing.T, yaml, path string) reconcile.Desired {
	o := object(t, yaml)
	return reconcile.Desired{
		Object: o, Owners: []string{"default/gemma"}, Path: path,
		ID: manifests.NewID(o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName()),
	}
}

const (
	pm  = "apiVersion: monitoring.googleapis.com/v1\nkind: PodMonitoring\nmetadata: {name: gemma, namespace: default, annotations: {vllmhpa.dev/generated-by: default/gemma}}\n"
	hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: gemma, namespace: default, annotations: {vllmhpa.dev/generated-by: default/gemma}}\n"
)

// TestIndexes: the objects a run writes follow, in each file, the items it
// leaves there, in the order of desired, whatever indexes they had; an item
// placed with the legacy annotations alone counts, and a replaced object that
// carries them gets both forms of its new index.
func TestIndexes(t *testing.T) {
	items := fn.KubeObjects{
		object(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
  namespace: default
  annotations: {config.kubernetes.io/path: models/gemma.yaml, config.kubernetes.io/index: "4"}
`),
		// Generated before, at an index of its own, with legacy annotations.
		object(t, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: gemma
  namespace: default
  annotations:
    vllmhpa.dev/generated-by: default/gemma
    config.kubernetes.io/path: models/gemma.yaml
    config.kubernetes.io/index: "0"
    internal.config.kubernetes.io/path: models/gemma.yaml
    internal.config.kubernetes.io/index: "0"
`),
	}
	out, results := reconcile.Apply(inventory.New(items), []reconcile.Desired{
		desired(t, pm, "models/gemma.yaml"), desired(t, hpa, "models/gemma.yaml"),
	}, map[string]bool{"default/gemma": true})
	if len(results) > 0 {
		t.Fatalf("results: %v", results)
	}
	want := map[string][2]string{"PodMonitoring": {"5", ""}, "HorizontalPodAutoscaler": {"6", "6"}, "ConfigMap": {"", "4"}}
	for _, o := range out {
		w := want[o.GetKind()]
		if got := [2]string{o.GetAnnotation(kioutil.IndexAnnotation), o.GetAnnotation(kioutil.LegacyIndexAnnotation)}; got != w {
			t.Errorf("%s: indexes (current, legacy) %q, want %q", o.GetKind(), got, w)
		}
	}
}

// TestStrayNamespace: a cluster-scoped object with a stray namespace is the
// object of that name; next to the one without, it is a second copy.
func TestStrayNamespace(t *testing.T) {
	const role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: custom-metrics-resource-reader, annotations: {vllmhpa.dev/generated-by: default/gemma}}\n"
	stray := object(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: custom-metrics-resource-reader, namespace: default, annotations: {vllmhpa.dev/generated-by: default/gemma}}\n")
	d := desired(t, role, "")
	if d.ID.Namespace != "" {
		t.Fatalf("a ClusterRole read with namespace %q", d.ID.Namespace)
	}
	out, results := reconcile.Apply(inventory.New(fn.KubeObjects{stray}), []reconcile.Desired{d}, map[string]bool{"default/gemma": true})
	if len(results) > 0 || len(out) != 1 || out[0].GetNamespace() != "" {
		t.Errorf("replacing the stray-namespaced ClusterRole: %d objects, namespace %q, results %v", len(out), out[0].GetNamespace(), results)
	}
	_, results = reconcile.Apply(inventory.New(fn.KubeObjects{stray, object(t, role)}), []reconcile.Desired{desired(t, role, "")}, map[string]bool{"default/gemma": true})
	if len(results) != 1 || results[0].Severity != fn.Error {
		t.Errorf("two copies of the ClusterRole: results %v, want one error", results)
	}
}
