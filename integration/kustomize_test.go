package integration_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestKustomizeExecExamples renders each examples/kustomize-exec/<name> with the
// command docs/running.md gives and compares it with its expected.yaml.
func TestKustomizeExecExamples(t *testing.T) {
	for _, name := range []string{"vllm", "gpu", "team-a", "slo"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("examples", "kustomize-exec", name)
			out := mustBuild(t, filepath.Join(work, dir))
			if len(ofKind(parse(t, out), "HorizontalPodAutoscaler")) != 1 {
				t.Fatalf("the output has no HorizontalPodAutoscaler: the function did not run\n%s", out)
			}
			compareExpected(t, filepath.Join(dir, "expected.yaml"), out)
		})
	}
}

// TestKustomizeTransformersReachGeneratedObjects: namespace:, namePrefix: and
// labels: in examples/kustomize-exec/team-a/model apply to the generated
// HorizontalPodAutoscaler and PodMonitoring, the HPA follows the renamed
// Deployment, and the adapter stack from cluster/ keeps its exact names.
func TestKustomizeTransformersReachGeneratedObjects(t *testing.T) {
	objs := parse(t, mustBuild(t, filepath.Join(work, "examples", "kustomize-exec", "team-a")))

	deploy := find(t, objs, "Deployment", "team-a", "team-a-vllm-gemma")
	hpa := find(t, objs, "HorizontalPodAutoscaler", "team-a", "team-a-vllm-gemma")
	if got := field(t, hpa, "spec", "scaleTargetRef", "name"); got != deploy.GetName() {
		t.Errorf("the HPA scales %q, want the renamed Deployment %q", got, deploy.GetName())
	}
	pm := find(t, objs, "PodMonitoring", "team-a", "team-a-vllm-gemma")
	if got, want := field(t, pm, "spec", "selector", "matchLabels", "app"), field(t, deploy, "spec", "template", "metadata", "labels", "app"); got == "" || got != want {
		t.Errorf("the PodMonitoring selects app=%q, the pods are labelled app=%q", got, want)
	}
	for _, o := range []string{"HorizontalPodAutoscaler", "PodMonitoring"} {
		n := find(t, objs, o, "team-a", "team-a-vllm-gemma")
		if n.GetLabels()["team"] != "a" {
			t.Errorf("%s has labels %v, want team: a from labels:", o, n.GetLabels())
		}
	}

	assertAdapterStackIntact(t, objs)
	for _, n := range objs {
		if strings.HasPrefix(n.GetName(), "team-a-") && n.GetNamespace() != "team-a" {
			t.Errorf("%s got the team's prefix outside its namespace", id(n))
		}
	}
}

// assertAdapterStackIntact checks the names Workload Identity and the API
// aggregation layer depend on.
func assertAdapterStackIntact(t *testing.T, objs []*yaml.RNode) {
	t.Helper()
	find(t, objs, "Namespace", "", "custom-metrics")
	find(t, objs, "ServiceAccount", "custom-metrics", "custom-metrics-stackdriver-adapter")
	find(t, objs, "Deployment", "custom-metrics", "custom-metrics-stackdriver-adapter")
	find(t, objs, "RoleBinding", "kube-system", "custom-metrics-auth-reader")
	api := find(t, objs, "APIService", "", "v1beta2.custom.metrics.k8s.io")
	if got := field(t, api, "spec", "service", "namespace"); got != "custom-metrics" {
		t.Errorf("the APIService points at a Service in %q, want custom-metrics", got)
	}
}

// TestKustomizeNamespaceMovesAdapterStack pins down what `namespace:` in a
// kustomization that includes the generator does to the cluster-wide objects,
// the behaviour docs/running.md warns about.
func TestKustomizeNamespaceMovesAdapterStack(t *testing.T) {
	for _, strategy := range []string{"vllm", "gpu"} {
		t.Run(strategy, func(t *testing.T) {
			dir := writeKustomization(t, "namespace-over-"+strategy, map[string]string{
				"kustomization.yaml": "namespace: team-a\nresources:\n- ../examples/kustomize-exec/" + strategy + "\n",
			})
			objs := parse(t, mustBuild(t, dir))

			// Workload Identity binds custom-metrics/custom-metrics-stackdriver-adapter.
			find(t, objs, "ServiceAccount", "team-a", "custom-metrics-stackdriver-adapter")
			// The Namespace object itself is renamed.
			find(t, objs, "Namespace", "", "team-a")
			// The binding to extension-apiserver-authentication-reader only works in kube-system.
			find(t, objs, "RoleBinding", "team-a", "custom-metrics-auth-reader")
			for _, gone := range [][3]string{
				{"ServiceAccount", "custom-metrics", "custom-metrics-stackdriver-adapter"},
				{"Namespace", "", "custom-metrics"},
				{"RoleBinding", "kube-system", "custom-metrics-auth-reader"},
			} {
				for _, n := range objs {
					if n.GetKind() == gone[0] && n.GetNamespace() == gone[1] && n.GetName() == gone[2] {
						t.Errorf("%s %s/%s kept its place; kustomize's namespace: no longer moves it, update docs/running.md", gone[0], gone[1], gone[2])
					}
				}
			}
			if strategy == "gpu" {
				// kustomize cannot know the GMP cluster kinds are cluster-scoped.
				for _, kind := range []string{"ClusterPodMonitoring", "ClusterRules"} {
					for _, n := range ofKind(objs, kind) {
						if n.GetNamespace() != "team-a" {
							t.Errorf("%s got namespace %q; docs/running.md says kustomize gives it team-a", kind, n.GetNamespace())
						}
					}
				}
			}
		})
	}
}

