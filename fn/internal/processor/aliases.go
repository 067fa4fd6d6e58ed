package processor

import (
	"fmt"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// processAliased runs Process on an input that holds YAML aliases. The KRM SDK's
// accessors panic on an alias node, and kpt passes aliases through from package
// files (kustomize expands them first), so the function reads a second copy of
// the input whose objects have every alias expanded, then puts back the items it
// passed through as they came, anchors and aliases included (Process edits no
// item in place but to remove a field, which is then removed from the item as
// written too). checkInput has bounded the expansion and made sure each alias
// stays inside its object.
func processAliased(rl *fn.ResourceList, in []byte) (*report, error) {
	view, err := expandedView(in)
	if err != nil {
		return nil, err
	}
	if len(view.Items) != len(rl.Items) {
		return nil, fmt.Errorf("%d items in the second copy of the input, %d in the first", len(view.Items), len(rl.Items))
	}
	written := make(map[*fn.KubeObject]*fn.KubeObject, len(view.Items))
	for i, item := range view.Items {
		written[item] = rl.Items[i]
	}
	rep := process(view)
	edited := map[*fn.KubeObject]*fn.KubeObject{}
	for _, e := range rep.edits {
		if original, ok := written[e.object]; ok {
			edited[e.object] = applyEdit(original, e)
		}
	}
	items := make(fn.KubeObjects, len(view.Items))
	for i, item := range view.Items {
		if obj, ok := edited[item]; ok {
			item = obj
		} else if original, ok := written[item]; ok {
			item = original
		}
		items[i] = item
	}
	rl.Items, rl.Results = items, view.Results
	return rep, nil
}

// applyEdit removes e's field from original, the item as written, and returns
// it. Where the field or the mapping that holds it is shared through an anchor,
// removing it would change other values too (or leave an alias without its
// anchor), so it returns the edited copy, with its aliases written out, and
// says so in the edit's result.
func applyEdit(original *fn.KubeObject, e edit) *fn.KubeObject {
	n := original.CopyToResourceNode().YNode()
	if !hasAlias(n) {
		return e.object // the same text, edited
	}
	parent := lookup(n, e.field[:len(e.field)-1])
	field := lookup(n, e.field)
	if parent != nil && parent.Kind == yaml.MappingNode && !anchoredOnPath(n, e.field) && field != nil && !hasAnchor(field) {
		if _, err := original.RemoveNestedField(e.field...); err == nil {
			return original
		}
	}
	e.result.Message += "; the object is written with its YAML aliases expanded, as the removed field was shared through an anchor"
	return e.object
}

// anchoredOnPath reports whether a mapping on the way to path, the root
// excluded, carries an anchor or is an alias.
func anchoredOnPath(n *yaml.Node, path []string) bool {
	for i := 1; i < len(path); i++ {
		v := lookup(n, path[:i])
		if v == nil || v.Kind == yaml.AliasNode || v.Anchor != "" {
			return true
		}
	}
	return false
}

// hasAnchor reports whether n or a node inside it carries an anchor.
func hasAnchor(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchor(c) {
			return true
		}
	}
	return false
}

// expandedView parses in into a ResourceList whose objects have every alias
// expanded. in must have passed checkInput.
func expandedView(in []byte) (*fn.ResourceList, error) {
	view, err := fn.ParseResourceList(in)
	if err != nil {
		return nil, err
	}
	for i, item := range view.Items {
		if view.Items[i], err = expandAliases(item); err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
	}
	if view.FunctionConfig, err = expandAliases(view.FunctionConfig); err != nil {
		return nil, fmt.Errorf("functionConfig: %w", err)
	}
	return view, nil
}

// expandAliases returns obj with every alias replaced by a copy of its anchor's
// value (merge keys merged). obj is consumed.
func expandAliases(obj *fn.KubeObject) (*fn.KubeObject, error) {
	rn := obj.MoveToResourceNode()
	if !hasAlias(rn.YNode()) {
		return fn.MoveToKubeObject(rn), nil
	}
	if err := rn.DeAnchor(); err != nil {
		return nil, err
	}
	return fn.MoveToKubeObject(rn), nil
}

func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}
