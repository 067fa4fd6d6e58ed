package config

import (
	"fmt"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// DuplicateKeys returns an error result for every key that a config of rl (the
// functionConfig, or a VLLMHPAConfig item) sets twice in one mapping. kpt reads
// such a file without complaint, and decoding it later would report lines of the
// function's input stream; here the result names the field and, when it can be
// known, the lines of the file the user wrote.
func DuplicateKeys(rl *fn.ResourceList) fn.Results {
	var results fn.Results
	check := func(obj *fn.KubeObject) {
		node := obj.CopyToResourceNode().YNode()
		pos := positionIn(node)
		walkDuplicates(node, nil, func(fldPath *field.Path, first, again *yaml.Node) {
			where := ""
			if pos.ok {
				where = fmt.Sprintf("%s, lines %d and %d", pos.file, pos.line(first.Line), pos.line(again.Line))
			}
			results = append(results, FieldResult(obj, fn.Error, setTwice(fldPath, where)))
		})
	}
	if fc := rl.FunctionConfig; fc != nil && !fc.IsEmpty() && (isConfig(fc) || fc.GetKind() == "ConfigMap") {
		check(fc)
	}
	for _, item := range rl.Items {
		if isConfig(item) {
			check(item)
		}
	}
	return results
}

// walkDuplicates calls found for each key of a mapping under n that repeats an
// earlier key of the same mapping. Aliases are not followed: an anchor's own
// mapping is checked where it is written. Merge keys (<<) may repeat.
func walkDuplicates(n *yaml.Node, fldPath *field.Path, found func(fldPath *field.Path, first, again *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			p := fldPath.Child(key.Value)
			if first, ok := seen[key.Value]; ok && key.Value != "<<" {
				found(p, first, key)
			} else {
				seen[key.Value] = key
			}
			walkDuplicates(value, p, found)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			walkDuplicates(item, fldPath.Index(i), found)
		}
	}
}

// position maps a line of an object in the function's input stream back to the
// line of its file. kpt writes every object into one stream (moving it down) and
// adds its own annotations (path, index, id: one line each, and the
// annotations: key when the user wrote none) that are not in the file. The
// mapping holds for the first object of a file laid out as kpt writes it: a
// blank line inside the object is not in the stream, so nothing can count it.
type position struct {
	file string
	ok   bool
	// offset is the file's line of the object's first key minus its stream line.
	offset int
	// added are the stream lines that kpt added to the object.
	added []int
}

func positionIn(obj *yaml.Node) position {
	rn := yaml.NewRNode(obj)
	anns := rn.GetAnnotations()
	var pos position
	for _, a := range []string{kioutil.PathAnnotation, kioutil.LegacyPathAnnotation} {
		if pos.file == "" {
			pos.file = anns[a]
		}
	}
	index := anns[kioutil.IndexAnnotation]
	if index == "" {
		index = anns[kioutil.LegacyIndexAnnotation]
	}
	// Only the first object of a file starts at a line that can be known.
	if pos.file == "" || (index != "" && index != "0") || obj.Kind != yaml.MappingNode || len(obj.Content) == 0 {
		return pos
	}
	first := obj.Content[0]
	// The file's head comment is above the first key, in the stream as in the file.
	commentLines := 0
	for _, c := range []string{obj.HeadComment, first.HeadComment} {
		if c != "" {
			commentLines += strings.Count(c, "\n") + 1
		}
	}
	pos.offset = 1 + commentLines - first.Line
	pos.ok = true

	annotations, _ := rn.Pipe(yaml.Lookup(yaml.MetadataField, yaml.AnnotationsField))
	if annotations == nil {
		return pos
	}
	content := annotations.YNode().Content
	for i := 0; i+1 < len(content); i += 2 {
		if addedByKpt(content[i].Value) {
			pos.added = append(pos.added, content[i].Line)
		}
	}
	if len(pos.added) == len(content)/2 {
		// The user wrote no annotations: kpt added the annotations: key too.
		if key := annotationsKey(obj); key != nil {
			pos.added = append(pos.added, key.Line)
		}
	}
	return pos
}

// line is the file's line of a line of the object in the stream.
func (p position) line(stream int) int {
	l := stream + p.offset
	for _, a := range p.added {
		if a < stream {
			l--
		}
	}
	return l
}

// addedByKpt says whether an annotation is one that kpt and kustomize add to an
// object they read from a file, and remove again when they write it.
func addedByKpt(key string) bool {
	switch key {
	case kioutil.LegacyPathAnnotation, kioutil.LegacyIndexAnnotation, kioutil.LegacyIdAnnotation:
		return true
	}
	return strings.HasPrefix(key, "internal.config.kubernetes.io/")
}

// annotationsKey is the key node of metadata.annotations.
func annotationsKey(obj *yaml.Node) *yaml.Node {
	meta := yaml.NewRNode(obj).Field(yaml.MetadataField)
	if meta == nil {
		return nil
	}
	c := meta.Value.YNode().Content
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Value == yaml.AnnotationsField {
			return c[i]
		}
	}
	return nil
}
