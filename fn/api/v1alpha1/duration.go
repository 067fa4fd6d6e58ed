package v1alpha1

import (
	"strings"
	"time"
)

// promDurationUnits are the units of Prometheus' duration syntax
// (prometheus/common/model ParseDuration), from years down to milliseconds:
// each may appear at most once, in this order, e.g. 15s, 1m30s, 2h.
var promDurationUnits = []struct {
	name string
	unit time.Duration
}{
	{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour},
	{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond},
}

// parsePromDuration parses a Prometheus duration; ok is false when s is not one
// or overflows.
func parsePromDuration(s string) (d time.Duration, ok bool) {
	if s == "" || s == "0" {
		return 0, s == "0"
	}
	next := 0 // the first unit still allowed
	for s != "" {
		digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
		if digits == 0 {
			return 0, false
		}
		var n time.Duration
		for _, c := range s[:digits] {
			if n > (1<<63-1)/10 {
				return 0, false
			}
			n = n*10 + time.Duration(c-'0')
			if n < 0 {
				return 0, false
			}
		}
		s = s[digits:]
		i := next
		for i < len(promDurationUnits) && !unitAt(s, promDurationUnits[i].name) {
			i++
		}
		if i == len(promDurationUnits) {
			return 0, false
		}
		u := promDurationUnits[i]
		if n > (1<<63-1)/u.unit {
			return 0, false
		}
		if d += n * u.unit; d < 0 {
			return 0, false
		}
		s, next = s[len(u.name):], i+1
	}
	return d, true
}

// unitAt reports whether s starts with the unit name, and not with a longer
// unit that begins with it (m, not ms).
func unitAt(s, name string) bool {
	return strings.HasPrefix(s, name) && !(name == "m" && strings.HasPrefix(s, "ms"))
}
