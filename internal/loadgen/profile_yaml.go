package loadgen

import (
	"bytes"
	"encoding/json"

	"go.yaml.in/yaml/v3"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// MarshalProfile writes the profile as YAML with its fields in the order of
// the Go type (apiVersion, kind, metadata, spec), as a person reads it.
func MarshalProfile(p *v1alpha1.VLLMServerProfile) ([]byte, error) {
	j, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	// JSON is YAML: decoding it keeps the key order json.Marshal wrote.
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	apiVersionFirst(&doc)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// blockStyle drops the flow style and quotes that JSON brought, leaving the
// encoder to quote only what needs it (such as the string "true").
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// apiVersionFirst moves apiVersion before kind, where manifests have it
// (metav1.TypeMeta declares kind first).
func apiVersionFirst(doc *yaml.Node) {
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := doc.Content[0].Content
	for i := 2; i+1 < len(m); i += 2 {
		if m[i].Value == "apiVersion" {
			key, value := m[i], m[i+1]
			copy(m[2:i+2], m[0:i])
			m[0], m[1] = key, value
			return
		}
	}
}