// TestKustomizeNamePrefixRenamesAdapterStack pins down docs/running.md's other
// warning: namePrefix: next to the generator renames the Workload Identity
// ServiceAccount (and keeps the cluster's references to it consistent), but not
// the APIServices, so two prefixed copies would fight over the same APIService.
func TestKustomizeNamePrefixRenamesAdapterStack(t *testing.T) {
	dir := writeKustomization(t, "nameprefix-over-vllm", map[string]string{
		"kustomization.yaml": "namePrefix: team-a-\nresources:\n- ../examples/kustomize-exec/vllm\n",
	})
	objs := parse(t, mustBuild(t, dir))
	find(t, objs, "ServiceAccount", "custom-metrics", "team-a-custom-metrics-stackdriver-adapter")
	api := find(t, objs, "APIService", "", "v1beta2.custom.metrics.k8s.io")
	if got := field(t, api, "spec", "service", "name"); got != "team-a-custom-metrics-stackdriver-adapter" {
		t.Errorf("the unprefixed APIService points at Service %q; docs/running.md says it follows the prefixed one", got)
	}
}

// TestKustomizeNamespaceOnWorkloadOnly is the layout docs/running.md gives for strategy
// gpu: namespace: on a kustomization with the workload alone, the generator one
// level up with the namespace in its config. Everything cluster-wide is intact.
func TestKustomizeNamespaceOnWorkloadOnly(t *testing.T) {
	dir := writeKustomization(t, "namespace-on-workload", map[string]string{
		"kustomization.yaml":          "resources:\n- workload\ngenerators:\n- vllmhpa.yaml\n",
		"workload/kustomization.yaml": "namespace: team-a\nresources:\n- ../../examples/workload\n",
		"vllmhpa.yaml": `apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata:
  name: vllm-gemma
  namespace: team-a
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ../bin/vllm-hpa-fn
spec:
  strategy: gpu
  scaleTargetRef:
    name: vllm-gemma
  maxReplicas: 5
`,
	})
	objs := parse(t, mustBuild(t, dir))
	find(t, objs, "Deployment", "team-a", "vllm-gemma")
	hpa := find(t, objs, "HorizontalPodAutoscaler", "team-a", "vllm-gemma")
	if got := field(t, hpa, "spec", "scaleTargetRef", "name"); got != "vllm-gemma" {
		t.Errorf("the HPA scales %q, want vllm-gemma", got)
	}
	assertAdapterStackIntact(t, objs)
	for _, kind := range []string{"ClusterPodMonitoring", "ClusterRules"} {
		nodes := ofKind(objs, kind)
		if len(nodes) != 1 || nodes[0].GetNamespace() != "" {
			t.Errorf("want one cluster-scoped %s, got %d", kind, len(nodes))
		}
	}
}

// TestKustomizeWithoutExecFlags pins down what kustomize does when a user forgets
// the flags: without --enable-alpha-plugins it fails, naming the config's kind;
// with --enable-alpha-plugins alone it succeeds and silently generates nothing.
func TestKustomizeWithoutExecFlags(t *testing.T) {
	dir := filepath.Join(work, "examples", "kustomize-exec", "vllm")

	for _, flags := range [][]string{nil, {"--enable-exec"}} {
		_, stderr, err := kustomizeBuild(t, dir, flags...)
		if err == nil || !strings.Contains(string(stderr), "external plugins disabled; unable to load external plugin 'VLLMHPAConfig'") {
			t.Errorf("kustomize build %v: err %v, stderr %q; docs/troubleshooting.md quotes a different error", flags, err, stderr)
		}
	}

	out, stderr, err := kustomizeBuild(t, dir, "--enable-alpha-plugins")
	if err != nil {
		t.Fatalf("kustomize build --enable-alpha-plugins failed (%v): %s; docs/troubleshooting.md says it succeeds", err, stderr)
	}
	objs := parse(t, out)
	find(t, objs, "Deployment", "", "vllm-gemma")
	if hpas := ofKind(objs, "HorizontalPodAutoscaler"); len(hpas) != 0 {
		t.Errorf("--enable-alpha-plugins alone generated %d HPAs; docs/troubleshooting.md says it generates nothing", len(hpas))
	}
	if len(stderr) != 0 {
		t.Errorf("--enable-alpha-plugins alone printed %q; docs/troubleshooting.md says it is silent", stderr)
	}
}

// writeKustomization writes files into a new directory of the work tree, next to
// examples/ and bin/, and returns it.
func writeKustomization(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(work, name)
	for p, s := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
