package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// unreadable fails the test that reads it: --help and --version must answer
// without waiting for a ResourceList (kpt fn doc gives the image an empty one,
// a user's terminal gives none).
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("stdin was read")
	return 0, os.ErrClosed
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{arg}, unreadable{t}, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, stderr.String())
		}
		out := stdout.String()
		for _, want := range []string{
			"kustomize build --enable-alpha-plugins --enable-exec", "kpt fn render", "kpt fn eval",
			v1alpha1.Kind, v1alpha1.APIVersion, fields, docs,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", arg, want, out)
			}
		}
		for _, k := range v1alpha1.ConfigMapKeys {
			if !strings.Contains(out, " "+k.Key+"\n") && !strings.Contains(out, " "+k.Key+" ") {
				t.Errorf("%s does not list the flat key %s", arg, k.Key)
			}
		}
	}
}

// TestHelpListsEveryRequiredField: the short field list comes from the schema
// the function validates with, so every field a config must set is in it.
func TestHelpListsEveryRequiredField(t *testing.T) {
	for _, f := range []string{"metadata.name *", "spec.strategy *", "spec.scaleTargetRef.name *", "spec.maxReplicas *"} {
		if !strings.Contains(fields, "  "+f+" ") {
			t.Errorf("the field list lacks %q:\n%s", f, fields)
		}
	}
}

func TestVersionIsTheRelease(t *testing.T) {
	release, err := os.ReadFile(filepath.Join("..", "..", "..", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--version"}, unreadable{t}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "vllm-hpa-fn " + strings.TrimSpace(string(release)) + "\n"; stdout.String() != want {
		t.Errorf("--version printed %q, want %q (make generate writes VERSION into the binary)", stdout.String(), want)
	}
}

func TestUnknownArgument(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--output=x"}, unreadable{t}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if stdout.Len() > 0 || !strings.Contains(stderr.String(), `"--output=x"`) || !strings.Contains(stderr.String(), "--help") {
		t.Errorf("stdout %q, stderr %q: want the argument named on stderr and --help suggested", stdout.String(), stderr.String())
	}
}

// TestNoArgumentsRunsTheFunction: kustomize and kpt run the binary without arguments.
func TestNoArgumentsRunsTheFunction(t *testing.T) {
	in := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n"
	var stdout, stderr bytes.Buffer
	if code := Main(nil, strings.NewReader(in), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "kind: ResourceList") || !strings.Contains(stdout.String(), "name: x") {
		t.Errorf("stdout %q is not the ResourceList passed through", stdout.String())
	}
}
