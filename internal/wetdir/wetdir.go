// Package wetdir lays rendered manifests out as a Config Sync "wet" directory:
// plain YAML in the unstructured format, one object per file, no
// kustomization.yaml. It checks the objects against the rules Config Sync
// enforces before it writes anything, so a directory it wrote can be synced as is.
package wetdir

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Parse reads a multi-document YAML stream, such as `kustomize build` prints.
func Parse(stream []byte) ([]*yaml.RNode, error) {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(stream), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("the input is not a YAML stream of Kubernetes objects: %w", err)
	}
	return nodes, nil
}

// Files returns the wet directory for the objects, keyed by slash-separated path:
// cluster-scoped objects in cluster/<kind>_<name>.yaml, namespaced ones in
// namespaces/<namespace>/<kind>_<name>.yaml. Each file starts with header.
// It refuses objects that break Config Sync's rules (see Check).
func Files(objects []*yaml.RNode, header string) (map[string][]byte, error) {
	if len(objects) == 0 {
		return nil, fmt.Errorf("no objects to write; a wet directory with nothing in it would make Config Sync delete everything it synced from it")
	}
	if errs := Check(objects); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	files := map[string][]byte{}
	for _, obj := range objects {
		p := filePath(obj)
		if _, dup := files[p]; dup {
			return nil, fmt.Errorf("%s and another object of the same kind and name but another API group would share %s; rename one of them", describe(obj), p)
		}
		body, err := obj.String()
		if err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", describe(obj), err)
		}
		files[p] = []byte(header + body)
	}
	return files, nil
}

func filePath(obj *yaml.RNode) string {
	// RBAC names may hold colons, which Windows and some tools refuse in file names.
	base := strings.ToLower(obj.GetKind()) + "_" + strings.ReplaceAll(obj.GetName(), ":", "-") + ".yaml"
	if ns := obj.GetNamespace(); ns != "" {
		return "namespaces/" + ns + "/" + base
	}
	return "cluster/" + base
}

func joinErrors(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = "  " + e.Error()
	}
	return fmt.Errorf("the objects break Config Sync's rules:\n%s", strings.Join(msgs, "\n"))
}

// Header is the comment at the top of each wet file: it names the DRY source and
// how to regenerate, because an edit made here is lost on the next render.
func Header(source string) string {
	if source == "" {
		return "# Rendered by `make hydrate`; do not edit.\n"
	}
	return "# Rendered from " + source + " by `make hydrate`; do not edit: change the source and rerun.\n"
}
