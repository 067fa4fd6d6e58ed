package loadgen

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseRamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Schedule
	}{
		{"1:60s,5:120s,1:60s", Schedule{{1, 1, time.Minute}, {5, 5, 2 * time.Minute}, {1, 1, time.Minute}}},
		{"1..10:120s", Schedule{{1, 10, 2 * time.Minute}}},
		{"10..0:1m30s, 0:30s", Schedule{{10, 0, 90 * time.Second}, {0, 0, 30 * time.Second}}},
		{"0.5:2m", Schedule{{0.5, 0.5, 2 * time.Minute}}},
	} {
		got, err := ParseRamp(tc.in)
		if err != nil {
			t.Errorf("ParseRamp(%q): %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseRamp(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseRamp(%q) = %v, want %v", tc.in, got, tc.want)
				break
			}
		}
	}
}

func TestParseRampRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
	}{
		{"", "--ramp is empty"},
		{"5", "stage 1 \"5\": no ':'"},
		{"1:60s,,2:60s", "stage 2"},
		{"5:120", "has no unit; write 120s"},
		{"5:soon", "not a Go duration"},
		{"5:0s", "must be positive"},
		{"5:-10s", "must be positive"},
		{"-1:10s", "negative"},
		{"x:10s", "\"x\" is not a number"},
		{"1..:10s", "\"\" is not a number"},
		{"1..x:10s", "\"x\" is not a number"},
		{"NaN:10s", "not a number"},
		{"1..2..3:10s", "not a number"},
	} {
		_, err := ParseRamp(tc.in)
		if err == nil {
			t.Errorf("ParseRamp(%q) accepted bad input", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseRamp(%q) error %q does not contain %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestScheduleLevelsAndCumulative(t *testing.T) {
	s, err := ParseRamp("2:10s,2..12:10s")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at         time.Duration
		level, sum float64
	}{
		{0, 2, 0},
		{5 * time.Second, 2, 10},
		{10 * time.Second, 2, 20},
		{15 * time.Second, 7, 20 + (2+7)/2.0*5},
		{20 * time.Second, 12, 20 + 70},
		{25 * time.Second, 12, 90 + 60}, // after the ramp the last value holds
	} {
		if got := s.At(tc.at); math.Abs(got-tc.level) > 1e-9 {
			t.Errorf("At(%s) = %g, want %g", tc.at, got, tc.level)
		}
		if got := s.Cumulative(tc.at); math.Abs(got-tc.sum) > 1e-9 {
			t.Errorf("Cumulative(%s) = %g, want %g", tc.at, got, tc.sum)
		}
	}
	if s.Total() != 20*time.Second || s.Max() != 12 {
		t.Errorf("Total %s Max %g, want 20s and 12", s.Total(), s.Max())
	}
}
