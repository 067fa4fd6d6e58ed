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
// at once.
//
// It takes the items from rl (rl.Items is empty afterwards) and lets go of each
// once it is written, so that the memory of the items written can be collected
// while the rest are; the objects themselves are left as they were.
func ResourceListYAML(rl *fn.ResourceList) ([]byte, error) {
	sortItems(rl.Items)
	var out bytes.Buffer
	out.WriteString(resourceListHeader)
	items := rl.Items
	rl.Items = nil
	if err := writeItems(&out, items); err != nil {
		return nil, err
	}
	write := func(part *fn.ResourceList, key string, first bool) error {
		b, err := partYAML(part, key)
		if err != nil {
			return err
		}
		appendPart(&out, b, key, first)
		return nil
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

// batchNodes is about how many YAML nodes one part of the items holds (a
// Deployment has about 200), and batchResults how many results: enough that
// tiny items share an encoder, few enough that the events it keeps stay few.
// Larger parts measured no faster and allocated more.
const (
	batchNodes   = 256
	batchResults = 256
)

// writeItems writes "items:" and the items as ToYAML does: the document
// {items: [...]} through kyaml's encoder (two-space indent, compact sequences),
// which is what the SDK builds and encodes for them. A part holds items up to
// about batchNodes nodes (one item, however large, at least) and is encoded on
// its own; a later part continues the sequence. Each item is dropped from items
// once its part is written.
func writeItems(out *bytes.Buffer, items fn.KubeObjects) error {
	var part bytes.Buffer
	for start, end := 0, 0; start < len(items); start = end {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for nodes := 0; end < len(items) && (end == start || nodes < batchNodes); end++ {
			node := yamlNode(items[end])
			seq.Content = append(seq.Content, node)
			nodes += count(node, batchNodes-nodes)
		}
		doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: itemsKey}, seq,
		}}
		part.Reset()
		if err := yaml.NewEncoder(&part).Encode(doc); err != nil {
			return err
		}
		b := part.Bytes()
		if !bytes.HasPrefix(b, []byte(itemsKey+":\n")) {
			return fmt.Errorf("internal error: the encoder wrote items that do not start with %q", itemsKey+":")
		}
		appendPart(out, b, itemsKey, start == 0)
		clear(items[start:end])
	}
	return nil
}

// yamlNode returns the node of item. The SDK lends an object's node only by
// moving it out, so the item is rebuilt around the same node.
func yamlNode(item *fn.KubeObject) *yaml.Node {
	rn := item.MoveToResourceNode()
	node := rn.YNode()
	*item = *fn.MoveToKubeObject(rn)
	return node
}

// count counts the nodes of n, up to limit: a part is full at batchNodes.
func count(n *yaml.Node, limit int) int {
	total := 1
	for _, c := range n.Content {
		if total >= limit {
			break
		}
		total += count(c, limit-total)
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

const (
	resourceListHeader = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
	itemsKey           = "items"
)

// appendPart appends b, one part of the list from "key:" on, to out. The first
// part of a key opens its sequence; a later part continues it, so its "key:"
// line is dropped.
func appendPart(out *bytes.Buffer, b []byte, key string, first bool) {
	if !first {
		b = b[len(key)+2:]
	}
	out.Write(b)
}

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
