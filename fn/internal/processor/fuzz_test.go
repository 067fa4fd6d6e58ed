package processor

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// The fuzz targets call run, not Main: Main turns a panic into an "internal error"
// exit, which would hide the bug a panic is. Crashers found are kept under
// testdata/fuzz/<target>/ and replayed by every go test run.
//
//	go test ./fn/internal/processor -run '^$' -fuzz '^FuzzMain$' -fuzztime 30s
//	go test ./fn/internal/processor -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s

// FuzzMain runs the whole function on arbitrary bytes. It must end in one of two
// ways: exit 0 with a ResourceList and no error result, or exit 1 with a message
// on stderr and either no output or a ResourceList that holds the error results.
// A successful output, run again, must come out with the same items.
func FuzzMain(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		out := checkRun(t, in)
		if out == nil {
			return
		}
		again := checkRun(t, out)
		if again == nil {
			t.Fatalf("the function refused its own output:\n%s", out)
		}
		if a, b := itemsOf(t, out), itemsOf(t, again); !bytes.Equal(a, b) {
			t.Fatalf("a second run changed the items:\n--- first\n%s\n--- second\n%s", a, b)
		}
	})
}

// FuzzDecode reads configs out of arbitrary bytes (a typed functionConfig, a
// ConfigMap or items) the way run does, defaults and validates them, derives
// the targets of their SLOs, and builds the objects of the valid ones. Nothing
// may panic, every problem must be a result with a message, and every valid
// config must build.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		aliased, err := checkInput(in)
		if err != nil {
			return
		}
		rl, err := fn.ParseResourceList(in)
		if err != nil {
			return
		}
		if aliased {
			if rl, err = expandedView(in); err != nil {
				return
			}
		}
		sources, results := config.Read(rl)
		for _, r := range results {
			if r.Message == "" || r.Severity == "" {
				t.Fatalf("a result without a message or severity: %+v", r)
			}
		}
		var valid []*v1alpha1.VLLMHPAConfig
		inv := inventory.New(rl.Items)
		for _, src := range sources {
			c, _ := src.Default()
			errs := c.Validate()
			for _, e := range errs {
				if e.Field == "" || e.Detail == "" {
					t.Fatalf("a validation error without a path or a detail: %+v", e)
				}
			}
			if len(errs) > 0 {
				continue
			}
			derived := deriveTargets(&prepared{src: src, config: c}, inv)
			for _, r := range derived {
				if r.Message == "" || r.Severity == "" {
					t.Fatalf("a result without a message or severity: %+v", r)
				}
			}
			if !hasError(derived) {
				valid = append(valid, c)
			}
		}
		for _, obj := range manifests.Build(valid) {
			if _, err := krm.FromTyped(obj.Value); err != nil {
				t.Fatalf("a valid config builds an object that cannot be written: %v", err)
			}
		}
	})
}

// checkRun runs the function and checks how it ended; it returns stdout when the
// run succeeded and nil when it failed cleanly.
func checkRun(t *testing.T, in []byte) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(bytes.NewReader(in), &stdout, &stderr)
	switch code {
	case 0:
		rl, err := fn.ParseResourceList(stdout.Bytes())
		if err != nil {
			t.Fatalf("exit 0, but the output is not a ResourceList (%v):\n%s", err, stdout.Bytes())
		}
		if hasError(rl.Results) {
			t.Fatalf("exit 0 with an error result:\n%s", stdout.Bytes())
		}
		return stdout.Bytes()
	case 1:
		if stderr.Len() == 0 {
			t.Fatal("exit 1 with nothing on stderr")
		}
		if stdout.Len() == 0 {
			return nil
		}
		rl, err := fn.ParseResourceList(stdout.Bytes())
		if err != nil {
			t.Fatalf("exit 1 with an output that is not a ResourceList (%v):\n%s", err, stdout.Bytes())
		}
		if !hasError(rl.Results) {
			t.Fatalf("exit 1 with no error result (stderr: %s):\n%s", stderr.Bytes(), stdout.Bytes())
		}
		return nil
	default:
		t.Fatalf("exit code %d; the function exits 0 or 1", code)
		return nil
	}
}

func itemsOf(t *testing.T, out []byte) []byte {
	t.Helper()
	rl, err := fn.ParseResourceList(out)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, o := range rl.Items {
		b.WriteString("---\n" + o.String())
	}
	return b.Bytes()
}

// addSeeds seeds a fuzz target with every golden input and a few hostile shapes.
func addSeeds(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "*", "input.yaml"))
	if len(inputs) == 0 {
		f.Fatal("no golden inputs under testdata/ to seed the corpus")
	}
	for _, p := range inputs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"kind: ResourceList\nitems: [*a]\n",
		"kind: ResourceList\nitems:\n- &a {kind: VLLMHPAConfig, apiVersion: vllmhpa.dev/v1alpha1, metadata: {name: x}, spec: *a}\n",
		"kind: ResourceList\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, data: {maxReplicas: 99999999999, strategy: gpu}}\n",
		"kind: ResourceList\nitems:\n- {kind: VLLMHPAConfig, apiVersion: vllmhpa.dev/v1alpha1, metadata: {name: a}, spec: {strategy: vllm, maxReplicas: 2, scaleTargetRef: {name: d}, podSelector: {a: b}, adapter: {hardening: false}}}\n",
		"kind: ResourceList\nitems:\n- {kind: VLLMHPAConfig, apiVersion: vllmhpa.dev/v1alpha1, metadata: {name: a, labels: &l {a: b}}, spec: {strategy: vllm, maxReplicas: &m 2, minReplicas: *m, scaleTargetRef: {name: d}, podSelector: *l}}\n",
		"kind: ResourceList\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, labels: &l {app: x}}, spec: {selector: {matchLabels: *l}, template: {metadata: {labels: *l}, spec: {containers: [{name: vllm, image: vllm}]}}}}\n- {kind: VLLMHPAConfig, apiVersion: vllmhpa.dev/v1alpha1, metadata: {name: a}, spec: {strategy: vllm, maxReplicas: 2, scaleTargetRef: {name: d}}}\n",
	} {
		f.Add([]byte(s))
	}
}
