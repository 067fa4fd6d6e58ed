package e2e_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/e2e/render"
)

// TestRenderedOutputIsAccepted applies everything the function emits, for
// both strategies and every example, to the API server with the upstream
// GMP CRDs installed: all objects are created, applying the same output
// again changes nothing, and a broken HPA is refused.
func TestRenderedOutputIsAccepted(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)

	strategies := []struct {
		namespace, config string
		// must is a kind the render must hold, so the case proves the
		// cluster accepts it.
		must string
	}{
		{"accept-vllm", vllmConfig("accept-vllm", "vllm-gemma", "4", 5, 60), "PodMonitoring"},
		{"accept-gpu", gpuConfig("accept-gpu", "vllm-gemma", "60", 5, 60), "ClusterRules"},
		// Backend gke: the AutoscalingMetric, against the suite's CRD.
		{"accept-gke", gkeConfig("accept-gke", "vllm-gemma", "4", 5, 60), "AutoscalingMetric"},
		// Workload Identity as code: IAMPolicyMember objects against Config
		// Connector's CRD, in the principal and the Google service account forms.
		{"accept-workload-identity", workloadIdentityConfig("accept-workload-identity", "vllm-gemma", ""), "IAMPolicyMember"},
		{"accept-workload-identity-gsa", workloadIdentityConfig("accept-workload-identity-gsa", "vllm-gemma", "metrics-reader@my-project.iam.gserviceaccount.com"), "IAMPolicyMember"},
	}
	for _, s := range strategies {
		t.Run(strings.TrimPrefix(s.namespace, "accept-"), func(t *testing.T) {
			e.ensureNamespace(t, s.namespace)
			out, objs := e.renderConfig(t, workload(s.namespace, "vllm-gemma"), s.config)
			var kinds []string
			for _, obj := range objs {
				if obj.GetKind() == s.must {
					kinds = append(kinds, obj.GetNamespace()+"/"+obj.GetName())
				}
			}
			if len(kinds) == 0 {
				t.Fatalf("the render holds no %s", s.must)
			}
			e.acceptAndReapply(t, out, objs)
			t.Logf("%s accepted: %s", s.must, strings.Join(kinds, ", "))
			e.refuseBrokenHPA(t, objs)
		})
	}

	if e.examplesDir == "" {
		t.Fatal("VLLMHPA_EXAMPLES_DIR is not set")
	}
	examples := e.stageExamples(t)
	for _, ex := range examples {
		t.Run("examples/"+ex.name, func(t *testing.T) {
			if ex.skip != "" {
				t.Skip(ex.skip)
			}
			out, err := e.tools.Build(e.ctx, ex.dir)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := render.Objects(out)
			if err != nil {
				t.Fatal(err)
			}
			e.acceptAndReapply(t, out, objs)
		})
	}
}

// acceptAndReapply applies a render, checks that every object exists, and
// applies it again to show that nothing changes.
func (e *suite) acceptAndReapply(t *testing.T, out []byte, objs []*unstructured.Unstructured) {
	t.Helper()
	if len(objs) == 0 {
		t.Fatal("the render is empty")
	}
	e.ensureNamespaces(t, objs)
	e.apply(t, out)
	live := e.live(t, out)
	rendered := map[string]*unstructured.Unstructured{}
	for _, obj := range objs {
		rendered[key(obj)] = obj
	}
	for _, obj := range live {
		if obj.GetUID() == "" {
			t.Errorf("%s has no uid", key(obj))
		}
		// Generated namespaced objects must say their namespace: Config Sync
		// and kubectl would otherwise put them wherever they are applied.
		if r := rendered[key(obj)]; r != nil && r.GetAnnotations()[generatedBy] != "" && obj.GetNamespace() != "" && r.GetNamespace() == "" {
			t.Errorf("generated %s has no metadata.namespace", key(obj))
		}
		delete(rendered, key(obj))
	}
	for missing := range rendered {
		t.Errorf("%s was rendered but is not in the cluster", missing)
	}
	t.Logf("applied %d objects", len(live))

	// A no-op server-side apply writes nothing, so every resourceVersion
	// stays. Controllers may write status between the read and the apply;
	// such a race shows up once, a real change every time.
	var changed []string
	for attempt := 0; attempt < 3; attempt++ {
		before := versions(e.live(t, out))
		stdout, _, err := e.cluster.Kubectl(e.ctx, out, "apply", "--server-side", "-o", "json", "-f", "-")
		if err != nil {
			t.Fatal(err)
		}
		after, err := render.Objects(stdout)
		if err != nil {
			t.Fatal(err)
		}
		changed = nil
		for k, v := range versions(after) {
			if before[k] != v {
				changed = append(changed, fmt.Sprintf("%s (resourceVersion %s -> %s)", k, before[k], v))
			}
		}
		if len(changed) == 0 {
			t.Logf("applying the same output again changed none of the %d objects", len(after))
			return
		}
	}
	t.Errorf("applying the same output again changed objects on every attempt:\n  %s", strings.Join(changed, "\n  "))
}

