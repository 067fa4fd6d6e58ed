package integration_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// transformerCopy copies examples/kustomize-transformer and the workload it uses
// to a temp dir next to the function binary, for a test to edit.
func transformerCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"workload", "kustomize-transformer"} {
		if err := copyDir(filepath.Join(work, "examples", d), filepath.Join(dir, "examples", d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(work, "bin"), filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "examples", "kustomize-transformer")
}

// replaceIn replaces the first old with new in a file, failing the test when the
// file has no old: an edit that silently does nothing would prove nothing.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b := readFile(t, path)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q to replace", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKustomizeTransformer renders examples/kustomize-transformer: as a
// transformer the function receives the workload, so the pod labels and the
// scrape port come from the Deployment.
func TestKustomizeTransformer(t *testing.T) {
	dir := filepath.Join("examples", "kustomize-transformer")
	out := mustBuild(t, filepath.Join(work, dir))
	objs := parse(t, out)
	pm := find(t, objs, "PodMonitoring", "default", "vllm-gemma")
	if got := field(t, pm, "spec", "selector", "matchLabels", "app"); got != "vllm-gemma" {
		t.Errorf("the PodMonitoring selects app=%q, want the Deployment's vllm-gemma", got)
	}
	find(t, objs, "Deployment", "", "vllm-gemma")
	compareExpected(t, filepath.Join(dir, "expected.yaml"), out)
}

// TestKustomizeTransformerChecks: as a transformer the function removes a pinned
// spec.replicas from the workload and refuses a selector that matches no pod.
func TestKustomizeTransformerChecks(t *testing.T) {
	t.Run("replicas removed", func(t *testing.T) {
		dir := transformerCopy(t)
		replaceIn(t, filepath.Join(dir, "..", "workload", "deployment.yaml"), "\nspec:\n", "\nspec:\n  replicas: 3\n")
		out := mustBuild(t, dir)
		if strings.Contains(string(out), "replicas: 3") {
			t.Errorf("spec.replicas: 3 is still in the output:\n%s", out)
		}
	})
	t.Run("selector mismatch", func(t *testing.T) {
		dir := transformerCopy(t)
		replaceIn(t, filepath.Join(dir, "vllmhpa.yaml"), "  maxReplicas: 5\n", "  maxReplicas: 5\n  podSelector:\n    app: gemma-server\n")
		_, stderr, err := kustomizeBuild(t, dir, "--enable-alpha-plugins", "--enable-exec")
		if err == nil {
			t.Fatal("kustomize build succeeded; want the function's error")
		}
		want := `spec.podSelector: Invalid value: "app=gemma-server": does not select the pods of Deployment default/vllm-gemma`
		if !strings.Contains(string(stderr), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	})
}

// TestKustomizeGeneratorWarnsUnseenWorkload: the same config as a generator sees
// only itself; it still renders, and warns on stderr that the scrape port was
// not checked against the workload.
func TestKustomizeGeneratorWarnsUnseenWorkload(t *testing.T) {
	dir := transformerCopy(t)
	replaceIn(t, filepath.Join(dir, "kustomization.yaml"), "\ntransformers:", "\ngenerators:")
	replaceIn(t, filepath.Join(dir, "vllmhpa.yaml"), "  maxReplicas: 5\n", "  maxReplicas: 5\n  podSelector:\n    app: vllm-gemma\n")
	out, stderr, err := kustomizeBuild(t, dir, "--enable-alpha-plugins", "--enable-exec")
	if err != nil {
		t.Fatalf("kustomize build: %v\n%s", err, stderr)
	}
	objs := parse(t, out)
	find(t, objs, "PodMonitoring", "default", "vllm-gemma")
	find(t, objs, "HorizontalPodAutoscaler", "default", "vllm-gemma")
	if want := "spec.scrape.port is not set and Deployment vllm-gemma is not in the function's input"; !strings.Contains(string(stderr), want) {
		t.Errorf("stderr lacks the warning %q:\n%s", want, stderr)
	}
}
