package krm

import (
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// jsonReader turns the compact JSON that encoding/json writes into the node tree
// the YAML parser would read from it, tags included, in plain block style, at a
// fraction of the YAML parser's cost. The tags decide the quoting: a string "4"
// stays quoted, a number 4 does not.
type jsonReader struct {
	b []byte
	i int
}

var errJSONEnd = errors.New("unexpected end of JSON")

func (r *jsonReader) value() (*yaml.Node, error) {
	r.space()
	if r.i >= len(r.b) {
		return nil, errJSONEnd
	}
	switch r.b[r.i] {
	case '{':
		r.i++
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: yaml.NodeTagMap}
		return n, r.members('}', func() error {
			k, err := r.string()
			if err != nil {
				return err
			}
			if err := r.expect(':'); err != nil {
				return err
			}
			v, err := r.value()
			if err != nil {
				return err
			}
			n.Content = append(n.Content, k, v)
			return nil
		})
	case '[':
		r.i++
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: yaml.NodeTagSeq}
		return n, r.members(']', func() error {
			v, err := r.value()
			if err != nil {
				return err
			}
			n.Content = append(n.Content, v)
			return nil
		})
	case '"':
		return r.string()
	default:
		return r.literal()
	}
}

// members reads the comma-separated members of an object or array up to end.
func (r *jsonReader) members(end byte, member func() error) error {
	r.space()
	if r.i < len(r.b) && r.b[r.i] == end {
		r.i++
		return nil
	}
	for {
		if err := member(); err != nil {
			return err
		}
		r.space()
		if r.i >= len(r.b) {
			return errJSONEnd
		}
		c := r.b[r.i]
		r.i++
		switch c {
		case ',':
		case end:
			return nil
		default:
			return fmt.Errorf("unexpected %q at offset %d of JSON", c, r.i-1)
		}
	}
}

func (r *jsonReader) string() (*yaml.Node, error) {
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, fmt.Errorf("expected a string at offset %d of JSON", r.i)
	}
	start, escaped := r.i, false
	for r.i++; r.i < len(r.b); r.i++ {
		switch r.b[r.i] {
		case '\\':
			escaped = true
			r.i++
		case '"':
			r.i++
			raw := r.b[start:r.i]
			value := string(raw[1 : len(raw)-1])
			if escaped {
				if err := json.Unmarshal(raw, &value); err != nil {
					return nil, err
				}
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: value}, nil
		}
	}
	return nil, errJSONEnd
}

// literal reads a number, true, false or null, tagged as YAML resolves it.
func (r *jsonReader) literal() (*yaml.Node, error) {
	start := r.i
	for r.i < len(r.b) && !isDelimiter(r.b[r.i]) {
		r.i++
	}
	value := string(r.b[start:r.i])
	switch value {
	case "true", "false":
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagBool, Value: value}, nil
	case "null":
		return nullNode(), nil
	case "":
		return nil, fmt.Errorf("expected a value at offset %d of JSON", start)
	}
	return numberNode(value), nil
}

func (r *jsonReader) expect(c byte) error {
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != c {
		return fmt.Errorf("expected %q at offset %d of JSON", c, r.i)
	}
	r.i++
	return nil
}

func (r *jsonReader) space() {
	for r.i < len(r.b) && isSpace(r.b[r.i]) {
		r.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isDelimiter(c byte) bool { return c == ',' || c == '}' || c == ']' || isSpace(c) }