// refuseBrokenHPA edits the rendered HPA so maxReplicas is below
// minReplicas (the function itself refuses such a config) and checks that
// the API server refuses it and keeps the stored HPA.
func (e *suite) refuseBrokenHPA(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var broken []*unstructured.Unstructured
	var hpa *unstructured.Unstructured
	for _, obj := range objs {
		obj = obj.DeepCopy()
		if obj.GetKind() == "HorizontalPodAutoscaler" {
			hpa = obj
		}
		broken = append(broken, obj)
	}
	if hpa == nil {
		t.Fatal("the render has no HorizontalPodAutoscaler")
	}
	maxReplicas, _, _ := unstructured.NestedInt64(hpa.Object, "spec", "maxReplicas")
	_ = unstructured.SetNestedField(hpa.Object, maxReplicas+1, "spec", "minReplicas")

	_, stderr, err := e.cluster.Kubectl(e.ctx, mustYAML(t, broken...), "apply", "--server-side", "-f", "-")
	if err == nil {
		t.Fatal("the API server accepted an HPA with minReplicas above maxReplicas")
	}
	if !bytes.Contains(stderr, []byte("spec.maxReplicas: Invalid value")) {
		t.Fatalf("refused for another reason than spec.maxReplicas:\n%s", stderr)
	}
	t.Logf("broken HPA refused: %s", bytes.TrimSpace(stderr))
	stored := e.live(t, mustYAML(t, hpa))[0]
	if got, _, _ := unstructured.NestedInt64(stored.Object, "spec", "minReplicas"); got == maxReplicas+1 {
		t.Errorf("the stored HPA took the refused minReplicas %d", got)
	}
}

func versions(objs []*unstructured.Unstructured) map[string]string {
	v := map[string]string{}
	for _, obj := range objs {
		v[key(obj)] = obj.GetResourceVersion()
	}
	return v
}

func mustYAML(t *testing.T, objs ...*unstructured.Unstructured) []byte {
	t.Helper()
	out, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// generatedBy marks the objects the function generated.
const generatedBy = "vllmhpa.dev/generated-by"

type example struct {
	name, dir string
	skip      string // why it cannot be rendered here, if it cannot
}

// stageExamples copies the repository's examples, with the folders they
// refer to (base/, overlays/ and so on), into a scratch tree and puts the
// function binary wherever an example's exec path points inside that tree,
// as `make build` does for the repository, so the examples render unedited.
func (e *suite) stageExamples(t *testing.T) []example {
	t.Helper()
	repo := filepath.Dir(e.examplesDir)
	root := filepath.Join(t.TempDir(), "repo")
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		// Not needed by examples: history, build output and this suite.
		if !entry.IsDir() || strings.HasPrefix(entry.Name(), ".") || entry.Name() == "bin" || entry.Name() == "e2e" {
			continue
		}
		if err := os.CopyFS(filepath.Join(root, entry.Name()), os.DirFS(filepath.Join(repo, entry.Name()))); err != nil {
			t.Fatalf("copy %s: %v", entry.Name(), err)
		}
	}
	staged := filepath.Join(root, filepath.Base(e.examplesDir))
	var examples []example
	err = filepath.WalkDir(staged, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !hasKustomization(path) {
			return err
		}
		rel, _ := filepath.Rel(staged, path)
		ex := example{name: filepath.ToSlash(rel), dir: path}
		ex.skip, err = e.placeFunction(path, root)
		examples = append(examples, ex)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) == 0 {
		t.Fatalf("no folder with a kustomization.yaml under %s", e.examplesDir)
	}
	return examples
}

func hasKustomization(dir string) bool {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// placeFunction copies the function binary to the exec path of every
// function config in dir. It returns a reason to skip the example when a
// config runs the function as a container, which needs a container runtime.
func (e *suite) placeFunction(dir, root string) (skip string, err error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		docs, err := render.Objects(data)
		if err != nil {
			continue // not a Kubernetes object stream, e.g. a values file
		}
		for _, doc := range docs {
			spec := doc.GetAnnotations()["config.kubernetes.io/function"]
			if spec == "" {
				continue
			}
			var fn struct {
				Exec      struct{ Path string }
				Container struct{ Image string }
			}
			if err := yaml.Unmarshal([]byte(spec), &fn); err != nil {
				return "", fmt.Errorf("%s: config.kubernetes.io/function: %w", file, err)
			}
			if fn.Container.Image != "" {
				return fmt.Sprintf("%s runs the function as container %s; no container runtime here", filepath.Base(file), fn.Container.Image), nil
			}
			target := fn.Exec.Path
			if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			}
			if rel, err := filepath.Rel(root, target); err != nil || strings.HasPrefix(rel, "..") {
				return "", fmt.Errorf("%s: exec path %s points outside the repository", file, fn.Exec.Path)
			}
			if err := copyFile(e.tools.Function, target); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}
