package v1alpha1

import (
	"testing"
	"time"
)

// TestParsePromDuration shows which spec.scrape.interval values are Prometheus
// durations: units largest first, each once, no fractions or signs.
func TestParsePromDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"15s": 15 * time.Second, "1m30s": 90 * time.Second, "2h": 2 * time.Hour, "500ms": 500 * time.Millisecond,
		"1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1y": 365 * 24 * time.Hour, "0": 0,
		"1y2w3d4h5m6s7ms": 365*24*time.Hour + 14*24*time.Hour + 3*24*time.Hour + 4*time.Hour + 5*time.Minute + 6*time.Second + 7*time.Millisecond,
	} {
		if got, ok := parsePromDuration(in); !ok || got != want {
			t.Errorf("%q: got %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "15", "15 seconds", "1.5s", "30s1m", "-1s", "1s1s", "1ms1s", "1sm", "1us",
		"99999999999999999999y", "293y", "9223372036854775808ms"} {
		if d, ok := parsePromDuration(in); ok {
			t.Errorf("%q parsed as %v, want an error", in, d)
		}
	}
}
