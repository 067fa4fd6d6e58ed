// Command apigen writes the files derived from the VLLMHPAConfig CRD, which
// controller-gen writes from the types and markers in fn/api/v1alpha1: the JSON
// Schema for editors, the KRMFunctionDefinition, the field reference in
// docs/api.md, the Go form of the schema the function validates configs with,
// and the function's --help and --version text. Run it
// from the repository root after controller-gen (make generate):
//
//	go run ./hack/apigen
package main

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// The files apigen writes, relative to the repository root.
const (
	// crdFile is controller-gen's CRD, which apigen writes back with the doc
	// comments it copies from upstream types corrected (v1alpha1.FixUpstreamDocs).
	crdFile         = "fn/api/v1alpha1/vllmhpa.dev_vllmhpaconfigs.yaml"
	jsonSchemaFile  = "fn/api/v1alpha1/vllmhpaconfig.schema.json"
	definitionFile  = "fn/krmfunctiondefinition.yaml"
	apiGuideFile    = "docs/api.md"
	catalogMetaFile = "fn/metadata.yaml"
	schemaGoFile    = "fn/internal/schema/zz_generated.schema.go"
	usageGoFile     = "fn/internal/cli/zz_generated.usage.go"
	// versionFile holds the release the container image is tagged with.
	versionFile = "VERSION"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	files, err := generate(*root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apigen: %v\n", err)
		os.Exit(1)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(*root, name), files[name], 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "apigen: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "apigen: wrote", name)
	}
}

// generate returns the content of every file apigen writes, by path. The
// API guide comes back whole, with only its field reference replaced.
func generate(root string) (map[string][]byte, error) {
	crd, err := v1alpha1.FixUpstreamDocs(v1alpha1.CRD)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", crdFile, err)
	}
	schema, node, err := loadCRD(crd)
	if err != nil {
		return nil, fmt.Errorf("reading the CRD embedded in fn/api/v1alpha1: %w", err)
	}
	js, err := jsonSchema(schema)
	if err != nil {
		return nil, err
	}
	meta, err := os.ReadFile(filepath.Join(root, catalogMetaFile))
	if err != nil {
		return nil, err
	}
	version, err := os.ReadFile(filepath.Join(root, versionFile))
	if err != nil {
		return nil, err
	}
	def, err := krmFunctionDefinition(node, meta, strings.TrimSpace(string(version)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", catalogMetaFile, err)
	}
	guide, err := os.ReadFile(filepath.Join(root, apiGuideFile))
	if err != nil {
		return nil, err
	}
	guide, err = replaceFieldReference(guide, fieldReference(schema))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", apiGuideFile, err)
	}
	goSchema, err := schemaGo(schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", schemaGoFile, err)
	}
	usage, err := usageGo(schema, strings.TrimSpace(string(version)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", usageGoFile, err)
	}
	return map[string][]byte{crdFile: crd, jsonSchemaFile: js, definitionFile: def, apiGuideFile: guide, schemaGoFile: goSchema, usageGoFile: usage}, nil
}

// loadCRD returns the openAPIV3Schema of the CRD's only version, typed and as
// YAML.
func loadCRD(raw []byte) (*apiextensionsv1.JSONSchemaProps, *yaml.Node, error) {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := k8syaml.UnmarshalStrict(raw, &crd); err != nil {
		return nil, nil, err
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != v1alpha1.Version || crd.Spec.Versions[0].Schema == nil {
		return nil, nil, fmt.Errorf("want one version, %s, with a schema", v1alpha1.Version)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		return nil, nil, err
	}
	node := lookup(doc.Content[0], "spec", "versions", "0", "schema", "openAPIV3Schema")
	if node == nil {
		return nil, nil, fmt.Errorf("no spec.versions[0].schema.openAPIV3Schema")
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema, node, nil
}

// lookup follows keys (and list indexes written as digits) down a YAML node.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
			n = next
		case yaml.SequenceNode:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return n
}
