package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RampSyntax documents --ramp; the help text and error messages quote it.
const RampSyntax = `comma-separated stages, each VALUE:DURATION (hold VALUE) or
FROM..TO:DURATION (change linearly from FROM to TO), e.g.
  --ramp 1:60s,5:120s,1:60s     1 req/s for a minute, 5 for two, 1 for one
  --ramp 1..10:120s,10:60s      climb from 1 to 10 req/s over two minutes, hold one
Values are requests per second, or workers with --concurrency (rounded).
DURATION takes Go units: 90s, 2m, 1m30s.`

// Stage is one piece of a Schedule: the level moves linearly from From to To over Duration.
type Stage struct {
	From, To float64
	Duration time.Duration
}

// Schedule is the load level over time. After its last stage it holds the last value.
type Schedule []Stage

// Constant is a schedule that holds level forever.
func Constant(level float64) Schedule {
	return Schedule{{From: level, To: level, Duration: time.Second}}
}

// ParseRamp reads the --ramp syntax (see RampSyntax).
func ParseRamp(s string) (Schedule, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--ramp is empty; want %s", rampExample)
	}
	var sched Schedule
	for i, part := range strings.Split(s, ",") {
		stage, err := parseStage(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("--ramp stage %d %q: %w", i+1, part, err)
		}
		sched = append(sched, stage)
	}
	return sched, nil
}

const rampExample = "VALUE:DURATION or FROM..TO:DURATION stages such as 1:60s,5:120s or 1..10:120s"

func parseStage(s string) (Stage, error) {
	level, dur, ok := strings.Cut(s, ":")
	if !ok {
		return Stage{}, fmt.Errorf("no ':' before the duration; want %s", rampExample)
	}
	d, err := parseStageDuration(dur)
	if err != nil {
		return Stage{}, err
	}
	from, to, linear := strings.Cut(level, "..")
	fromV, err := parseLevel(from)
	if err != nil {
		return Stage{}, err
	}
	toV := fromV
	if linear {
		if toV, err = parseLevel(to); err != nil {
			return Stage{}, err
		}
	}
	return Stage{From: fromV, To: toV, Duration: d}, nil
}

func parseLevel(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a number; want %s", s, rampExample)
	}
	if v < 0 {
		return 0, fmt.Errorf("value %g is negative; use 0 for no load", v)
	}
	return v, nil
}

func parseStageDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("duration %q has no unit; write %ss", s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q is not a Go duration such as 90s or 2m", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return d, nil
}

// Total is the length of all stages.
func (s Schedule) Total() time.Duration {
	var t time.Duration
	for _, st := range s {
		t += st.Duration
	}
	return t
}

// Max is the highest level the schedule reaches.
func (s Schedule) Max() float64 {
	m := 0.0
	for _, st := range s {
		m = max(m, st.From, st.To)
	}
	return m
}

// At is the level at elapsed time t.
func (s Schedule) At(t time.Duration) float64 {
	for _, st := range s {
		if t < st.Duration {
			return st.From + (st.To-st.From)*float64(t)/float64(st.Duration)
		}
		t -= st.Duration
	}
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].To
}

// Cumulative is the integral of the level from 0 to t, in level x seconds: with
// rates, the number of requests that should have been sent by t.
func (s Schedule) Cumulative(t time.Duration) float64 {
	sum := 0.0
	for _, st := range s {
		if t <= 0 {
			return sum
		}
		span := min(t, st.Duration)
		end := st.From + (st.To-st.From)*float64(span)/float64(st.Duration)
		sum += (st.From + end) / 2 * span.Seconds()
		t -= span
	}
	if t > 0 && len(s) > 0 {
		sum += s[len(s)-1].To * t.Seconds()
	}
	return sum
}
