package processor_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/reconcile"
)

// kubeScoreDir is the tools module that pins kube-score v1.20.0 (it cannot share
// the root module: it imports autoscaling/v2beta1, which k8s.io/api v0.37 dropped).
const kubeScoreDir = "../../../hack/tools/kube-score"

// kubeScoreOptional are the optional kube-score checks the output must pass too.
var kubeScoreOptional = []string{
	"container-seccomp-profile",
	"container-ports-check",
	"container-cpu-requests-equal-limits",
	"container-memory-requests-equal-limits",
}

// kubeScoreIgnored are the CRITICAL checks the output is allowed to fail, and why.
var kubeScoreIgnored = map[string]string{
	// The HPA scales the user's vLLM workload, which is not among the generated
	// objects kube-score is given, so it can never find the target.
	"horizontalpodautoscaler-has-target": "the HPA's target is the user's workload, outside the generated objects",
	// kube-score wants Always so that imagePullSecrets are re-checked on every
	// start. The adapter's image is public and pinned (a version tag or a digest;
	// latest is refused), so IfNotPresent runs the same build without making every
	// restart depend on the registry.
	"container-image-pull-policy": "IfNotPresent with a pinned image (latest is refused) runs the same build",
}

// TestKubeScore runs kube-score (as a process) over the objects the function
// generates for each strategy and fails on any CRITICAL finding it does not
// explain in kubeScoreIgnored.
func TestKubeScore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs kube-score")
	}
	for _, strategy := range []string{"vllm", "gpu"} {
		t.Run(strategy, func(t *testing.T) {
			scored := kubeScore(t, generated(t, strategyInput(strategy, "")))
			for _, want := range []string{"Deployment", "Service", "NetworkPolicy", "HorizontalPodAutoscaler"} {
				if !slices.ContainsFunc(scored, func(o scoredObject) bool { return o.TypeMeta.Kind == want }) {
					t.Errorf("kube-score scored no %s; it was not given the generated objects", want)
				}
			}
			for _, c := range criticals(scored) {
				if why, ok := kubeScoreIgnored[c.check]; ok {
					t.Logf("ignored %s: %s", c, why)
					continue
				}
				t.Errorf("CRITICAL %s", c)
			}
		})
	}
}

// TestKubeScoreUpstreamAdapter shows that TestKubeScore can fail: the upstream
// adapter (hardening: false) has the CRITICAL findings hardening removes. (Its
// ephemeral-storage request and limit are there in both shapes, for GKE Autopilot.)
func TestKubeScoreUpstreamAdapter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs kube-score")
	}
	scored := kubeScore(t, generated(t, strategyInput("vllm", "\n    adapter: {hardening: false}")))
	var got []string
	for _, c := range criticals(scored) {
		if _, ok := kubeScoreIgnored[c.check]; !ok && !slices.Contains(got, c.check) {
			got = append(got, c.check)
		}
	}
	slices.Sort(got)
	want := []string{
		"container-security-context-readonlyrootfilesystem",
		"container-security-context-user-group-id",
		"pod-networkpolicy",
	}
	if !slices.Equal(got, want) {
		t.Errorf("upstream adapter CRITICAL checks %q, want %q", got, want)
	}
}

func strategyInput(strategy, extraSpec string) string {
	return `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata:
    name: model
    annotations:
      config.kubernetes.io/local-config: "true"
  spec:
    strategy: ` + strategy + `
    scaleTargetRef: {name: vllm-model}
    podSelector: {app: vllm-model}
    scrape: {port: 8000}
    maxReplicas: 4` + extraSpec + "\n"
}

// generated runs the function and returns the objects it generated, as YAML documents.
func generated(t *testing.T, input string) []byte {
	t.Helper()
	stdout, stderr, code := run([]byte(input))
	if code != 0 {
		t.Fatalf("the function failed (%d): %s", code, stderr)
	}
	rl, err := fn.ParseResourceList(stdout)
	if err != nil {
		t.Fatal(err)
	}
	var docs bytes.Buffer
	for _, o := range rl.Items {
		if o.GetAnnotation(reconcile.OwnerAnnotation) != "" {
			docs.WriteString("---\n" + o.String())
		}
	}
	return docs.Bytes()
}

type scoredObject struct {
	ObjectName string `json:"object_name"`
	TypeMeta   struct {
		Kind string `json:"kind"`
	} `json:"type_meta"`
	Checks []struct {
		Check struct {
			ID string `json:"id"`
		} `json:"check"`
		Grade    int  `json:"grade"`
		Skipped  bool `json:"skipped"`
		Comments []struct {
			Path    string `json:"path"`
			Summary string `json:"summary"`
		} `json:"comments"`
	} `json:"checks"`
}

func kubeScore(t *testing.T, manifests []byte) []scoredObject {
	t.Helper()
	file := filepath.Join(t.TempDir(), "generated.yaml")
	if err := os.WriteFile(file, manifests, 0o644); err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("kube-score runs through the go command, which is not on PATH: %v", err)
	}
	args := []string{"tool", "kube-score", "score", "--output-format", "json"}
	for _, o := range kubeScoreOptional {
		args = append(args, "--enable-optional-test", o)
	}
	cmd := exec.Command(goTool, append(args, file)...)
	cmd.Dir = kubeScoreDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// kube-score exits 1 when it finds a CRITICAL; its report is on stdout either way.
	out, runErr := cmd.Output()
	var scored []scoredObject
	if err := json.Unmarshal(out, &scored); err != nil {
		t.Fatalf("kube-score did not report (%v): %v\n%s", runErr, err, stderr.String())
	}
	slices.SortFunc(scored, func(a, b scoredObject) int { return strings.Compare(a.ObjectName, b.ObjectName) })
	return scored
}

type critical struct{ object, check, summary string }

func (c critical) String() string { return c.object + ": " + c.check + ": " + c.summary }

func criticals(scored []scoredObject) []critical {
	const gradeCritical = 1
	var out []critical
	for _, o := range scored {
		for _, c := range o.Checks {
			if c.Skipped || c.Grade > gradeCritical {
				continue
			}
			var summaries []string
			for _, m := range c.Comments {
				summaries = append(summaries, strings.TrimSpace(m.Path+" "+m.Summary))
			}
			out = append(out, critical{o.ObjectName, c.Check.ID, strings.Join(summaries, "; ")})
		}
	}
	return out
}
