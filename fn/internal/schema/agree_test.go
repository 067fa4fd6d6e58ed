package schema

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
)

// full is a valid config that sets every field of the schema, so that every
// constraint can be broken from it.
const full = `{
	"apiVersion": "vllmhpa.dev/v1alpha1", "kind": "VLLMHPAConfig", "metadata": {"name": "gemma"},
	"spec": {
		"strategy": "vllm", "backend": "adapter", "minReplicas": 1, "maxReplicas": 5, "clusterResources": true,
		"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm-gemma"},
		"podSelector": {"app": "vllm-gemma"},
		"metric": {"name": "vllm:num_requests_running", "targetAverageValue": 4, "labels": {"model_name": "gemma"}},
		"metrics": [{"name": "vllm:kv_cache_usage_perc", "targetAverageValue": 0.8, "labels": {"model_name": "gemma"},
			"slo": {"percentile": 99, "ttft": "1s", "tpot": "40ms", "profileRef": "gemma-l4", "profile": ` + profile + `}}],
		"slo": {"percentile": 90, "ttft": "500ms", "tpot": "50ms", "profileRef": "gemma-l4", "profile": ` + profile + `},
		"scrape": {"port": 8000, "path": "/metrics", "interval": "15s", "monitoring": true},
		"adapter": {"image": "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.10-gke.0", "hardening": true, "externalMetrics": false, "gcpServiceAccount": "a@b.iam.gserviceaccount.com",
			"workloadIdentity": {"projectID": "my-project", "projectNumber": "123456789012", "namespace": "my-project"}},
		"gpu": {"source": "own"},
		"behavior": {
			"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "tolerance": "50m",
				"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]},
			"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min", "tolerance": "100m",
				"policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}
		}
	}
}`

// profile is a VLLMServerProfile's spec that sets every field.
const profile = `{"model": "google/gemma-3-1b-it", "accelerator": "nvidia-l4", "workload": {"promptTokens": 512, "maxTokens": 256},
	"points": [{"concurrency": 4, "requests": 180, "errors": 0, "requestsPerSecond": 3.1, "outputTokensPerSecond": 790,
		"ttft": {"p50": "80ms", "p90": "120ms", "p99": "190ms"}, "tpot": {"p50": "14ms", "p90": "17ms", "p99": "25ms"},
		"gauges": {"vllm:num_requests_running": 3.9}}]}`

// node is one place in full and the schema that governs it.
type node struct {
	path   []string // map keys, and list indexes as digits
	schema *Schema
}

// nodes lists every place in v governed by s, depth first.
func nodes(path []string, s *Schema, v any) []node {
	out := []node{{path, s}}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := s.Properties[k]
			if p == nil {
				p = s.AdditionalProperties
			}
			if p != nil {
				out = append(out, nodes(append(slices.Clip(path), k), p, v[k])...)
			}
		}
	case []any:
		for i, e := range v {
			out = append(out, nodes(append(slices.Clip(path), strconv.Itoa(i)), s.Items, e)...)
		}
	}
	return out
}

// edit returns a deep copy of obj with the value at path replaced by v, or
// removed when remove is set.
func edit(t testing.TB, obj map[string]any, path []string, v any, remove bool) map[string]any {
	t.Helper()
	var c map[string]any
	b, _ := json.Marshal(obj)
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var parent any = c
	for _, p := range path[:len(path)-1] {
		switch x := parent.(type) {
		case map[string]any:
			parent = x[p]
		case []any:
			i, _ := strconv.Atoi(p)
			parent = x[i]
		}
	}
	last := path[len(path)-1]
	switch x := parent.(type) {
	case map[string]any:
		if remove {
			delete(x, last)
		} else {
			x[last] = v
		}
	case []any:
		i, _ := strconv.Atoi(last)
		x[i] = v
	}
	return c
}

// breakages are the values that break, or test the edge of, each constraint of
// s, each with a name for the test case.
func breakages(s *Schema) map[string]any {
	out := map[string]any{"a string": "x", "an integer": 3.0, "a fraction": 0.5, "a boolean": true, "a list": []any{}, "a mapping": map[string]any{}}
	if s.Minimum != nil {
		out["below the minimum"] = *s.Minimum - 1
		out["the minimum"] = *s.Minimum
	}
	if s.MinLength != nil {
		out["too short"] = strings.Repeat("a", int(*s.MinLength)-1)
	}
	if len(s.Enum) > 0 {
		out["not in the enum"] = "none-of-these"
	}
	if s.Pattern != "" {
		out["not the pattern"] = "4 requests"
		out["the pattern"] = "500m"
	}
	return out
}

