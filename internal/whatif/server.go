package whatif

import (
	"fmt"
	"math"
	"sort"
)

// The server model. A replica is the profile's server: it runs up to
// max-num-seqs requests in one continuously batched step loop and queues the
// rest in arrival order (vLLM's scheduler, FCFS). A request admitted into a
// running batch of b takes a TTFT and a time per output token drawn from the
// profile's distributions at batch b, so that a replica held at the
// concurrency of a profile point reproduces that point's percentiles.
//
// Each distribution is log-normal between the measured percentiles: one
// log-spread below p90 (fitted to p50 and p90), another above (fitted to p90
// and p99), so p50, p90 and p99 are exact and the tails stay positive.
// Between points the percentiles are interpolated linearly in the running
// batch; past the largest point they continue the last two points' slope.
// Points whose mean queue (vllm:num_requests_waiting) exceeds 0.5 measure
// queueing, which the simulator models itself, so they are left out of the
// service-time curve (kept for gauges).

const (
	z90 = 1.2815515655446004 // standard normal quantile of 0.90
	z99 = 2.3263478740408408 // of 0.99
	// zCap bounds a draw at about the 99.998th percentile, so that one
	// pathological draw cannot hold a batch slot for hours.
	zCap = 4.0
)

// latency is a distribution of one latency at one batch size, in seconds.
type latency struct{ p50, lowSpread, p90, highSpread float64 }

func newLatency(p Percentiles) latency {
	l := latency{p50: p.P50, p90: p.P90}
	if p.P50 > 0 && p.P90 > p.P50 {
		l.lowSpread = math.Log(p.P90/p.P50) / z90
	}
	if p.P90 > 0 && p.P99 > p.P90 {
		l.highSpread = math.Log(p.P99/p.P90) / (z99 - z90)
	}
	return l
}

// at maps a standard normal draw z to a latency.
func (l latency) at(z float64) float64 {
	if z > zCap {
		z = zCap
	} else if z < -zCap {
		z = -zCap
	}
	if z <= z90 {
		return l.p50 * math.Exp(l.lowSpread*z)
	}
	return l.p90 * math.Exp(l.highSpread*(z-z90))
}

// model is a profile turned into tables indexed by running batch 0..maxSeqs.
type model struct {
	maxSeqs      int
	promptTokens int
	maxTokens    int
	ttft, tpot   []latency
	gauges       map[string][]float64
	// largestBatch is the largest running batch the profile measured.
	largestBatch float64
}

// newModel tabulates the profile for batches up to maxSeqs.
func newModel(p *Profile, maxSeqs int) (*model, error) {
	if maxSeqs < 1 {
		return nil, fmt.Errorf("max-num-seqs (%d) must be at least 1", maxSeqs)
	}
	m := &model{maxSeqs: maxSeqs, promptTokens: p.PromptTokens, maxTokens: p.MaxTokens,
		ttft: make([]latency, maxSeqs+1), tpot: make([]latency, maxSeqs+1), gauges: map[string][]float64{}}
	var service []ProfilePoint
	for _, pt := range p.Points {
		if pt.waiting() <= 0.5 {
			service = append(service, pt)
		}
	}
	if len(service) == 0 {
		service = p.Points
	}
	xs := make([]float64, len(service))
	for i, pt := range service {
		xs[i] = pt.running()
	}
	pick := func(f func(ProfilePoint) float64) []float64 {
		ys := make([]float64, len(service))
		for i, pt := range service {
			ys[i] = f(pt)
		}
		return ys
	}
	series := [6][]float64{
		pick(func(p ProfilePoint) float64 { return p.TTFT.P50 }),
		pick(func(p ProfilePoint) float64 { return p.TTFT.P90 }),
		pick(func(p ProfilePoint) float64 { return p.TTFT.P99 }),
		pick(func(p ProfilePoint) float64 { return p.TPOT.P50 }),
		pick(func(p ProfilePoint) float64 { return p.TPOT.P90 }),
		pick(func(p ProfilePoint) float64 { return p.TPOT.P99 }),
	}
	for b := 1; b <= maxSeqs; b++ {
		var v [6]float64
		for i := range series {
			v[i] = interpolate(xs, series[i], float64(b), false)
		}
		// Interpolating each percentile alone can cross them; keep them ordered.
		v[1], v[2] = math.Max(v[1], v[0]), math.Max(v[2], math.Max(v[1], v[0]))
		v[4], v[5] = math.Max(v[4], v[3]), math.Max(v[5], math.Max(v[4], v[3]))
		m.ttft[b] = newLatency(Percentiles{v[0], v[1], v[2]})
		m.tpot[b] = newLatency(Percentiles{v[3], v[4], v[5]})
	}
	m.ttft[0], m.tpot[0] = m.ttft[1], m.tpot[1]

	// Gauges are means over a measurement at a concurrency: interpolate them
	// against the running batch, from 0 at an idle server.
	names := map[string]bool{}
	for _, pt := range p.Points {
		for name := range pt.Gauges {
			names[name] = true
		}
		m.largestBatch = math.Max(m.largestBatch, pt.running())
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		gx, gy := []float64{0}, []float64{0}
		for _, pt := range p.Points {
			if v, ok := pt.Gauges[name]; ok {
				gx = append(gx, pt.running())
				gy = append(gy, v)
			}
		}
		table := make([]float64, maxSeqs+1)
		for b := 0; b <= maxSeqs; b++ {
			table[b] = math.Max(0, interpolate(gx, gy, float64(b), false))
		}
		if name == GaugeKVCache {
			for b := range table {
				table[b] = math.Min(table[b], 1)
			}
		}
		m.gauges[name] = table
	}
	return m, nil
}

// interpolate is piecewise-linear through (xs, ys), xs ascending; outside it
// holds the end value when hold is set, else continues the end segment's
// slope (never below 0 slope, so latency does not fall past the data).
func interpolate(xs, ys []float64, x float64, hold bool) float64 {
	n := len(xs)
	if n == 1 {
		return ys[0]
	}
	if x <= xs[0] {
		if hold {
			return ys[0]
		}
		return ys[0]
	}
	if x >= xs[n-1] {
		if hold {
			return ys[n-1]
		}
		slope := (ys[n-1] - ys[n-2]) / (xs[n-1] - xs[n-2])
		if slope < 0 {
			slope = 0
		}
		return ys[n-1] + slope*(x-xs[n-1])
	}
	i := sort.SearchFloat64s(xs, x)
	if xs[i] == x {
		return ys[i]
	}
	f := (x - xs[i-1]) / (xs[i] - xs[i-1])
	return ys[i-1] + f*(ys[i]-ys[i-1])
}
