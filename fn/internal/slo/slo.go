// Package slo derives an autoscaling target from a latency objective and a
// measured server profile. It is pure: no I/O, same input same output.
//
// The rule: for the metric the autoscaler scales on, v* is the largest per-pod
// gauge value observed at a profile point such that every point whose gauge
// value is at or below it meets the objective at the chosen percentile. The
// target is v* / (1 + t), rounded down to 0.01, where t is the autoscaler's
// scale-up tolerance: the HorizontalPodAutoscaler scales up only once the
// metric exceeds its target by more than t, so with that target it adds pods
// by the time a pod reaches v*, not later.
package slo

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// MinPoints is the fewest points a profile needs: with fewer, it cannot show
// where latency starts to grow with the load.
const MinPoints = 3

// Objective is a latency objective: at the given percentile of requests, the
// time to first token and the time per output token stay within their bounds.
// A zero bound is not part of the objective.
type Objective struct {
	// Percentile is 50, 90 or 99.
	Percentile int32
	// TTFT bounds the time to first token.
	TTFT time.Duration
	// TPOT bounds the time per output token after the first.
	TPOT time.Duration
}

// String writes the objective as "p90 TTFT <= 500ms and TPOT <= 50ms".
func (o Objective) String() string {
	var parts []string
	if o.TTFT > 0 {
		parts = append(parts, "TTFT <= "+o.TTFT.String())
	}
	if o.TPOT > 0 {
		parts = append(parts, "TPOT <= "+o.TPOT.String())
	}
	return fmt.Sprintf("p%d %s", o.Percentile, strings.Join(parts, " and "))
}

// Derivation is a target derived from a profile, and why.
type Derivation struct {
	// Metric is the gauge the target is for.
	Metric string
	// Value is v*, as the profile writes it.
	Value string
	// Target is v* / (1 + Tolerance), rounded down to 0.01, as a quantity.
	Target string
	// Tolerance is the scale-up tolerance the target leaves room for.
	Tolerance string
	// Point is the point v* was observed at.
	Point v1alpha1.ProfilePoint
	// Miss is the first point above v* that misses the objective and what it
	// misses; empty when every point of the profile meets it.
	Miss string
	// AllMeet says that every point meets the objective: the profile does not
	// reach the load where latency breaks it, and v* is the most it measured.
	AllMeet bool
}

// Explain says how the target was derived: which point, which latency bound,
// the tolerance, and (toleranceFrom) where the tolerance comes from.
func (d *Derivation) Explain(o Objective, toleranceFrom string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v* = %s: every point whose %s is at or below %s meets the objective (at concurrency %d: %s)",
		d.Value, d.Metric, d.Value, d.Point.Concurrency, latencies(d.Point, o))
	if d.AllMeet {
		b.WriteString(", and so does every other point: profile higher concurrency to find where latency breaks the objective")
	} else {
		fmt.Fprintf(&b, ", and %s", d.Miss)
	}
	fmt.Fprintf(&b, ". Target = %s / (1 + %s) = %s, rounded down to 0.01; %s is the scale-up tolerance (%s), by which the metric must exceed its target before pods are added",
		d.Value, d.Tolerance, d.Target, d.Tolerance, toleranceFrom)
	return b.String()
}

// Reason says why no target could be derived.
type Reason string

const (
	// FewPoints: the profile has fewer than MinPoints points.
	FewPoints Reason = "few-points"
	// NotMeasured: the profile lacks the gauge, or the latency the objective bounds.
	NotMeasured Reason = "not-measured"
	// Infeasible: no point of the profile meets the objective.
	Infeasible Reason = "infeasible"
	// FlatMetric: the gauge does not rise before the objective is missed, so no
	// target of it tells a pod that meets the objective from one that misses it.
	FlatMetric Reason = "flat-metric"
)

