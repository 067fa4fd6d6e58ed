package processor_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/processor"
)

// update rewrites the golden files from the current output:
// go test ./fn/internal/processor -run TestGolden -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const goldenDir = "../../../testdata"

// TestGolden runs the function over testdata/<case>/input.yaml and compares its
// stdout with expected.yaml and its stderr with expected.stderr (absent: empty).
// The exit code must be 1 exactly when stderr reports an error.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(goldenDir, "*", "input.yaml"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases under %s: %v", goldenDir, err)
	}
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := mustRead(t, input)
			stdout, stderr, code := run(in)
			compareGolden(t, filepath.Join(dir, "expected.yaml"), stdout)
			compareGolden(t, filepath.Join(dir, "expected.stderr"), stderr)
			wantCode := 0
			if strings.Contains(string(stderr), "[error]") || len(stdout) == 0 {
				wantCode = 1
			}
			if code != wantCode {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, wantCode, stderr)
			}
		})
	}
}

// TestGoldenRerun runs the function a second time over the output of every case
// that succeeded: the second run must change no item, byte for byte. (Results may
// differ: the first run reports what it removed, the second has nothing to remove.)
func TestGoldenRerun(t *testing.T) {
	cases, _ := filepath.Glob(filepath.Join(goldenDir, "*", "input.yaml"))
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			first, _, code := run(mustRead(t, input))
			if code != 0 {
				t.Skip("the case is an error case")
			}
			second, stderr, code := run(first)
			if code != 0 {
				t.Fatalf("second run failed (%d): %s", code, stderr)
			}
			first, second = withoutResults(t, first), withoutResults(t, second)
			if !bytes.Equal(first, second) {
				t.Errorf("second run changed the output:\n--- first\n%s\n--- second\n%s", first, second)
			}
		})
	}
}

// TestPassThrough checks that every input item the function does not own comes
// out byte-identical, comments included, in every golden case. The one deliberate
// change, spec.replicas removed from a scaled workload, is undone before comparing
// and must be reported as a result.
func TestPassThrough(t *testing.T) {
	cases, _ := filepath.Glob(filepath.Join(goldenDir, "*", "input.yaml"))
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := mustRead(t, input)
			rlIn, err := fn.ParseResourceList(in)
			if err != nil {
				t.Skip("the input is not a ResourceList")
			}
			out, _, _ := run(in)
			rlOut, err := fn.ParseResourceList(out)
			if err != nil {
				t.Fatalf("output is not a ResourceList: %v", err)
			}
			replicasRemoved := map[string]bool{}
			for _, r := range rlOut.Results {
				if r.Field != nil && r.Field.Path == "spec.replicas" && r.ResourceRef != nil {
					replicasRemoved[r.ResourceRef.Kind+"/"+r.ResourceRef.Namespace+"/"+r.ResourceRef.Name] = true
				}
			}
			got := map[string]string{}
			for _, o := range rlOut.Items {
				got[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o.String()
			}
			for _, o := range rlIn.Items {
				if o.GetAnnotation("vllmhpa.dev/generated-by") != "" && o.GetAnnotation("vllmhpa.dev/managed") != "false" {
					continue
				}
				key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
				if replicasRemoved[key] {
					if _, err := o.RemoveNestedField("spec", "replicas"); err != nil {
						t.Fatal(err)
					}
				}
				if got[key] != o.String() {
					t.Errorf("%s changed:\n--- in\n%s\n--- out\n%s", key, o.String(), got[key])
				}
			}
		})
	}
}

func withoutResults(t *testing.T, out []byte) []byte {
	t.Helper()
	rl, err := fn.ParseResourceList(out)
	if err != nil {
		t.Fatalf("output is not a ResourceList: %v", err)
	}
	rl.Results = nil
	b, err := rl.ToYAML()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(in []byte) (stdout, stderr []byte, code int) {
	var o, e bytes.Buffer
	code = processor.Main(bytes.NewReader(in), &o, &e)
	return o.Bytes(), e.Bytes(), code
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			_ = os.Remove(path)
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (rerun with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
