package processor

import (
	"bytes"
	"fmt"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// notAnObject explains why the SDK refused an input that is a ResourceList
// but holds an item or a functionConfig that is not an object, naming it by
// its place (items[3]). It returns nil for any other input.
func notAnObject(in []byte) *fn.Result {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(in)).Decode(&doc); err != nil || len(doc.Content) != 1 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil
	}
	explain := func(field string, n *yaml.Node) *fn.Result {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var what string
		switch {
		case n.Kind == yaml.MappingNode:
			return nil
		case n.Kind == yaml.SequenceNode:
			what = "a list"
		case n.ShortTag() == yaml.NodeTagNull:
			what = "empty (null)"
		default:
			what = fmt.Sprintf("a scalar (%.40q)", n.Value)
		}
		msg := fmt.Sprintf("%s is %s, not an object; every item of a ResourceList is a Kubernetes object (a mapping with apiVersion, kind and metadata): remove it or write it out as one", field, what)
		if field == "functionConfig" {
			msg = fmt.Sprintf("functionConfig is %s, not an object; give a %s or a ConfigMap, or leave functionConfig out", what, v1alpha1.Kind)
		}
		r := fn.GeneralResult(msg, fn.Error)
		r.Field = &fn.Field{Path: field}
		return r
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i].Value, root.Content[i+1]
		switch {
		case key == "items" && value.Kind != yaml.SequenceNode:
			what := "not a list"
			if value.ShortTag() == yaml.NodeTagNull {
				what = "empty (null), not a list"
			}
			r := fn.GeneralResult(fmt.Sprintf("items is %s; write the objects as a list, or items: [] for none", what), fn.Error)
			r.Field = &fn.Field{Path: "items"}
			return r
		case key == "items":
			for j, item := range value.Content {
				if r := explain(fmt.Sprintf("items[%d]", j), item); r != nil {
					return r
				}
			}
		case key == "functionConfig" && value.ShortTag() != yaml.NodeTagNull:
			if r := explain("functionConfig", value); r != nil {
				return r
			}
		}
	}
	return nil
}
