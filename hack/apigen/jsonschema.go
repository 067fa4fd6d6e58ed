package main

import (
	"encoding/json"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// What the config's metadata fields mean: a CRD's schema cannot describe
// metadata beyond its type, so it is stated here.
const (
	nameDescription      = "name names the per-model objects (the HorizontalPodAutoscaler and the PodMonitoring); a DNS-1123 label."
	namespaceDescription = "namespace is the workload's namespace, where the HorizontalPodAutoscaler and the PodMonitoring go."
)

// jsonSchema converts the CRD's OpenAPI v3 schema into a JSON Schema (draft-07)
// of the config file, as editors read it (yaml-language-server): apiVersion and
// kind as constants, unknown fields flagged as the function's strict decoder
// flags them, the Kubernetes extensions turned into plain JSON Schema.
func jsonSchema(crd *apiextensionsv1.JSONSchemaProps) ([]byte, error) {
	spec, ok := crd.Properties["spec"]
	if !ok {
		return nil, fmt.Errorf("the CRD schema has no spec")
	}
	converted, err := convert(&spec)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	stringMap := map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	root := map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"title":                v1alpha1.Kind,
		"description":          unwrap(crd.Description),
		"type":                 "object",
		"required":             []string{"apiVersion", "kind", "metadata", "spec"},
		"additionalProperties": false,
		"properties": map[string]any{
			"apiVersion": map[string]any{"const": v1alpha1.APIVersion},
			"kind":       map[string]any{"const": v1alpha1.Kind},
			"metadata": map[string]any{
				"type":     "object",
				"required": []string{"name"},
				"properties": map[string]any{
					"name":        map[string]any{"type": "string", "description": nameDescription},
					"namespace":   map[string]any{"type": "string", "description": namespaceDescription, "default": v1alpha1.DefaultNamespace},
					"labels":      stringMap,
					"annotations": stringMap,
				},
			},
			"spec": converted,
		},
	}
	b, err := json.MarshalIndent(root, "", "  ")
	return append(b, '\n'), err
}

// convert turns one node of the CRD schema into JSON Schema.
func convert(s *apiextensionsv1.JSONSchemaProps) (map[string]any, error) {
	out := map[string]any{}
	if s.Description != "" {
		out["description"] = unwrap(s.Description)
	}
	switch {
	case isQuantity(s):
		str := map[string]any{"type": "string"}
		if s.Pattern != "" {
			str["pattern"] = s.Pattern
		}
		out["anyOf"] = []any{map[string]any{"type": "number"}, str}
	case s.XIntOrString:
		out["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
	case s.Type != "":
		out["type"] = s.Type
		if s.Pattern != "" {
			out["pattern"] = s.Pattern
		}
	default:
		return nil, fmt.Errorf("a node without a type that is not a quantity")
	}
	var err error
	if s.Default != nil {
		if out["default"], err = decode(s.Default); err != nil {
			return nil, err
		}
	}
	if s.Example != nil {
		example, err := decode(s.Example)
		if err != nil {
			return nil, err
		}
		out["examples"] = []any{example}
	}
	if len(s.Enum) > 0 {
		enum := make([]any, len(s.Enum))
		for i := range s.Enum {
			if enum[i], err = decode(&s.Enum[i]); err != nil {
				return nil, err
			}
		}
		out["enum"] = enum
	}
	// OpenAPI 3.0 marks a bound exclusive with a flag; JSON Schema names the bound.
	bound := func(name, exclusive string, v *float64, isExclusive bool) {
		switch {
		case v == nil:
		case isExclusive:
			out[exclusive] = *v
		default:
			out[name] = *v
		}
	}
	bound("minimum", "exclusiveMinimum", s.Minimum, s.ExclusiveMinimum)
	bound("maximum", "exclusiveMaximum", s.Maximum, s.ExclusiveMaximum)
	for key, v := range map[string]*int64{"minLength": s.MinLength, "maxLength": s.MaxLength, "minItems": s.MinItems, "maxItems": s.MaxItems} {
		if v != nil {
			out[key] = *v
		}
	}
	if len(s.Required) > 0 {
		out["required"] = s.Required
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for name, p := range s.Properties {
			if props[name], err = convert(&p); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		out["properties"] = props
		// The function decodes strictly: a field the schema does not name is an error.
		out["additionalProperties"] = false
	}
	if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
		if out["additionalProperties"], err = convert(ap.Schema); err != nil {
			return nil, err
		}
	}
	if it := s.Items; it != nil && it.Schema != nil {
		if out["items"], err = convert(it.Schema); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isQuantity says whether a node is a Kubernetes quantity, a number or a string:
// ours (v1alpha1.Quantity: untyped, since a structural schema cannot say "number
// or string") or resource.Quantity (int-or-string with the quantity pattern,
// as controller-gen writes it, though the API server's decoder takes numbers).
func isQuantity(s *apiextensionsv1.JSONSchemaProps) bool {
	untyped := s.Type == "" && !s.XIntOrString && s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields && len(s.Properties) == 0
	return untyped || (s.XIntOrString && s.Pattern != "")
}

func decode(raw *apiextensionsv1.JSON) (any, error) {
	var v any
	err := json.Unmarshal(raw.Raw, &v)
	return v, err
}

// unwrap joins the lines of a doc comment's paragraphs, which editors would
// otherwise show as one paragraph per line; blank lines and list items stay.
func unwrap(s string) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, line := range lines {
		item := strings.HasPrefix(strings.TrimSpace(line), "- ") || strings.HasPrefix(strings.TrimSpace(line), "* ")
		switch {
		case i == 0:
		case line == "" || lines[i-1] == "" || item:
			b.WriteString("\n")
		default:
			b.WriteString(" ")
		}
		b.WriteString(line)
	}
	return b.String()
}
