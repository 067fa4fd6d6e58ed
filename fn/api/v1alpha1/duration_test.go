package v1alpha1

import (
	"regexp"
	"strconv"
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

// promDurationSyntax is Prometheus' duration syntax as a regular expression:
// the oracle FuzzParsePromDuration holds the parser to.
var promDurationSyntax = regexp.MustCompile(`^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$`)

// regexpDuration parses s with promDurationSyntax.
func regexpDuration(s string) (time.Duration, bool) {
	if s == "" || s == "0" {
		return 0, s == "0"
	}
	m := promDurationSyntax.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	var d time.Duration
	for i, u := range promDurationUnits {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64((1<<63-1)/u.unit) {
			return 0, false
		}
		if d += time.Duration(n) * u.unit; d < 0 {
			return 0, false
		}
	}
	return d, true
}

// FuzzParsePromDuration: the parser accepts exactly what the syntax's regular
// expression accepts, with the same value.
func FuzzParsePromDuration(f *testing.F) {
	for _, s := range []string{"15s", "1m30s", "2h", "500ms", "1y2w3d4h5m6s7ms", "0", "", "1ms1s", "1m1m", "1sm",
		"9223372036854775807ms", "9223372036854775808ms", "106751d", "106752d", "292y", "293y", "00s", "1h0m", "m", "1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := parsePromDuration(s)
		want, wantOK := regexpDuration(s)
		if got != want || gotOK != wantOK {
			t.Errorf("%q: got %v, %v; the syntax gives %v, %v", s, got, gotOK, want, wantOK)
		}
	})
}