// Error is why no target could be derived. Message says what the profile shows
// and what to do.
type Error struct {
	Reason  Reason
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(reason Reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// DefaultTolerance is the HorizontalPodAutoscaler's tolerance when the object
// sets none: kube-controller-manager's --horizontal-pod-autoscaler-tolerance,
// 0.1 (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale,
// "Algorithm details").
var DefaultTolerance = resource.MustParse("0.1")

// Derive returns the target of metric that keeps every pod within the
// objective, by the rule in the package comment, with tolerance the
// autoscaler's scale-up tolerance.
func Derive(metric string, o Objective, p *v1alpha1.VLLMServerProfileSpec, tolerance resource.Quantity) (*Derivation, error) {
	d, err := derive(metric, o, p, tolerance)
	if e, ok := err.(*Error); ok && e.Reason == FlatMetric {
		pts, _ := read(metric, o, p)
		return nil, flat(metric, o, p, pts, tolerance)
	}
	return d, err
}

// derive is Derive without the advice of a FlatMetric error, whose message
// here is only a placeholder.
func derive(metric string, o Objective, p *v1alpha1.VLLMServerProfileSpec, tolerance resource.Quantity) (*Derivation, error) {
	if len(p.Points) < MinPoints {
		return nil, fail(FewPoints, "the profile has %d point%s, and a target needs at least %d to show where latency grows with the load; profile more concurrency levels, e.g. vllm-loadgen profile --concurrency 1,2,4,8,16,32,64",
			len(p.Points), plural(len(p.Points)), MinPoints)
	}
	pts, err := read(metric, o, p)
	if err != nil {
		return nil, err
	}
	star, ok := highestSafe(pts)
	if !ok {
		if !slices.ContainsFunc(pts, func(q point) bool { return q.miss == "" }) {
			return nil, fail(Infeasible, "no point of the profile meets %s: %s; relax the objective, or measure a faster server (another accelerator, a smaller model, shorter prompts or answers)",
				o, best(pts, o))
		}
		return nil, fail(FlatMetric, "%s does not rise before the objective is missed", metric)
	}
	t := rat(tolerance.AsDec().String())
	target := new(big.Rat).Quo(star.value, new(big.Rat).Add(big.NewRat(1, 1), t))
	hundredths := new(big.Int).Quo(new(big.Int).Mul(target.Num(), big.NewInt(100)), target.Denom())
	if hundredths.Sign() <= 0 {
		return nil, fail(FlatMetric, "%s does not rise before the objective is missed", metric)
	}
	d := &Derivation{
		Metric: metric, Value: star.raw, Tolerance: ratString(t),
		Target: ratString(new(big.Rat).SetFrac(hundredths, big.NewInt(100))),
		Point:  star.ProfilePoint,
	}
	if m, ok := firstMissAbove(pts, star.value); ok {
		d.Miss = fmt.Sprintf("at concurrency %d (%s %s) %s", m.Concurrency, metric, m.raw, m.miss)
	} else {
		d.AllMeet = true
	}
	return d, nil
}

// point is a profile point with its gauge value and what it misses of the
// objective ("" when it meets it).
type point struct {
	v1alpha1.ProfilePoint
	raw   string
	value *big.Rat
	miss  string
}

// read pairs each point with its value of metric and its verdict.
func read(metric string, o Objective, p *v1alpha1.VLLMServerProfileSpec) ([]point, error) {
	var pts []point
	var missing []string
	for _, pp := range p.Points {
		raw, ok := pp.Gauges[metric]
		if !ok {
			missing = append(missing, fmt.Sprint(pp.Concurrency))
			continue
		}
		v := rat(string(raw))
		if v == nil {
			return nil, fail(NotMeasured, "the profile's %s at concurrency %d (%q) is not a number; profile the server again", metric, pp.Concurrency, raw)
		}
		pts = append(pts, point{ProfilePoint: pp, raw: string(raw), value: v, miss: misses(pp, o)})
	}
	switch {
	case len(pts) == 0:
		return nil, fail(NotMeasured, "the profile has no values of %s (it measured %s); scale on one of those, or profile again with vllm-loadgen profile --gauge %s",
			metric, orNone(gaugeNames(p)), metric)
	case len(missing) > 0:
		return nil, fail(NotMeasured, "the profile has no value of %s at concurrency %s; profile the server again so that every point has it", metric, strings.Join(missing, ", "))
	}
	for _, b := range []struct {
		name  string
		bound time.Duration
		of    func(v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles
	}{{"TTFT", o.TTFT, ttft}, {"TPOT", o.TPOT, tpot}} {
		if b.bound > 0 && !slices.ContainsFunc(p.Points, func(pp v1alpha1.ProfilePoint) bool { return b.of(pp) != nil }) {
			why := "no request completed"
			if b.name == "TPOT" && p.Workload.MaxTokens < 2 {
				why = fmt.Sprintf("its requests ask for %d output token, so there is no time between tokens", p.Workload.MaxTokens)
			}
			return nil, fail(NotMeasured, "the profile has no %s at any point (%s); remove the %s bound, or profile with answers of 2 tokens or more", b.name, why, b.name)
		}
	}
	return pts, nil
}

// misses says what a point misses of the objective, "" when it meets it. A
// point where more requests failed than the percentile leaves out misses it: a
// failed request has no latency within any bound.
func misses(pp v1alpha1.ProfilePoint, o Objective) string {
	if pp.TTFT == nil {
		return "no request completed" // TTFT is absent exactly then
	}
	if total := pp.Requests + pp.Errors; pp.Errors > 0 && pp.Errors*100 > total*int64(100-o.Percentile) {
		return fmt.Sprintf("%d of %d requests failed, more than the %d%% that p%d leaves out", pp.Errors, total, 100-o.Percentile, o.Percentile)
	}
	var out []string
	for _, b := range []struct {
		name  string
		bound time.Duration
		l     *v1alpha1.LatencyPercentiles
	}{{"TTFT", o.TTFT, pp.TTFT}, {"TPOT", o.TPOT, pp.TPOT}} {
		switch {
		case b.bound <= 0:
		case b.l == nil:
			out = append(out, fmt.Sprintf("%s was not measured", b.name))
		case at(b.l, o.Percentile) > b.bound:
			out = append(out, fmt.Sprintf("p%d %s %s > %s", o.Percentile, b.name, at(b.l, o.Percentile), b.bound))
		}
	}
	return strings.Join(out, " and ")
}

// highestSafe returns the point of v*: the highest value such that every point
// at or below it meets the objective. Points that share a value stand or fall
// together.
func highestSafe(pts []point) (point, bool) {
	var lowestMiss *big.Rat
	for _, q := range pts {
		if q.miss != "" && (lowestMiss == nil || q.value.Cmp(lowestMiss) < 0) {
			lowestMiss = q.value
		}
	}
	var star point
	found := false
	for _, q := range pts {
		if q.miss != "" || (lowestMiss != nil && q.value.Cmp(lowestMiss) >= 0) {
			continue
		}
		// Among points of the highest value, the one of lowest concurrency, so
		// the choice does not depend on the order of the points.
		if !found || q.value.Cmp(star.value) > 0 || (q.value.Cmp(star.value) == 0 && q.Concurrency < star.Concurrency) {
			star, found = q, true
		}
	}
	return star, found
}

// firstMissAbove returns the missing point of lowest value above v (of lowest
// concurrency among equals).
func firstMissAbove(pts []point, v *big.Rat) (point, bool) {
	var m point
	found := false
	for _, q := range pts {
		if q.miss == "" || q.value.Cmp(v) <= 0 {
			continue
		}
		if !found || q.value.Cmp(m.value) < 0 || (q.value.Cmp(m.value) == 0 && q.Concurrency < m.Concurrency) {
			m, found = q, true
		}
	}
	return m, found
}

// flat explains why metric gives no target, and which of the profile's other
// gauges would.
func flat(metric string, o Objective, p *v1alpha1.VLLMServerProfileSpec, pts []point, tolerance resource.Quantity) *Error {
	var what string
	star, found := highestSafe(pts)
	switch {
	case found && star.value.Sign() > 0:
		what = fmt.Sprintf("it rises only to %s (concurrency %d) before the objective is missed, too little for a target of 0.01 once the %s scale-up tolerance is taken off",
			star.raw, star.Concurrency, ratString(rat(tolerance.AsDec().String())))
	case found:
		if m, missed := firstMissAbove(pts, star.value); missed {
			what = fmt.Sprintf("it stays at %s up to concurrency %d and first rises at concurrency %d (%s), which misses it (%s)",
				star.raw, highestConcurrencyAt(pts, star.value), m.Concurrency, m.raw, m.miss)
		} else {
			what = fmt.Sprintf("it stays at %s at every point of the profile", star.raw)
		}
	default:
		low := lowest(pts)
		if slices.ContainsFunc(pts, func(q point) bool { return q.miss == "" && q.value.Cmp(low.value) == 0 }) {
			what = fmt.Sprintf("it is %s both at points that meet the objective and at concurrency %d, which misses it (%s), so no value of it tells them apart",
				low.raw, low.Concurrency, low.miss)
		} else {
			what = fmt.Sprintf("its lowest value, %s, is at concurrency %d, which already misses it (%s)", low.raw, low.Concurrency, low.miss)
		}
	}
	var others []string
	for _, name := range gaugeNames(p) {
		if name == metric {
			continue
		}
		if d, err := derive(name, o, p, tolerance); err == nil {
			others = append(others, fmt.Sprintf("%s (target %s)", name, d.Target))
		}
	}
	fix := "scale on a gauge that grows with the load, such as " + v1alpha1.DefaultVLLMMetric + " or vllm:kv_cache_usage_perc"
	if len(others) > 0 {
		fix = "scale on " + strings.Join(others, " or ") + ", which the profile shows rising before the objective is missed"
	}
	return fail(FlatMetric, "%s does not rise before %s is missed: %s; %s", metric, o, what, fix)
}

// lowest returns the point of lowest value; among equals, one that misses the
// objective, then the one of lowest concurrency.
func lowest(pts []point) point {
	low := pts[0]
	for _, q := range pts[1:] {
		switch c := q.value.Cmp(low.value); {
		case c < 0:
			low = q
		case c > 0:
		case (q.miss != "") != (low.miss != ""):
			if q.miss != "" {
				low = q
			}
		case q.Concurrency < low.Concurrency:
			low = q
		}
	}
	return low
}

// highestConcurrencyAt is the highest concurrency of the points of value v.
func highestConcurrencyAt(pts []point, v *big.Rat) int32 {
	var c int32
	for _, q := range pts {
		if q.value.Cmp(v) == 0 {
			c = max(c, q.Concurrency)
		}
	}
	return c
}

// best says the lowest latency the profile measured for each bound of the
// objective, and where.
func best(pts []point, o Objective) string {
	var parts []string
	for _, b := range []struct {
		name  string
		bound time.Duration
		of    func(v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles
	}{{"TTFT", o.TTFT, ttft}, {"TPOT", o.TPOT, tpot}} {
		if b.bound <= 0 {
			continue
		}
		var lowest time.Duration
		var where int32
		for _, q := range pts {
			if l := b.of(q.ProfilePoint); l != nil && (where == 0 || at(l, o.Percentile) < lowest) {
				lowest, where = at(l, o.Percentile), q.Concurrency
			}
		}
		if where == 0 {
			parts = append(parts, fmt.Sprintf("no %s was measured", b.name))
			continue
		}
		parts = append(parts, fmt.Sprintf("the best p%d %s measured is %s (concurrency %d)", o.Percentile, b.name, lowest, where))
	}
	return strings.Join(parts, " and ")
}

// latencies writes a point's latencies against the objective's bounds.
func latencies(pp v1alpha1.ProfilePoint, o Objective) string {
	var parts []string
	if o.TTFT > 0 {
		parts = append(parts, fmt.Sprintf("p%d TTFT %s", o.Percentile, at(pp.TTFT, o.Percentile)))
	}
	if o.TPOT > 0 {
		parts = append(parts, fmt.Sprintf("p%d TPOT %s", o.Percentile, at(pp.TPOT, o.Percentile)))
	}
	return strings.Join(parts, ", ")
}

// at is the latency at percentile n (50, 90 or 99).
func at(l *v1alpha1.LatencyPercentiles, n int32) time.Duration {
	if l == nil {
		return 0
	}
	switch n {
	case 50:
		return l.P50.Duration
	case 99:
		return l.P99.Duration
	default:
		return l.P90.Duration
	}
}

func ttft(pp v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles { return pp.TTFT }
func tpot(pp v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles { return pp.TPOT }

// gaugeNames lists the gauges the profile measured, sorted.
func gaugeNames(p *v1alpha1.VLLMServerProfileSpec) []string {
	names := map[string]bool{}
	for _, pp := range p.Points {
		for name := range pp.Gauges {
			names[name] = true
		}
	}
	return slices.Sorted(maps.Keys(names))
}

// rat reads a decimal number exactly; nil when s is not one.
func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	return r
}

// ratString writes r in plain decimal notation, without trailing zeros.
func ratString(r *big.Rat) string {
	s := r.FloatString(12)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no gauge"
	}
	return strings.Join(names, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
