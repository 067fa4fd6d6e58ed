package v1alpha1

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const (
	crdFile        = "vllmhpa.dev_vllmhpaconfigs.yaml"
	profileCRDFile = "vllmhpa.dev_vllmserverprofiles.yaml"
)

// TestCRDIsCurrent regenerates the CRD from the types into a temp dir and applies
// the corrections of upstream doc comments: a type or marker changed without
// `make generate` fails here.
func TestCRDIsCurrent(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "tool", "controller-gen", "crd", "paths=.", "output:crd:dir="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, crdFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, err = FixUpstreamDocs(got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, CRD) {
		t.Errorf("%s is not what controller-gen writes from types.go; run make generate", crdFile)
	}
	// The VLLMServerProfile's CRD is its schema from the Go types, as the
	// config's is, for editors and schema checks of a profile; profiles are
	// local config, so no cluster needs it.
	got, err = os.ReadFile(filepath.Join(dir, profileCRDFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(profileCRDFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what controller-gen writes from profile_types.go; run make generate", profileCRDFile)
	}
}

// TestSchemaDefaultsMatchDefault checks every default the schema documents (for
// editors, kubectl explain and docs/api.md) against what Default() sets, which is
// where the function's defaults live.
func TestSchemaDefaultsMatchDefault(t *testing.T) {
	// An empty SLO, whose defaults apply only where there is one.
	c := &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{Strategy: StrategyVLLM, ScaleTargetRef: ScaleTargetRef{Name: "x"}, MaxReplicas: 1, SLO: &SLO{}}}
	c.Default()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var defaulted map[string]any
	if err := json.Unmarshal(b, &defaulted); err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(CRD, &crd); err != nil {
		t.Fatal(err)
	}
	var found int
	var walk func(s *apiextensionsv1.JSONSchemaProps, path []string)
	walk = func(s *apiextensionsv1.JSONSchemaProps, path []string) {
		if s.Default != nil {
			found++
			var got any = defaulted
			for _, p := range path {
				m, _ := got.(map[string]any)
				got = m[p]
			}
			want := s.Default.Raw
			if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, want) {
				t.Errorf("%s: the schema's default is %s, Default() sets %s", strings.Join(path, "."), want, gotJSON)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			p := s.Properties[name]
			walk(&p, append(slices.Clone(path), name))
		}
	}
	walk(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, nil)
	if found == 0 {
		t.Fatal("the schema states no defaults")
	}
}
