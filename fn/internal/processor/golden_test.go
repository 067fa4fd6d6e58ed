package processor_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
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
// that succeeded: the second run must change no item, byte for byte, and report
// the same results, but for those about the objects the first run changed (what
// it removed or rewrote, the second has nothing to do about).
func TestGoldenRerun(t *testing.T) {
	cases, _ := filepath.Glob(filepath.Join(goldenDir, "*", "input.yaml"))
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := mustRead(t, input)
			first, _, code := run(in)
			if code != 0 {
				t.Skip("the case is an error case")
			}
			second, stderr, code := run(first)
			if code != 0 {
				t.Fatalf("second run failed (%d): %s", code, stderr)
			}
			if a, b := withoutResults(t, first), withoutResults(t, second); !bytes.Equal(a, b) {
				t.Errorf("second run changed the output:\n--- first\n%s\n--- second\n%s", a, b)
			}
			changed := changedObjects(t, in, first)
			if a, b := resultsExcept(t, first, changed), resultsExcept(t, second, changed); a != b {
				t.Errorf("second run reported other results:\n--- first\n%s\n--- second\n%s", a, b)
			}
		})
	}
}

// changedObjects returns the keys (see objectKey) of the input items that the
// output lacks or holds changed.
func changedObjects(t *testing.T, in, out []byte) map[string]bool {
	t.Helper()
	rlIn, err := fn.ParseResourceList(in)
	if err != nil {
		return nil
	}
	got := map[string][]string{}
	for _, o := range parse(t, out).Items {
		got[objectKey(o)] = append(got[objectKey(o)], o.String())
	}
	changed := map[string]bool{}
	for _, o := range rlIn.Items {
		if !slices.Contains(got[objectKey(o)], o.String()) {
			changed[objectKey(o)] = true
		}
	}
	return changed
}

// resultsExcept writes the results of an output, but for those about the
// objects skip names, one per line.
func resultsExcept(t *testing.T, out []byte, skip map[string]bool) string {
	t.Helper()
	var lines []string
	for _, r := range parse(t, out).Results {
		if ref := r.ResourceRef; ref != nil && skip[ref.APIVersion+" "+ref.Kind+" "+ref.Namespace+" "+ref.Name] {
			continue
		}
		field := ""
		if r.Field != nil {
			field = r.Field.Path
		}
		lines = append(lines, fmt.Sprintf("%s %s: %s", r.Severity, field, r.String()))
	}
	return strings.Join(lines, "\n")
}

// objectKey identifies an object as results name it.
func objectKey(o *fn.KubeObject) string {
	return o.GetAPIVersion() + " " + o.GetKind() + " " + o.GetNamespace() + " " + o.GetName()
}

func parse(t *testing.T, out []byte) *fn.ResourceList {
	t.Helper()
	rl, err := fn.ParseResourceList(out)
	if err != nil {
		t.Fatalf("output is not a ResourceList: %v", err)
	}
	return rl
}

// TestPassThrough checks that every input item the function does not own comes
// out byte-identical, comments included, in every golden case. The one deliberate
// change, spec.replicas removed from a scaled workload, is undone before comparing
// and must be reported as a result; a workload that shares the field through a
// YAML anchor is compared with its aliases expanded, as its result says.
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
			rlOut := parse(t, out)
			replicasRemoved, expanded := map[string]bool{}, map[string]bool{}
			for _, r := range rlOut.Results {
				if r.Field != nil && r.Field.Path == "spec.replicas" && r.ResourceRef != nil {
					key := r.ResourceRef.Kind + "/" + r.ResourceRef.Namespace + "/" + r.ResourceRef.Name
					replicasRemoved[key] = true
					expanded[key] = strings.Contains(r.Message, "aliases expanded")
				}
			}
			got := map[string][]string{}
			for _, o := range rlOut.Items {
				key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
				got[key] = append(got[key], o.String())
			}
			for _, o := range rlIn.Items {
				if o.GetAnnotation("vllmhpa.dev/generated-by") != "" && o.GetAnnotation("vllmhpa.dev/managed") != "false" && o.GetKind() != "VLLMHPAConfig" {
					continue
				}
				key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
				if expanded[key] {
					rn := o.CopyToResourceNode()
					if err := rn.DeAnchor(); err != nil {
						t.Fatal(err)
					}
					o = fn.MoveToKubeObject(rn)
				}
				if replicasRemoved[key] {
					if _, err := o.RemoveNestedField("spec", "replicas"); err != nil {
						t.Fatal(err)
					}
				}
				if !slices.Contains(got[key], o.String()) {
					t.Errorf("%s changed:\n--- in\n%s\n--- out\n%s", key, o.String(), strings.Join(got[key], "---\n"))
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

// goldenResults runs every golden case and calls f with the results of each
// that writes a ResourceList.
func goldenResults(t *testing.T, f func(t *testing.T, results fn.Results)) {
	cases, _ := filepath.Glob(filepath.Join(goldenDir, "*", "input.yaml"))
	for _, input := range cases {
		t.Run(filepath.Base(filepath.Dir(input)), func(t *testing.T) {
			out, _, _ := run(mustRead(t, input))
			rl, err := fn.ParseResourceList(out)
			if err != nil {
				t.Skip("no ResourceList: the input is not one")
			}
			f(t, rl.Results)
		})
	}
}

// TestErrorsNameTheirField checks that every error result of every golden case
// names the field it is about, so that kpt can point at it.
func TestErrorsNameTheirField(t *testing.T) {
	goldenResults(t, func(t *testing.T, results fn.Results) {
		for _, r := range results {
			if r.Severity == fn.Error && (r.Field == nil || r.Field.Path == "") {
				t.Errorf("an error names no field: %s", r.Message)
			}
		}
	})
}

// TestConfigMapResultsNameKeys checks that every result about a ConfigMap
// functionConfig names the data key the user wrote (data.scrapePort), never
// the config field it sets (spec.scrape.port), in its field and its message.
func TestConfigMapResultsNameKeys(t *testing.T) {
	goldenResults(t, func(t *testing.T, results fn.Results) {
		for _, r := range results {
			if r.ResourceRef == nil || r.ResourceRef.Kind != "ConfigMap" {
				continue
			}
			for _, k := range v1alpha1.ConfigMapKeys {
				if strings.Contains(r.Message, k.Field) || r.Field != nil && strings.HasPrefix(r.Field.Path, k.Field) {
					t.Errorf("a result about a ConfigMap names %s, not data.%s: %s", k.Field, k.Key, r)
				}
			}
		}
	})
}
