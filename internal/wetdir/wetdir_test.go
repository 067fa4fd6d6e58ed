package wetdir_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/internal/wetdir"
)

const good = `apiVersion: v1
kind: Namespace
metadata:
  name: custom-metrics
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: custom-metrics-stackdriver-adapter
  namespace: custom-metrics
---
apiVersion: monitoring.googleapis.com/v1
kind: ClusterRules
metadata:
  name: vllmhpa-dcgm-gpu-util
---
apiVersion: monitoring.googleapis.com/v1
kind: PodMonitoring
metadata:
  name: vllm-gemma
  namespace: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: custom-metrics:system:auth-delegator
`

func TestCheckAcceptsCleanObjects(t *testing.T) {
	if errs := wetdir.Check(parse(t, good)); len(errs) > 0 {
		t.Fatalf("clean objects rejected: %v", errs)
	}
}

// TestCheckRejects feeds one broken object per rule and expects exactly one
// error that names the object and the problem.
func TestCheckRejects(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"status": {`apiVersion: v1
kind: Service
metadata: {name: s, namespace: default}
status: {loadBalancer: {}}
`, "has a status"},
		"namespaced without namespace": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm-gemma}
`, "Deployment vllm-gemma: is namespaced but has no metadata.namespace"},
		"custom namespaced kind without namespace": {`apiVersion: monitoring.googleapis.com/v1
kind: PodMonitoring
metadata: {name: vllm-gemma}
`, "is namespaced but has no metadata.namespace"},
		"cluster-scoped with namespace": {`apiVersion: monitoring.googleapis.com/v1
kind: ClusterRules
metadata: {name: r, namespace: team-a}
`, `is cluster-scoped but has metadata.namespace "team-a"`},
		"built-in cluster-scoped with namespace": {`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r, namespace: team-a}
`, "is cluster-scoped"},
		"config sync annotation": {`apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: default
  annotations: {configsync.gke.io/resource-id: x}
`, "sets metadata.annotations configsync.gke.io/resource-id"},
		"config management label": {`apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: default
  labels: {configmanagement.gke.io/system: "true"}
`, "sets metadata.labels configmanagement.gke.io/system"},
		"local config": {`apiVersion: v1
kind: ConfigMap
metadata:
  name: fn-config
  namespace: default
  annotations: {config.kubernetes.io/local-config: "true"}
`, "is local configuration"},
		"server-set metadata": {`apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: default, creationTimestamp: null}
`, "has metadata.creationTimestamp"},
		"kustomization": {`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
metadata: {name: k}
`, "a Kustomization is not an object Config Sync can sync"},
		"duplicate": {`apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: default}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: default}
`, "ConfigMap default/c: appears twice"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			errs := wetdir.Check(parse(t, tc.yaml))
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errors %v, want one containing %q", errs, tc.want)
			}
		})
	}
}

// Vendor-specific kinds have no scope wetdir can look up; it says so instead of
// guessing and letting a namespace error through.
func TestCheckRejectsUnknownScope(t *testing.T) {
	errs := wetdir.Check(parse(t, `apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "the scope of example.com/Widget is unknown") {
		t.Fatalf("errors %v, want one naming the unknown scope", errs)
	}
}

func TestFilesLayout(t *testing.T) {
	files, err := wetdir.Files(parse(t, good), "# header\n")
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(files))
	want := []string{
		"cluster/clusterrolebinding_custom-metrics-system-auth-delegator.yaml",
		"cluster/clusterrules_vllmhpa-dcgm-gpu-util.yaml",
		"cluster/namespace_custom-metrics.yaml",
		"namespaces/custom-metrics/serviceaccount_custom-metrics-stackdriver-adapter.yaml",
		"namespaces/default/podmonitoring_vllm-gemma.yaml",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if s := string(files["cluster/namespace_custom-metrics.yaml"]); s != "# header\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: custom-metrics\n" {
		t.Errorf("namespace file:\n%s", s)
	}
}

func TestFilesRefusesBrokenOrEmptyInput(t *testing.T) {
	if _, err := wetdir.Files(nil, ""); err == nil || !strings.Contains(err.Error(), "no objects") {
		t.Errorf("empty input: %v, want an error", err)
	}
	_, err := wetdir.Files(parse(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"), "")
	if err == nil || !strings.Contains(err.Error(), "no metadata.namespace") {
		t.Errorf("broken input: %v, want the rule it breaks", err)
	}
}

func TestCheckDirFindsKustomization(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := wetdir.CheckDir(dir); len(errs) != 1 {
		t.Fatalf("errors %v, want one for kustomization.yaml", errs)
	}
}

func parse(t *testing.T, s string) []*yaml.RNode {
	t.Helper()
	nodes, err := wetdir.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}
