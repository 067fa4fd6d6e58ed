package krm

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ResourceListYAML returns the bytes rl.ToYAML returns, items sorted the same
// way, but encodes the list a part at a time. The YAML encoder keeps every
// event of a document until the document ends, a few hundred bytes per scalar,
// so encoding a large list as one document holds many times the input's size
// at once. A part holds items up to about batchNodes nodes (one item, however
// large, at least), so that a list of many small items does not pay to set up
// an encoder for each.
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
			// A later part continues the sequence.
			b = b[len(key)+2:]
		}
		out.Write(b)
		return nil
	}
	for start, end := 0, 0; start < len(rl.Items); start = end {
		nodes := 0
		for end = start; end < len(rl.Items) && (end == start || nodes < batchNodes); end++ {
			nodes += countNodes(rl.Items[end])
		}
		if err := write(&fn.ResourceList{Items: rl.Items[start:end]}, "items", start == 0); err != nil {
			return nil, err
		}
	}
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		if err := write(&fn.ResourceList{FunctionConfig: rl.FunctionConfig}, "functionConfig", true); err != nil {
			return nil, err
		}
	}
	for start := 0; start < len(rl.Results); start += batchResults {
		part := rl.Results[start:min(start+batchResults, len(rl.Results))]
		if err := write(&fn.ResourceList{Results: part}, "results", start == 0); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// batchNodes is about how many YAML nodes one part of the output holds (a
// Deployment has about 200), and batchResults how many results: enough that
// tiny items share an encoder, few enough that the events it keeps stay few.
// Larger parts measured no faster and allocated more.
const (
	batchNodes   = 256
	batchResults = 256
)

// countNodes counts the YAML nodes of an item. The SDK lends an object's node
// only by moving it out, so the item is rebuilt around the same node.
func countNodes(item *fn.KubeObject) int {
	rn := item.MoveToResourceNode()
	n := count(rn.YNode())
	*item = *fn.MoveToKubeObject(rn)
	return n
}

func count(n *yaml.Node) int {
	total := 1
	for _, c := range n.Content {
		total += count(c)
	}
	return total
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
	// A functionConfig written in flow style stays so: "functionConfig: {...}".
	if !bytes.HasPrefix(b, []byte(resourceListHeader+key+":\n")) && !bytes.HasPrefix(b, []byte(resourceListHeader+key+": ")) {
		return nil, fmt.Errorf("internal error: the SDK wrote a ResourceList that does not start with %q", resourceListHeader+key+":")
	}
	return b[len(resourceListHeader):], nil
}
