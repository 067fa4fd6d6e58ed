package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/resid"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

const root = "../.."

// TestGeneratedFilesAreCurrent regenerates every file apigen writes and compares
// it with the checked-in one: a type, marker or doc comment changed without
// `make generate` fails here.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what apigen writes; run make generate", name)
		}
	}
}

func TestReplaceFieldReferenceKeepsTheRest(t *testing.T) {
	doc := []byte("# Title\n\n" + beginMarker + "\nold\n" + endMarker + "\n\nMore text.\n")
	got, err := replaceFieldReference(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Title\n\n" + beginMarker + "\nnew\n" + endMarker + "\n\nMore text.\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := replaceFieldReference([]byte("no markers"), "x"); err == nil {
		t.Error("a document without markers was accepted")
	}
}

// TestKRMFunctionDefinitionIsReadByKustomize reads the definition the way the
// kustomize function framework does and finds the config's schema in it.
func TestKRMFunctionDefinitionIsReadByKustomize(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, definitionFile))
	if err != nil {
		t.Fatal(err)
	}
	var def framework.KRMFunctionDefinition
	if err := k8syaml.UnmarshalStrict(b, &def); err != nil {
		t.Fatalf("not a KRMFunctionDefinition: %v", err)
	}
	if def.Kind != framework.FunctionDefinitionKind || def.APIVersion != framework.FunctionDefinitionGroupVersion {
		t.Errorf("apiVersion/kind %s %s", def.APIVersion, def.Kind)
	}
	if img := def.Spec.Versions[0].Runtime.Container.Image; !strings.HasPrefix(img, "ghcr.io/vllm-hpa/vllm-hpa-fn:") {
		t.Errorf("runtime image %q", img)
	}
	s, err := framework.SchemaFromFunctionDefinition(resid.NewGvk(v1alpha1.Group, v1alpha1.Version, v1alpha1.Kind), string(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Properties["spec"].Properties["strategy"]; !ok {
		t.Error("the schema has no spec.strategy")
	}
}

// exampleConfigs returns every VLLMHPAConfig document under examples/, by file.
func exampleConfigs(t *testing.T) map[string][][]byte {
	t.Helper()
	configs := map[string][][]byte{}
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if dec.Decode(&doc) != nil {
				break
			}
			var head struct{ Kind string }
			if doc.Decode(&head) == nil && head.Kind == v1alpha1.Kind {
				out, err := yaml.Marshal(&doc)
				if err != nil {
					return err
				}
				configs[path] = append(configs[path], out)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(configs) == 0 {
		t.Fatal("no VLLMHPAConfig under examples/")
	}
	return configs
}

var modeline = regexp.MustCompile(`^# yaml-language-server: \$schema=(\S+)\n`)

// TestExamplesNameTheSchema checks that every example config starts with the
// modeline that gives editors the config's JSON Schema, by a path that resolves.
func TestExamplesNameTheSchema(t *testing.T) {
	want, err := filepath.Abs(filepath.Join(root, jsonSchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	for path := range exampleConfigs(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := modeline.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s does not start with # yaml-language-server: $schema=<relative path to %s>", path, jsonSchemaFile)
			continue
		}
		if got, _ := filepath.Abs(filepath.Join(filepath.Dir(path), string(m[1]))); got != want {
			t.Errorf("%s: the modeline points at %s, not at %s", path, m[1], jsonSchemaFile)
		}
	}
}

// TestJSONSchema compiles the editor schema as a draft-07 validator would and
// runs it over the example configs and over mistakes an editor should flag.
func TestJSONSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	sch, err := c.Compile(filepath.Join(root, jsonSchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	validate := func(doc []byte) error {
		j, err := k8syaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		return sch.Validate(v)
	}
	for path, docs := range exampleConfigs(t) {
		for _, doc := range docs {
			if err := validate(doc); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
	const config = `apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata: {name: gemma}
spec:
  strategy: vllm
  scaleTargetRef: {name: vllm-gemma}
  maxReplicas: 5
`
	for _, tc := range []struct {
		name, yaml string
		valid      bool
	}{
		{"minimal", config, true},
		{"fraction target", config + "  metric: {targetAverageValue: 0.8}\n", true},
		{"string target", config + "  metric: {targetAverageValue: 500m}\n", true},
		{"named port", config + "  scrape: {port: metrics}\n", true},
		{"fractional tolerance", config + "  behavior: {scaleUp: {tolerance: 0.05}}\n", true},
		{"misspelled field", config + "  maxReplica: 5\n", false},
		{"unknown strategy", strings.Replace(config, "strategy: vllm", "strategy: cpu", 1), false},
		{"zero minReplicas", config + "  minReplicas: 0\n", false},
		{"boolean target", config + "  metric: {targetAverageValue: true}\n", false},
		{"policy without period", config + "  behavior: {scaleUp: {policies: [{type: Pods, value: 4}]}}\n", false},
		{"other apiVersion", strings.Replace(config, "v1alpha1", "v1beta1", 1), false},
		{"no name", strings.Replace(config, "{name: gemma}", "{namespace: default}", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate([]byte(tc.yaml)); (err == nil) != tc.valid {
				t.Errorf("valid = %v, want %v: %v", err == nil, tc.valid, err)
			}
		})
	}
}

// TestSchemaGoRefusesUncheckedKeywords: a keyword the function's validator does
// not check stops make generate instead of going unchecked.
func TestSchemaGoRefusesUncheckedKeywords(t *testing.T) {
	two := int64(2)
	for _, tc := range []struct {
		name   string
		schema apiextensionsv1.JSONSchemaProps
		want   string
	}{
		{"maxItems", apiextensionsv1.JSONSchemaProps{Type: "array", MaxItems: &two, Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}}, `"maxItems":2`},
		{"oneOf", apiextensionsv1.JSONSchemaProps{OneOf: []apiextensionsv1.JSONSchemaProps{{Type: "string"}}}, `"oneOf"`},
		{"CEL rule", apiextensionsv1.JSONSchemaProps{Type: "object", XValidations: apiextensionsv1.ValidationRules{{Rule: "self.a < self.b"}}}, `x-kubernetes-validations`},
		{"string format", apiextensionsv1.JSONSchemaProps{Type: "string", Format: "date-time"}, `format "date-time"`},
		{"closed object", apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: false}}, "additionalProperties is a boolean"},
		{"Go-incompatible pattern", apiextensionsv1.JSONSchemaProps{Type: "string", Pattern: `(?<=a)b`}, "does not compile in Go"},
		{"map list", apiextensionsv1.JSONSchemaProps{Type: "array", XListType: new("map"), Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}}}, `"x-kubernetes-list-type":"map"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"field": tc.schema}}}}
			_, err := schemaGo(&root)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spec.field: ") {
				t.Errorf("got %v, want an error about spec.field naming %s", err, tc.want)
			}
		})
	}
}