// TestAgreesWithAPIServer breaks every field of a full config, one way after
// another, and requires the fields this package finds wrong to be the fields the
// API server's own validator (apiextensions-apiserver, over the same CRD)
// finds wrong. The one difference is intended: a number with a fraction in an
// x-kubernetes-int-or-string field (tolerance: 0.05), which the API server
// refuses and the function accepts, its strict decoder having read the field as
// a quantity.
func TestAgreesWithAPIServer(t *testing.T) {
	validator, _, err := schemavalidation.NewSchemaValidator(crd(t).Spec.Validation.OpenAPIV3Schema)
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]any
	if err := json.Unmarshal([]byte(full), &base); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, obj map[string]any) {
		t.Helper()
		var want []string
		restated := false
		for _, e := range schemavalidation.ValidateCustomResource(nil, obj, validator) {
			// The validator restates a type or anyOf error without its path
			// ("Checked value must be of type integer ... in spec.minReplicas").
			if e.Field == "" || e.Field == "<nil>" {
				restated = true
				continue
			}
			want = append(want, e.Field)
		}
		if restated && len(want) == 0 {
			t.Fatal("the API server's validator found an error without a field and no field error")
		}
		var got []string
		for _, e := range Validate(obj) {
			got = append(got, e.Field)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
			b, _ := json.Marshal(obj["spec"])
			t.Errorf("fields found wrong: got %q, the API server %q\nspec: %s", got, want, b)
		}
	}
	t.Run("full", func(t *testing.T) { check(t, base) })
	all := nodes(nil, configSchema, base)
	covered := map[*Schema]bool{}
	cases := 0
	for _, n := range all[1:] {
		covered[n.schema] = true
		field := strings.Join(n.path, ".")
		for name, v := range breakages(n.schema) {
			if intendedDifference(n.schema, v) {
				continue
			}
			cases++
			t.Run(field+"/"+name, func(t *testing.T) { check(t, edit(t, base, n.path, v, false)) })
		}
		if _, isIndex := strconv.Atoi(n.path[len(n.path)-1]); isIndex != nil {
			cases++
			t.Run(field+"/removed", func(t *testing.T) { check(t, edit(t, base, n.path, nil, true)) })
		}
	}
	// Several fields broken at once, chosen by a fixed seed.
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		obj := base
		for range 1 + r.IntN(4) {
			n := all[1+r.IntN(len(all)-1)]
			b := breakages(n.schema)
			v := b[slices.Sorted(maps.Keys(b))[r.IntN(len(b))]]
			if intendedDifference(n.schema, v) {
				continue
			}
			if paths(obj)[strings.Join(n.path, ".")] {
				obj = edit(t, obj, n.path, v, false)
			}
		}
		cases++
		t.Run("combined/"+strconv.Itoa(i), func(t *testing.T) { check(t, obj) })
	}
	// Every node of the schema is reached from full: a field added to the CRD
	// and not to full fails here.
	var walk func(path string, s *Schema)
	walk = func(path string, s *Schema) {
		if !covered[s] && path != "" && !strings.HasPrefix(path, "metadata.") {
			t.Errorf("full does not set %s; add it", path)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			walk(join(path, k), s.Properties[k])
		}
		if s.Items != nil {
			walk(path+"[]", s.Items)
		}
		if s.AdditionalProperties != nil {
			walk(path+".*", s.AdditionalProperties)
		}
	}
	walk("", configSchema)
	t.Logf("%d cases", cases)
}

// intendedDifference is the one value the function admits and the API server
// refuses: a number with a fraction in an int-or-string field.
func intendedDifference(s *Schema, v any) bool {
	return s.IntOrString && jsonType(v) == "number"
}

// paths is the set of dotted paths present in v, list indexes as digits.
func paths(v any) map[string]bool {
	out := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		out[prefix] = true
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(join(prefix, k), e)
			}
		case []any:
			for i, e := range v {
				walk(join(prefix, strconv.Itoa(i)), e)
			}
		}
	}
	walk("", v)
	return out
}

// join appends a field name to a dotted path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
