package krm

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// ResourceListYAML returns the bytes rl.ToYAML returns, items sorted the same
// way, but encodes the list one part at a time. The YAML encoder keeps every
// event of a document until the document ends, a few hundred bytes per scalar,
// so encoding a large list as one document holds many times the input's size
// at once; one item at a time, it holds one item's events.
func ResourceListYAML(rl *fn.ResourceList) ([]byte, error) {
	sortItems(rl.Items)
	var out bytes.Buffer
	out.WriteString(resourceListHeader)
	write := func(part *fn.ResourceList, key string, first bool) error {
		b, err := partYAML(part, key)
		if err != nil {
			return err
		}
		if !first {
			// A later item continues the items sequence.
			b = b[len(key)+2:]
		}
		out.Write(b)
		return nil
	}
	for i, item := range rl.Items {
		if err := write(&fn.ResourceList{Items: fn.KubeObjects{item}}, "items", i == 0); err != nil {
			return nil, err
		}
	}
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		if err := write(&fn.ResourceList{FunctionConfig: rl.FunctionConfig}, "functionConfig", true); err != nil {
			return nil, err
		}
	}
	if len(rl.Results) > 0 {
		if err := write(&fn.ResourceList{Results: rl.Results}, "results", true); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// sortItems sorts items as rl.Sort does, into the same order even among equal
// keys, but reads each item's key once instead of twice per comparison.
func sortItems(items fn.KubeObjects) {
	keys := make([]string, len(items))
	for i, o := range items {
		keys[i] = fmt.Sprintf("%s %s %s %s", o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName())
	}
	sort.Sort(byKey{keys, items})
}

// byKey makes the same comparisons and swaps as fn.KubeObjects' sort.Interface,
// so sort.Sort leaves items as rl.Sort would.
type byKey struct {
	keys  []string
	items fn.KubeObjects
}

func (s byKey) Len() int           { return len(s.keys) }
func (s byKey) Less(i, j int) bool { return s.keys[i] < s.keys[j] }
func (s byKey) Swap(i, j int) {
	s.keys[i], s.keys[j] = s.keys[j], s.keys[i]
	s.items[i], s.items[j] = s.items[j], s.items[i]
}

const resourceListHeader = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"

// partYAML encodes part, a ResourceList with one field set, and returns that
// field's YAML, from "key:" on.
func partYAML(part *fn.ResourceList, key string) ([]byte, error) {
	if part.FunctionConfig == nil {
		part.FunctionConfig = fn.NewEmptyKubeObject()
	}
	b, err := part.ToYAML()
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte(resourceListHeader+key+":\n")) {
		return nil, fmt.Errorf("internal error: the SDK wrote a ResourceList that does not start with %q", resourceListHeader+key+":")
	}
	return b[len(resourceListHeader):], nil
}
