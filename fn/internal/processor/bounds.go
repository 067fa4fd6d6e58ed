package processor

import (
	"bytes"
	"errors"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Bounds on what the function reads, so that no input can make it take
// unbounded time or memory.
const (
	// MaxInputBytes bounds the ResourceList read from stdin. A kpt package of
	// 10,000 objects is 10-20 MiB of YAML.
	MaxInputBytes = 32 << 20
	// MaxExpandedBytes bounds the input with every YAML alias expanded, which is
	// what the function reads (and kustomize builds after it). yaml.v3 refuses
	// only alias-heavy documents, by ratio, so one long anchored string aliased a
	// thousand times would otherwise become gigabytes.
	MaxExpandedBytes = MaxInputBytes
)

// errAliasCycle is an alias inside the value of its own anchor.
var errAliasCycle = errors.New("an alias refers to the value that contains it; write the value out")

// checkInput refuses YAML the function cannot read safely: aliases that expand it
// beyond MaxExpandedBytes, an alias inside its own anchor, and an alias where the
// KRM SDK reads an object's identity. It reports whether b holds any alias. Input
// that does not parse is left for the parser to report.
func checkInput(b []byte) (aliased bool, err error) {
	if bytes.IndexByte(b, '*') < 0 || bytes.IndexByte(b, '&') < 0 {
		// Every alias is written *name and needs an anchor &name: without both
		// there is none, and parsing twice would cost a package of thousands of
		// objects a second (a '*' alone is common: RBAC rules grant "*").
		return false, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	w := &sizeWalker{anchored: map[*yaml.Node]int64{}}
	var total int64
	for first := true; ; first = false {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			// io.EOF ends the input; a syntax error is the parser's to report.
			return w.aliased, nil
		}
		n, err := w.size(&doc)
		if err != nil {
			return w.aliased, err
		}
		if total += n; total > MaxExpandedBytes {
			return w.aliased, fmt.Errorf("its YAML aliases expand it to more than %d MiB; write the repeated values out instead of aliasing them", MaxExpandedBytes>>20)
		}
		if first && w.aliased {
			if err := checkIdentities(&doc); err != nil {
				return true, err
			}
		}
	}
}

// sizeWalker computes expanded sizes: the length of a node's scalars plus one per
// node, with aliases expanded, capped just above MaxExpandedBytes. Only anchored
// nodes can be reached twice, so only their sizes are kept. An anchor comes
// before its aliases, so an alias's value is already counted unless it contains
// the alias: the recursion is as deep as the document, no deeper.
type sizeWalker struct {
	anchored map[*yaml.Node]int64
	aliased  bool
}

func (w *sizeWalker) size(n *yaml.Node) (int64, error) {
	if s, ok := w.anchored[n]; ok {
		if s < 0 {
			return 0, errAliasCycle
		}
		return s, nil
	}
	if n.Anchor != "" {
		w.anchored[n] = -1
	}
	size := int64(1 + len(n.Value))
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		w.aliased = true
		s, err := w.size(n.Alias)
		if err != nil {
			return 0, err
		}
		size += s
	}
	for _, c := range n.Content {
		s, err := w.size(c)
		if err != nil {
			return 0, err
		}
		size = min(size+s, MaxExpandedBytes+1)
	}
	size = min(size, MaxExpandedBytes+1)
	if n.Anchor != "" {
		w.anchored[n] = size
	}
	return size, nil
}

// checkIdentities refuses aliases where the function reads the input as written:
// the ResourceList's own fields, its items, and each object's apiVersion, kind,
// name and namespace, which the SDK reads to order the output.
func checkIdentities(doc *yaml.Node) error {
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i].Value, root.Content[i+1]
		if value.Kind == yaml.AliasNode {
			return fmt.Errorf("the ResourceList's %s is a YAML alias; write it out", key)
		}
		switch {
		case key == "results":
			if v := lookup(value, []string{"items"}); v != nil && v.Kind == yaml.AliasNode {
				return fmt.Errorf("the ResourceList's results.items is a YAML alias; write it out")
			}
		case key == "functionConfig":
			if err := checkObjectIdentity(value, "functionConfig"); err != nil {
				return err
			}
		case key == "items" && value.Kind == yaml.SequenceNode:
			for j, item := range value.Content {
				if item.Kind == yaml.AliasNode {
					return fmt.Errorf("items[%d] is a YAML alias; write the object out", j)
				}
				if err := checkObjectIdentity(item, fmt.Sprintf("items[%d]", j)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkObjectIdentity(obj *yaml.Node, where string) error {
	if !selfContained(obj) {
		return fmt.Errorf("%s: an alias in it names an anchor outside it; write the value out (each object is written on its own)", where)
	}
	for _, path := range [][]string{{"apiVersion"}, {"kind"}, {"metadata"}, {"metadata", "name"}, {"metadata", "namespace"}} {
		if v := lookup(obj, path); v != nil && v.Kind == yaml.AliasNode {
			return fmt.Errorf("%s: its %s is a YAML alias; write the value out (objects are read and ordered by their apiVersion, kind, name and namespace as written)", where, path[len(path)-1])
		}
	}
	return nil
}

// lookup returns the value at path in a mapping node, nil when absent.
func lookup(n *yaml.Node, path []string) *yaml.Node {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// selfContained reports whether every alias in obj names an anchor inside obj.
func selfContained(obj *yaml.Node) bool {
	inside := map[*yaml.Node]bool{}
	var aliases []*yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		inside[n] = true
		if n.Kind == yaml.AliasNode {
			aliases = append(aliases, n.Alias)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(obj)
	for _, target := range aliases {
		if !inside[target] {
			return false
		}
	}
	return true
}
