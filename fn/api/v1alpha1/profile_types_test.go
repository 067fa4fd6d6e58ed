package v1alpha1

import (
	"encoding/json"
	"math"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestDecimalKeepsFourSignificantDigitsInPlainNotation(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want Decimal
	}{
		{3.14159, "3.142"}, {790.123, "790.1"}, {12345.6, "12350"}, {0.112345, "0.1123"},
		{0.0000123456, "0.00001235"}, {0, "0"}, {-2.5, "-2.5"}, {math.NaN(), "0"}, {math.Inf(1), "0"},
	} {
		if got := DecimalOf(tc.in); got != tc.want {
			t.Errorf("DecimalOf(%g) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecimalIsANumberInJSONAndYAML(t *testing.T) {
	type holder struct {
		V Decimal `json:"v"`
	}
	b, err := json.Marshal(holder{V: "3.1"})
	if err != nil || string(b) != `{"v":3.1}` {
		t.Errorf("JSON %s (%v), want {\"v\":3.1}", b, err)
	}
	for _, doc := range []string{"v: 3.1", "v: 31e-1", `{"v": 3.1}`} {
		var h holder
		if err := yaml.UnmarshalStrict([]byte(doc), &h); err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if f, err := h.V.Float64(); err != nil || f != 3.1 {
			t.Errorf("%s read as %q (%g, %v), want 3.1", doc, h.V, f, err)
		}
	}
	for _, bad := range []string{`{"v": true}`, `{"v": "abc"}`, `{"v": [1]}`, `{"v": "NaN"}`, `{"v": 1e999}`} {
		var h holder
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("%s was accepted as %q", bad, h.V)
		}
	}
	if _, err := json.Marshal(holder{V: "not a number"}); err == nil {
		t.Error("a Decimal that holds no number marshalled")
	}
}
