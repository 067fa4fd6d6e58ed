package v1alpha1

import (
	"testing"
	"time"
)

func TestParsePromDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"15s": 15 * time.Second, "1m30s": 90 * time.Second, "2h": 2 * time.Hour, "500ms": 500 * time.Millisecond,
		"1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1y": 365 * 24 * time.Hour, "0": 0,
	} {
		if got, ok := parsePromDuration(in); !ok || got != want {
			t.Errorf("%q: got %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "15", "15 seconds", "1.5s", "30s1m", "-1s", "1s1s", "99999999999999999999y"} {
		if d, ok := parsePromDuration(in); ok {
			t.Errorf("%q parsed as %v, want an error", in, d)
		}
	}
}
