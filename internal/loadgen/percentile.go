package loadgen

import (
	"cmp"
	"math"
)

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted, the
// values in increasing order: the smallest value v such that at least p% of
// the values are <= v, i.e. the value at 1-based rank ceil(p/100 x n).
// It is always a value that was measured, never an interpolation between two,
// so "p90 = 120ms" reads as "90% of the requests took 120ms or less". An empty
// slice gives the zero value.
func Percentile[T cmp.Ordered](sorted []T, p float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	// The epsilon keeps float error from moving an exact rank up by one
	// (90% of 100 values is rank 90, not 91).
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	return sorted[max(1, min(rank, len(sorted)))-1]
}
