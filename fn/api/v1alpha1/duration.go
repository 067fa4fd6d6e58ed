package v1alpha1

import (
	"regexp"
	"strconv"
	"sync"
	"time"
)

// promDuration is Prometheus' duration syntax (prometheus/common/model
// ParseDuration): units from years down to milliseconds, each at most once, in
// that order, e.g. 15s, 1m30s, 2h. Compiled on first use.
var promDuration = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$`)
})

// promDurationUnits are the units of promDuration's groups, in order.
var promDurationUnits = []time.Duration{
	365 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second, time.Millisecond,
}

// parsePromDuration parses a Prometheus duration; ok is false when s is not one
// or overflows.
func parsePromDuration(s string) (d time.Duration, ok bool) {
	if s == "" || s == "0" {
		return 0, s == "0"
	}
	m := promDuration().FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	for i, unit := range promDurationUnits {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64((1<<63-1)/unit) {
			return 0, false
		}
		d += time.Duration(n) * unit
		if d < 0 {
			return 0, false
		}
	}
	return d, true
}
