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
// passed through as they came, anchors and aliases included (Process never edits
// an item in place: it keeps, replaces or removes it). checkInput has bounded the
// expansion and made sure each alias stays inside its object.
func processAliased(rl *fn.ResourceList, in []byte) error {
	view, err := expandedView(in)
	if err != nil {
		return err
	}
	if len(view.Items) != len(rl.Items) {
		return fmt.Errorf("%d items in the second copy of the input, %d in the first", len(view.Items), len(rl.Items))
	}
	written := make(map[*fn.KubeObject]*fn.KubeObject, len(view.Items))
	for i, item := range view.Items {
		written[item] = rl.Items[i]
	}
	Process(view)
	items := make(fn.KubeObjects, len(view.Items))
	for i, item := range view.Items {
		if original, ok := written[item]; ok {
			item = original
		}
		items[i] = item
	}
	rl.Items, rl.Results = items, view.Results
	return nil
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
