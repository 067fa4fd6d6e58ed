package loadgen

import (
	"slices"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	ten := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"p50 of 1..100ms", Percentile(hundred, 50), 50 * time.Millisecond},
		{"p90 of 1..100ms is rank 90, not 91", Percentile(hundred, 90), 90 * time.Millisecond},
		{"p99 of 1..100ms", Percentile(hundred, 99), 99 * time.Millisecond},
		{"p100 is the largest", Percentile(hundred, 100), 100 * time.Millisecond},
		{"p99.9 of 100 values is the largest", Percentile(hundred, 99.9), 100 * time.Millisecond},
		{"p50 of 1..10 is rank 5", Percentile(ten, 50), 5},
		{"p90 of 1..10 is rank 9", Percentile(ten, 90), 9},
		{"p99 of 1..10 is rank 10 (ceil 9.9)", Percentile(ten, 99), 10},
		{"p51 of 1..10 rounds the rank up to 6", Percentile(ten, 51), 6},
		{"p1 of 1..10 is the smallest", Percentile(ten, 1), 1},
		{"p0 is the smallest, not out of range", Percentile(ten, 0), 1},
		{"p99 of one sample is that sample", Percentile([]int{7}, 99), 7},
		{"p50 of two is the lower (rank 1), never their mean", Percentile([]float64{10, 20}, 50), 10.0},
		{"an empty slice gives zero", Percentile([]time.Duration(nil), 50), time.Duration(0)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// Whatever the sample, at least p% of the values are at or below the p-th
// percentile, and fewer than p% are strictly below it.
func TestPercentileMeetsItsDefinition(t *testing.T) {
	values := []int{5, 1, 9, 9, 3, 7, 7, 7, 2, 8, 6, 4, 10, 10, 1}
	for n := 1; n <= len(values); n++ {
		sorted := slices.Sorted(slices.Values(values[:n]))
		for _, p := range []float64{1, 10, 25, 50, 75, 90, 95, 99, 100} {
			v := Percentile(sorted, p)
			atOrBelow, below := 0, 0
			for _, x := range sorted {
				if x <= v {
					atOrBelow++
				}
				if x < v {
					below++
				}
			}
			if float64(atOrBelow) < p/100*float64(n) || float64(below) >= p/100*float64(n) {
				t.Errorf("p%g of %v = %d: %d of %d at or below, %d below", p, sorted, v, atOrBelow, n, below)
			}
		}
	}
}
