// Package krm converts between typed Go objects and the KRM objects of a
// ResourceList, and keeps generated objects clean for GitOps.
package krm

import (
	"fmt"
	"reflect"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// FromTyped converts a typed object (a k8s.io/api struct or any struct with JSON
// tags) into a KubeObject. Fields keep their struct order, as kubectl prints them,
// and the server-owned fields that typed values always carry (status,
// metadata.creationTimestamp) are dropped: Config Sync and GitOps tools would
// otherwise fight the server over them.
func FromTyped(v any) (*fn.KubeObject, error) {
	node, err := typedNode(reflect.ValueOf(v))
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	if node.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("encoding %T: not an object", v)
	}
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
