package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want spread
	}{
		{[]float64{3, 1, 2}, spread{median: 2, min: 1, max: 3}},
		{[]float64{4, 1, 3, 2}, spread{median: 2.5, min: 1, max: 4}},
		{[]float64{7}, spread{median: 7, min: 7, max: 7}},
		{nil, spread{}},
	} {
		if got := summarize(tc.in); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1, 100,10000")
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 100 || got[2] != 10000 {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "-5"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted it", bad)
		}
	}
}

// TestTypedNoopLinksTheFunctionsAPIPackages keeps bench/noop-typed honest: it
// links exactly the Kubernetes API packages vllm-hpa-fn links, so the floor it
// measures moves when the function's imports do.
func TestTypedNoopLinksTheFunctionsAPIPackages(t *testing.T) {
	apiPackages := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		var api []string
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "k8s.io/api/") || strings.HasPrefix(p, "k8s.io/kube-aggregator/") {
				api = append(api, p)
			}
		}
		slices.Sort(api)
		return api
	}
	fn, floor := apiPackages("../../../fn"), apiPackages("../../noop-typed")
	if len(fn) == 0 || !slices.Equal(fn, floor) {
		t.Errorf("vllm-hpa-fn links %q, bench/noop-typed %q; make noop-typed import what the function imports", fn, floor)
	}
}
