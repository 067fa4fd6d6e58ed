package slo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

const (
	running = "vllm:num_requests_running"
	waiting = "vllm:num_requests_waiting"
	kv      = "vllm:kv_cache_usage_perc"
)

// row is one profile point: concurrency, p90 TTFT and TPOT in ms, and the
// gauges running, waiting and kv-cache usage.
type row struct {
	c                int32
	ttft, tpot       float64
	run, wait, cache string
}

func profile(rows ...row) *v1alpha1.VLLMServerProfileSpec {
	p := &v1alpha1.VLLMServerProfileSpec{Model: "google/gemma-3-1b-it", Workload: v1alpha1.ProfileWorkload{PromptTokens: 512, MaxTokens: 256}}
	ms := func(f float64) metav1.Duration {
		return metav1.Duration{Duration: time.Duration(f * float64(time.Millisecond))}
	}
	for _, r := range rows {
		p.Points = append(p.Points, v1alpha1.ProfilePoint{
			Concurrency: r.c, Requests: 100,
			// p50 and p99 differ from p90, so a test sees which one is read.
			TTFT:   &v1alpha1.LatencyPercentiles{P50: ms(r.ttft / 2), P90: ms(r.ttft), P99: ms(r.ttft * 2)},
			TPOT:   &v1alpha1.LatencyPercentiles{P50: ms(r.tpot / 2), P90: ms(r.tpot), P99: ms(r.tpot * 2)},
			Gauges: map[string]v1alpha1.Decimal{running: v1alpha1.Decimal(r.run), waiting: v1alpha1.Decimal(r.wait), kv: v1alpha1.Decimal(r.cache)},
		})
	}
	return p
}

// gemma is the shape of examples/profiles/gemma-3-1b-l4.yaml: TPOT grows with
// the batch, nothing waits, the KV cache is barely used.
func gemma() *v1alpha1.VLLMServerProfileSpec {
	return profile(
		row{1, 46, 10.2, "1", "0", "0.0009"},
		row{2, 47, 10.5, "2", "0", "0.0019"},
		row{4, 49, 11.1, "4", "0", "0.0038"},
		row{8, 52, 12.3, "8", "0", "0.0076"},
		row{16, 57, 14.6, "16", "0", "0.0151"},
		row{32, 67, 19.4, "32", "0", "0.0303"},
		row{64, 84, 28.9, "64", "0", "0.0605"},
	)
}

var defaultTolerance = resource.MustParse("0.1")

func p90(ttft, tpot time.Duration) Objective {
	return Objective{Percentile: 90, TTFT: ttft, TPOT: tpot}
}

func derived(t *testing.T, metric string, o Objective, p *v1alpha1.VLLMServerProfileSpec, tol resource.Quantity) *Derivation {
	t.Helper()
	d, err := Derive(metric, o, p, tol)
	if err != nil {
		t.Fatalf("Derive(%s, %s): %v", metric, o, err)
	}
	return d
}

func TestMonotoneLatencyStopsBelowTheFirstPointThatMisses(t *testing.T) {
	d := derived(t, running, p90(500*time.Millisecond, 15*time.Millisecond), gemma(), defaultTolerance)
	if d.Value != "16" || d.Target != "14.54" || d.Point.Concurrency != 16 || d.AllMeet {
		t.Errorf("v* %s target %s at concurrency %d (all meet %v), want v* 16, target 14.54 (16/1.1 rounded down) at 16", d.Value, d.Target, d.Point.Concurrency, d.AllMeet)
	}
	want := "v* = 16: every point whose vllm:num_requests_running is at or below 16 meets the objective " +
		"(at concurrency 16: p90 TTFT 57ms, p90 TPOT 14.6ms), and at concurrency 32 (vllm:num_requests_running 32) p90 TPOT 19.4ms > 15ms. " +
		"Target = 16 / (1 + 0.1) = 14.54, rounded down to 0.01; 0.1 is the scale-up tolerance (the default), by which the metric must exceed its target before pods are added"
	if got := d.Explain(p90(500*time.Millisecond, 15*time.Millisecond), "the default"); got != want {
		t.Errorf("explanation:\n got %s\nwant %s", got, want)
	}
}

func TestPercentileChoosesTheColumn(t *testing.T) {
	// TPOT at p50 is half of p90, at p99 twice: a 25ms bound holds up to 64
	// running requests at p50 (28.9/2), 32 at p90 (19.4), 8 at p99 (12.3*2).
	for _, tc := range []struct {
		percentile int32
		want       string
	}{{50, "64"}, {90, "32"}, {99, "8"}} {
		d := derived(t, running, Objective{Percentile: tc.percentile, TPOT: 25 * time.Millisecond}, gemma(), defaultTolerance)
		if d.Value != tc.want {
			t.Errorf("p%d: v* %s, want %s", tc.percentile, d.Value, tc.want)
		}
	}
}

