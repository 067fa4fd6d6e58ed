// Package krm converts between typed Go objects and the KRM objects of a
// ResourceList, and keeps generated objects clean for GitOps.
package krm

import (
	"encoding/json"
	"fmt"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// FromTyped converts a typed object (a k8s.io/api struct or any struct with JSON
// tags) into a KubeObject, and drops the server-owned fields that typed values
// always carry (status, metadata.creationTimestamp): Config Sync and GitOps
// tools would otherwise fight the server over them.
//
// It is the SDK's fn.NewFromTypedObject (encoding/json, then a YAML node) except
// for field order: the SDK goes through a map and re-sorts every mapping (kyaml's
// FieldOrder, then alphabetically: spec.behavior before spec.scaleTargetRef),
// while reading the JSON text as YAML keeps the struct's order, as kubectl
// prints objects and as every checked-in output of this function is written.
// The parser refuses a JSON key over 1024 characters (a YAML implicit key's
// limit) with an error; the keys written here are field names and validated
// label keys, at most 317 characters.
func FromTyped(v any) (*fn.KubeObject, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decoding %T: %w", v, err)
	}
	node := doc.Content[0]
	if node.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("encoding %T: not an object", v)
	}
	blockStyle(node)
	apiVersionFirst(node)
	rn := yaml.NewRNode(node)
	if err := rn.PipeE(yaml.Clear("status")); err != nil {
		return nil, err
	}
	if err := rn.PipeE(yaml.Lookup("metadata"), yaml.Clear("creationTimestamp")); err != nil {
		return nil, err
	}
	// Typed values write structs without omitempty as {}: a Namespace's spec, a
	// Deployment's strategy. They mean "unset", so leave them out.
	for _, path := range [][]string{{"spec", "strategy"}, {"spec"}} {
		if err := clearIfEmpty(rn, path); err != nil {
			return nil, err
		}
	}
	return fn.MoveToKubeObject(rn), nil
}

// blockStyle drops JSON's flow style and double quotes, so the object is written
// as ordinary block YAML. The nodes keep the tags the parser resolved, so the
// encoder still quotes a string that would read as another type ("4", "true").
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// apiVersionFirst moves apiVersion ahead of kind, as manifests are written.
func apiVersionFirst(n *yaml.Node) {
	c := n.Content
	if len(c) >= 4 && c[0].Value == "kind" && c[2].Value == "apiVersion" {
		c[0], c[1], c[2], c[3] = c[2], c[3], c[0], c[1]
	}
}

// clearIfEmpty removes the field at path when it is an empty mapping.
func clearIfEmpty(rn *yaml.RNode, path []string) error {
	field, err := rn.Pipe(yaml.Lookup(path...))
	if err != nil || field == nil || field.YNode().Kind != yaml.MappingNode || len(field.Content()) > 0 {
		return err
	}
	parent, err := rn.Pipe(yaml.Lookup(path[:len(path)-1]...))
	if err != nil {
		return err
	}
	_, err = parent.Pipe(yaml.Clear(path[len(path)-1]))
	return err
}
