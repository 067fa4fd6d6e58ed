package v1alpha1

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Quantity is a Kubernetes quantity as the user wrote it: a string ("500m") or a
// plain number (4, 0.8). It is kept as text so that a malformed value reaches
// validation, which names the field and the fix, instead of failing the decoder.
//
// Its schema has no type: a structural schema can say "integer or string"
// (x-kubernetes-int-or-string) but not "number or string", and 0.8 must be valid.
// The decoder admits only numbers and strings.
//
// +kubebuilder:validation:Type=""
// +kubebuilder:pruning:PreserveUnknownFields
type Quantity string

// UnmarshalJSON accepts a JSON string or number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*q = Quantity(s)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*q = Quantity(n.String())
		return nil
	default:
		// A type error, which the JSON decoder completes with the field's path.
		got := "bool"
		switch b[0] {
		case '{':
			got = "object"
		case '[':
			got = "array"
		}
		return &json.UnmarshalTypeError{Value: got, Type: reflect.TypeFor[Quantity]()}
	}
}

// MarshalJSON writes the quantity as a string.
func (q Quantity) MarshalJSON() ([]byte, error) { return json.Marshal(string(q)) }