func TestNonMonotoneLatencyStopsBelowTheFirstMiss(t *testing.T) {
	// A spike at concurrency 8 (a noisy step): 16 meets again, but a pod at 8
	// missed, so v* is 4, not 16.
	p := gemma()
	p.Points[3].TPOT.P90 = metav1.Duration{Duration: 40 * time.Millisecond}
	d := derived(t, running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	if d.Value != "4" || d.Target != "3.63" {
		t.Errorf("v* %s target %s, want 4 and 3.63", d.Value, d.Target)
	}
	if !strings.Contains(d.Miss, "concurrency 8") {
		t.Errorf("the explanation does not name the point that missed: %s", d.Miss)
	}
}

func TestOrderOfPointsDoesNotMatter(t *testing.T) {
	p := gemma()
	want := derived(t, running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	slices.Reverse(p.Points)
	got := derived(t, running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	if got.Value != want.Value || got.Target != want.Target || got.Miss != want.Miss {
		t.Errorf("reversed points: %+v, in order: %+v", got, want)
	}
}

func TestInfeasibleSaysTheBestLatencyMeasured(t *testing.T) {
	_, err := Derive(running, p90(40*time.Millisecond, 5*time.Millisecond), gemma(), defaultTolerance)
	want := "no point of the profile meets p90 TTFT <= 40ms and TPOT <= 5ms: the best p90 TTFT measured is 46ms (concurrency 1) and the best p90 TPOT measured is 10.2ms (concurrency 1); " +
		"relax the objective, or measure a faster server (another accelerator, a smaller model, shorter prompts or answers)"
	checkError(t, err, Infeasible, want)
}

func TestFlatMetricSaysSoAndSuggestsGaugesThatRise(t *testing.T) {
	// Nothing waits at any point, including the ones that miss.
	_, err := Derive(waiting, p90(0, 15*time.Millisecond), gemma(), defaultTolerance)
	want := "vllm:num_requests_waiting does not rise before p90 TPOT <= 15ms is missed: it is 0 both at points that meet the objective and at concurrency 32, which misses it (p90 TPOT 19.4ms > 15ms), " +
		"so no value of it tells them apart; scale on vllm:kv_cache_usage_perc (target 0.01) or vllm:num_requests_running (target 14.54), which the profile shows rising before the objective is missed"
	checkError(t, err, FlatMetric, want)

	// The queue grows only once the objective is already missed.
	p := gemma()
	p.Points[5].Gauges[waiting] = "3"
	p.Points[6].Gauges[waiting] = "30"
	_, err = Derive(waiting, p90(0, 15*time.Millisecond), p, defaultTolerance)
	checkError(t, err, FlatMetric, "it stays at 0 up to concurrency 16 and first rises at concurrency 32 (3), which misses it (p90 TPOT 19.4ms > 15ms)")
}

func TestTooSmallARiseIsAFlatMetric(t *testing.T) {
	// kv-cache usage reaches 0.0038 at the last point that meets p90 TPOT
	// <= 11.5ms: 0.0038/1.1 rounds down to 0.
	_, err := Derive(kv, p90(0, 11500*time.Microsecond), gemma(), defaultTolerance)
	checkError(t, err, FlatMetric, "it rises only to 0.0038 (concurrency 4) before the objective is missed, too little for a target of 0.01 once the 0.1 scale-up tolerance is taken off")
}

func TestToleranceDividesVStar(t *testing.T) {
	for _, tc := range []struct {
		tolerance, want string
	}{{"0", "16"}, {"0.1", "14.54"}, {"0.25", "12.8"}, {"50m", "15.23"}, {"1", "8"}} {
		d := derived(t, running, p90(0, 15*time.Millisecond), gemma(), resource.MustParse(tc.tolerance))
		if d.Target != tc.want {
			t.Errorf("tolerance %s: target %s, want %s", tc.tolerance, d.Target, tc.want)
		}
	}
}

func TestTiesStandOrFallTogether(t *testing.T) {
	// Two steps at concurrency 8 and 9 both averaged 8 running requests (the
	// server could not keep 9 busy); the one at 9 missed, so 8 is not safe.
	p := gemma()
	tie := p.Points[3]
	tie.Concurrency = 9
	tie.TPOT = &v1alpha1.LatencyPercentiles{P50: tie.TPOT.P50, P90: metav1.Duration{Duration: 16 * time.Millisecond}, P99: tie.TPOT.P99}
	p.Points = append(p.Points, tie)
	d := derived(t, running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	if d.Value != "4" {
		t.Errorf("v* %s, want 4: a point at 8 missed", d.Value)
	}
	// Both at 8 meeting: the explanation names the lower concurrency.
	p.Points[len(p.Points)-1].TPOT.P90 = metav1.Duration{Duration: 12 * time.Millisecond}
	d = derived(t, running, p90(0, 13*time.Millisecond), p, defaultTolerance)
	if d.Value != "8" || d.Point.Concurrency != 8 {
		t.Errorf("v* %s at concurrency %d, want 8 at 8", d.Value, d.Point.Concurrency)
	}
}

func TestRoundingIsDownToHundredthsAndExact(t *testing.T) {
	for _, tc := range []struct {
		value, tolerance, want string
	}{
		{"1.1", "0.1", "1"}, // 1.1/1.1 is exactly 1, not 0.99 as float64 division gives
		{"3.3", "0.1", "3"},
		{"0.0303", "0.1", "0.02"},
		{"0.0605", "0.1", "0.05"},
		{"2.2", "0.1", "2"},
		{"14.999", "0", "14.99"},
	} {
		p := profile(row{1, 10, 10, "0.001", "0", "0"}, row{2, 10, 10, tc.value, "0", "0"}, row{4, 10, 99, "99", "0", "0"})
		d := derived(t, running, p90(0, 15*time.Millisecond), p, resource.MustParse(tc.tolerance))
		if d.Target != tc.want {
			t.Errorf("%s / (1 + %s): target %s, want %s", tc.value, tc.tolerance, d.Target, tc.want)
		}
	}
}

func TestEveryPointMeetingTakesTheMostMeasured(t *testing.T) {
	d := derived(t, running, p90(time.Second, 100*time.Millisecond), gemma(), defaultTolerance)
	if d.Value != "64" || !d.AllMeet || d.Target != "58.18" {
		t.Errorf("v* %s target %s all meet %v, want 64, 58.18, true", d.Value, d.Target, d.AllMeet)
	}
	if !strings.Contains(d.Explain(p90(time.Second, 100*time.Millisecond), ""), "and so does every other point: profile higher concurrency") {
		t.Error("the explanation does not say the profile stops short of the objective")
	}
}

func TestFewPoints(t *testing.T) {
	p := gemma()
	p.Points = p.Points[:2]
	_, err := Derive(running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	checkError(t, err, FewPoints, "the profile has 2 points, and a target needs at least 3")
}

func TestFailedRequestsMissTheObjective(t *testing.T) {
	// 12 of 112 requests failed at concurrency 8: more than the 10% p90 leaves out.
	p := gemma()
	p.Points[3].Errors = 12
	p.Points[3].Requests = 100
	d := derived(t, running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	if d.Value != "4" || !strings.Contains(d.Miss, "12 of 112 requests failed") {
		t.Errorf("v* %s (%s), want 4 because of the failures", d.Value, d.Miss)
	}
	// 10 of 110 is within it.
	p.Points[3].Errors = 10
	if d := derived(t, running, p90(0, 15*time.Millisecond), p, defaultTolerance); d.Value != "16" {
		t.Errorf("v* %s, want 16", d.Value)
	}
}

func TestNotMeasured(t *testing.T) {
	_, err := Derive("vllm:num_preemptions", p90(0, 15*time.Millisecond), gemma(), defaultTolerance)
	checkError(t, err, NotMeasured, "the profile has no values of vllm:num_preemptions (it measured vllm:kv_cache_usage_perc, vllm:num_requests_running, vllm:num_requests_waiting)")

	p := gemma()
	delete(p.Points[2].Gauges, running)
	_, err = Derive(running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	checkError(t, err, NotMeasured, "no value of vllm:num_requests_running at concurrency 4")

	p = gemma()
	p.Workload.MaxTokens = 1
	for i := range p.Points {
		p.Points[i].TPOT = nil
	}
	_, err = Derive(running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	checkError(t, err, NotMeasured, "the profile has no TPOT at any point (its requests ask for 1 output token")

	p = gemma()
	p.Points[0].TTFT, p.Points[0].TPOT = nil, nil // nothing completed at concurrency 1
	_, err = Derive(running, p90(0, 15*time.Millisecond), p, defaultTolerance)
	checkError(t, err, FlatMetric, "its lowest value, 1, is at concurrency 1, which already misses it (no request completed)")
}

func checkError(t *testing.T, err error, reason Reason, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want a %s error", err, reason)
	}
	if e.Reason != reason || !strings.Contains(e.Message, want) {
		t.Errorf("%s error:\n got %s\nwant %s (in a %s error)", e.Reason, e.Message, want, reason)
	}
}

func ExampleDerive() {
	d, _ := Derive(running, p90(500*time.Millisecond, 15*time.Millisecond), gemma(), resource.MustParse("0.1"))
	fmt.Println(d.Value, d.Target)
	// Output: 16 14.54
}
