package main

import "testing"

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
