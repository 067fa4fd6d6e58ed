package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The binaries under test: this function, built as `make build` builds it, and the
// kustomize CLI pinned in go.mod. Built once per test run.
var fnBin, kustomizeBin string

var updateKustomize = flag.Bool("update", false, "rewrite expected kustomize outputs")

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "vllm-hpa-fn-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fnBin, kustomizeBin = filepath.Join(dir, "vllm-hpa-fn"), filepath.Join(dir, "kustomize")
	for _, b := range [][]string{{fnBin, "."}, {kustomizeBin, "sigs.k8s.io/kustomize/kustomize/v5"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b[1], err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// kustomizeBuild copies the example (with its sibling workload) to a temp dir,
// points its exec function at the binary under test, edits it, and runs
// `kustomize build --enable-alpha-plugins --enable-exec`.
func kustomizeBuild(t *testing.T, example string, edit func(dir string)) (stdout, stderr string, err error) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"workload", example} {
		if err := os.CopyFS(filepath.Join(root, d), os.DirFS(filepath.Join("..", "examples", d))); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, example)
	cfg := filepath.Join(dir, "vllmhpa.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("path: ../../bin/vllm-hpa-fn"), []byte("path: "+fnBin), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	var o, e bytes.Buffer
	cmd := exec.Command(kustomizeBin, "build", "--enable-alpha-plugins", "--enable-exec", dir)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestKustomizeTransformer renders examples/kustomize-transformer with the real
// kustomize CLI and compares it with expected.yaml: the pod labels and the scrape
// port come from the Deployment the transformer receives.
func TestKustomizeTransformer(t *testing.T) {
	out, stderr, err := kustomizeBuild(t, "kustomize-transformer", nil)
	if err != nil {
		t.Fatalf("kustomize build: %v\n%s", err, stderr)
	}
	expected := filepath.Join("..", "examples", "kustomize-transformer", "expected.yaml")
	if *updateKustomize {
		if err := os.WriteFile(expected, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(expected)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("kustomize build differs from %s (rerun with -update to accept):\n%s", expected, out)
	}
	for _, s := range []string{"app: vllm-gemma", "port: metrics", "kind: Deployment", "name: vllm-service"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

// TestKustomizeTransformerChecks: as a transformer the function sees the workload,
// so it removes a pinned spec.replicas and refuses a selector that matches no pod.
func TestKustomizeTransformerChecks(t *testing.T) {
	t.Run("replicas removed", func(t *testing.T) {
		out, stderr, err := kustomizeBuild(t, "kustomize-transformer", func(dir string) {
			replaceIn(t, filepath.Join(dir, "..", "workload", "deployment.yaml"), "\nspec:\n", "\nspec:\n  replicas: 3\n")
		})
		if err != nil {
			t.Fatalf("kustomize build: %v\n%s", err, stderr)
		}
		if strings.Contains(out, "replicas: 3") {
			t.Errorf("spec.replicas: 3 is still in the output:\n%s", out)
		}
	})
	t.Run("selector mismatch", func(t *testing.T) {
		_, stderr, err := kustomizeBuild(t, "kustomize-transformer", func(dir string) {
			replaceIn(t, filepath.Join(dir, "vllmhpa.yaml"), "  maxReplicas: 5\n", "  maxReplicas: 5\n  podSelector:\n    app: gemma-server\n")
		})
		if err == nil {
			t.Fatal("kustomize build succeeded; want the function's error")
		}
		want := "spec.podSelector (app=gemma-server) does not select the pods of Deployment default/vllm-gemma"
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	})
}

// TestKustomizeGenerator: as a generator the function sees only its config; it
// still renders, and warns on stderr that the scrape port was not checked.
func TestKustomizeGenerator(t *testing.T) {
	out, stderr, err := kustomizeBuild(t, "kustomize-transformer", func(dir string) {
		replaceIn(t, filepath.Join(dir, "kustomization.yaml"), "\ntransformers:", "\ngenerators:")
		replaceIn(t, filepath.Join(dir, "vllmhpa.yaml"), "  maxReplicas: 5\n", "  maxReplicas: 5\n  podSelector:\n    app: vllm-gemma\n")
	})
	if err != nil {
		t.Fatalf("kustomize build: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "kind: PodMonitoring") || !strings.Contains(out, "kind: HorizontalPodAutoscaler") {
		t.Errorf("generator output lacks the PodMonitoring or the HPA:\n%s", out)
	}
	if want := "spec.scrape.port is not set and Deployment vllm-gemma is not in the function's input"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks the warning %q:\n%s", want, stderr)
	}
}

// replaceIn replaces the first old with new in a file, failing the test when the
// file has no old: an edit that silently does nothing would prove nothing.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q to replace", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}
