// Package schema validates a VLLMHPAConfig against the openAPIV3Schema of its
// CRD, which controller-gen writes from the kubebuilder markers on the API types:
// each constraint the schema states (required fields, enums, bounds) is stated
// there once, and the function's Go checks keep only what a schema cannot say.
package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// Validate checks obj, a config decoded from JSON (maps, slices, strings, float64
// or int64 numbers, bools), against the config's schema. It returns one error
// per violated constraint, each naming the field path, the value and the fix.
func Validate(obj map[string]any) []v1alpha1.FieldError {
	root, err := load()
	if err != nil {
		return []v1alpha1.FieldError{{Message: "internal error: the embedded VLLMHPAConfig schema cannot be read: " + err.Error()}}
	}
	res := validate.NewSchemaValidator(root, nil, "", strfmt.Default).Validate(dropNulls(obj))
	var out []v1alpha1.FieldError
	for _, e := range res.Errors {
		out = append(out, fieldError(root, e))
	}
	slices.SortStableFunc(out, func(a, b v1alpha1.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return out
}

// load parses the embedded CRD once per process, when a config first needs it.
var load = sync.OnceValues(parse)

// parse reads the config's schema out of the embedded CRD.
func parse() (*spec.Schema, error) {
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema *spec.Schema `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(v1alpha1.CRD, &crd); err != nil {
		return nil, err
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == v1alpha1.Version && v.Schema.OpenAPIV3Schema != nil {
			untypeIntOrString(v.Schema.OpenAPIV3Schema)
			return v.Schema.OpenAPIV3Schema, nil
		}
	}
	return nil, fmt.Errorf("the CRD has no schema for version %s", v1alpha1.Version)
}

// untypeIntOrString drops the integer-or-string type of x-kubernetes-int-or-string
// nodes: the strict decoder, which runs first, already holds each field to its Go
// type, and a quantity such as behavior's tolerance may be a number like 0.05.
func untypeIntOrString(s *spec.Schema) {
	if isIntOrString, _ := s.Extensions.GetBool("x-kubernetes-int-or-string"); isIntOrString {
		s.AnyOf = nil
	}
	for k, p := range s.Properties {
		untypeIntOrString(&p)
		s.Properties[k] = p
	}
	if s.Items != nil && s.Items.Schema != nil {
		untypeIntOrString(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		untypeIntOrString(s.AdditionalProperties.Schema)
	}
}

// dropNulls returns v without null map entries: `strategy:` written with no value
// means the field is missing, as the API server treats it, not a wrongly typed one.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if e != nil {
				out[k] = dropNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = dropNulls(e)
		}
		return out
	default:
		return v
	}
}

// fieldError turns one validator error into a field error in the function's
// words: "<field> (<value>) <what is wrong>; <fix>".
func fieldError(root *spec.Schema, err error) v1alpha1.FieldError {
	e, ok := err.(*errors.Validation)
	if !ok {
		return v1alpha1.FieldError{Message: err.Error()}
	}
	field := strings.TrimPrefix(e.Name, ".") // a required field of the root is ".spec"
	node := lookup(root, field)
	subject := fmt.Sprintf("%s (%s)", field, show(e.Value))
	// why: the field's description, which says what the field is for.
	why := ""
	if s := summary(node); s != "" {
		why = " (" + s + ")"
	}
	var msg string
	switch code := e.Code(); {
	case code == errors.RequiredFailCode:
		return v1alpha1.FieldError{Field: field, Message: fmt.Sprintf("%s is required; add it%s", field, why)}
	case code == errors.EnumFailCode:
		var allowed []string
		for _, v := range e.Values {
			allowed = append(allowed, fmt.Sprint(v))
		}
		msg = fmt.Sprintf("%s is not allowed; use one of: %s", subject, strings.Join(allowed, ", "))
	case code == errors.MinFailCode && node != nil && node.Minimum != nil:
		msg = fmt.Sprintf("%s must be at least %s%s", subject, show(*node.Minimum), why)
		if node.ExclusiveMinimum {
			msg = fmt.Sprintf("%s must be above %s%s", subject, show(*node.Minimum), why)
		}
	case code == errors.MaxFailCode && node != nil && node.Maximum != nil:
		msg = fmt.Sprintf("%s must be at most %s%s", subject, show(*node.Maximum), why)
		if node.ExclusiveMaximum {
			msg = fmt.Sprintf("%s must be below %s%s", subject, show(*node.Maximum), why)
		}
	case code == errors.TooShortFailCode:
		msg = fmt.Sprintf("%s must not be empty; set it%s", subject, why)
	case code == errors.PatternFailCode && node != nil:
		msg = fmt.Sprintf("%s does not match %s", subject, node.Pattern)
	default:
		msg = strings.Replace(e.Error(), " in body", "", 1)
	}
	return v1alpha1.FieldError{Field: field, Value: e.Value, Message: msg}
}

// lookup returns the schema of the field at path, such as
// spec.behavior.scaleUp.policies[0].type; nil if there is none.
func lookup(s *spec.Schema, path string) *spec.Schema {
	for _, part := range strings.Split(path, ".") {
		name, _, _ := strings.Cut(part, "[")
		switch p, ok := s.Properties[name]; {
		case ok:
			s = &p
		case s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil:
			s = s.AdditionalProperties.Schema
		default:
			return nil
		}
		for range strings.Count(part, "[") {
			if s.Items == nil || s.Items.Schema == nil {
				return nil
			}
			s = s.Items.Schema
		}
	}
	return s
}

// sentenceEnd ends a sentence: a period before a capital ("e.g. 4" goes on).
var sentenceEnd = regexp.MustCompile(`\.\s+[A-Z]`)

// summary is the first sentence of a field's description, which says what to
// write there.
func summary(s *spec.Schema) string {
	if s == nil {
		return ""
	}
	d := strings.Join(strings.Fields(s.Description), " ")
	if loc := sentenceEnd.FindStringIndex(d); loc != nil {
		d = d[:loc[0]]
	}
	return strings.TrimSuffix(d, ".")
}

// show writes a value the way the user wrote it: strings quoted, numbers bare.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
