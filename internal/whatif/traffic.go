package whatif

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Traffic is an arrival process: a piecewise-constant request rate (Poisson
// arrivals within each piece), or a request log replayed as written.
type Traffic struct {
	// Name describes the shape for the report, e.g. "step levels=2,20 every=20m".
	Name     string
	Duration float64
	// segs hold the rate (requests/s) from each start time (s) until the next.
	segs []segment
	// log holds explicit requests when the traffic is a request log.
	log []Request
	// Steps are the moments the shape raises the load on purpose, with the
	// rate it raises it to; the report measures the time to capacity from each.
	Steps []Step
	// rampEnd ends a ramp's pieces, which sit below its target rate without
	// being a drop of the load.
	rampEnd float64
}

type segment struct{ start, rate float64 }

// Step is a deliberate rise of the load.
type Step struct {
	At   float64 // seconds
	Rate float64 // requests per second after the rise
}

// Request is one arrival: when, and its token counts (0: the profile's workload).
type Request struct {
	At           float64
	PromptTokens int32
	OutputTokens int32
}

// TrafficSyntax is the --traffic grammar for the help text.
const TrafficSyntax = `SHAPE[:key=value,...]
  step:levels=2,20,5,every=20m          each level (requests/s) held for every
  ramp:from=1,to=20,start=10m,over=30m,hold=30m
  diurnal:min=2,max=20,period=24h,peak=14h,days=1
  bursty:low=2,high=20,low-for=20m,high-for=5m,duration=6h
                                         a two-state Markov-modulated Poisson process:
                                         exponential sojourns with these means`

// RateAt returns the offered rate at time t.
func (tr *Traffic) RateAt(t float64) float64 {
	if tr.log != nil {
		return 0
	}
	i := sort.Search(len(tr.segs), func(i int) bool { return tr.segs[i].start > t }) - 1
	if i < 0 {
		return 0
	}
	return tr.segs[i].rate
}

// MeanRate is the average offered rate over [t0, t1).
func (tr *Traffic) MeanRate(t0, t1 float64) float64 {
	if t1 <= t0 {
		return tr.RateAt(t0)
	}
	if tr.log != nil {
		i := sort.Search(len(tr.log), func(i int) bool { return tr.log[i].At >= t0 })
		j := sort.Search(len(tr.log), func(i int) bool { return tr.log[i].At >= t1 })
		return float64(j-i) / (t1 - t0)
	}
	var area float64
	for i, s := range tr.segs {
		end := tr.Duration
		if i+1 < len(tr.segs) {
			end = tr.segs[i+1].start
		}
		lo, hi := math.Max(s.start, t0), math.Min(end, t1)
		if hi > lo {
			area += (hi - lo) * s.rate
		}
	}
	return area / (t1 - t0)
}

// arrivals yields the arrival times of a Poisson process with the traffic's
// rate, from its own random stream, so that every configuration compared on
// one seed sees the same requests.
type arrivals struct {
	tr  *Traffic
	rng *rand.Rand
	i   int
	t   float64
}

func newArrivals(tr *Traffic, seed uint64) *arrivals {
	return &arrivals{tr: tr, rng: rand.New(rand.NewPCG(seed, 0x61727269766c73))}
}

// next returns the next request, or ok false at the end of the traffic.
func (a *arrivals) next() (Request, bool) {
	tr := a.tr
	if tr.log != nil {
		if a.i >= len(tr.log) {
			return Request{}, false
		}
		a.i++
		return tr.log[a.i-1], true
	}
	e := a.rng.ExpFloat64()
	for a.i < len(tr.segs) {
		s := tr.segs[a.i]
		end := tr.Duration
		if a.i+1 < len(tr.segs) {
			end = tr.segs[a.i+1].start
		}
		if s.rate > 0 {
			if dt := e / s.rate; a.t+dt < end {
				a.t += dt
				return Request{At: a.t}, true
			}
			e -= (end - a.t) * s.rate
		}
		a.t = end
		a.i++
	}
	return Request{}, false
}

// ParseTraffic reads a --traffic value. Errors name the flag, the value and the fix.
func ParseTraffic(spec string, seed uint64) (*Traffic, error) {
	shape, rest, _ := strings.Cut(spec, ":")
	params, err := parseParams(rest)
	if err != nil {
		return nil, fmt.Errorf("--traffic %q: %v", spec, err)
	}
	var tr *Traffic
	switch shape {
	case "step":
		tr, err = stepTraffic(params)
	case "ramp":
		tr, err = rampTraffic(params)
	case "diurnal":
		tr, err = diurnalTraffic(params)
	case "bursty":
		tr, err = burstyTraffic(params, seed)
	default:
		return nil, fmt.Errorf("--traffic %q: unknown shape %q; use step, ramp, diurnal or bursty (or --trace FILE)", spec, shape)
	}
	if err != nil {
		return nil, fmt.Errorf("--traffic %q: %v", spec, err)
	}
	if unused := params.unused(); unused != "" {
		return nil, fmt.Errorf("--traffic %q: %s takes no parameter %q; its parameters: %s", spec, shape, unused, params.knownList())
	}
	return tr, nil
}

type params struct {
	values map[string]string
	order  []string
	used   map[string]bool
}

func parseParams(s string) (*params, error) {
	p := &params{values: map[string]string{}, used: map[string]bool{}}
	if s == "" {
		return p, nil
	}
	// Values may hold commas (levels=2,20,5): a piece without "=" continues
	// the previous value.
	var last string
	for _, piece := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(piece, "=")
		if !ok {
			if last == "" {
				return nil, fmt.Errorf("%q is not key=value", piece)
			}
			p.values[last] += "," + piece
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := p.values[k]; dup {
			return nil, fmt.Errorf("%s given twice", k)
		}
		p.values[k] = strings.TrimSpace(v)
		p.order = append(p.order, k)
		last = k
	}
	return p, nil
}

func (p *params) known(name string) { p.used[name] = true }

func (p *params) unused() string {
	for _, k := range p.order {
		if !p.used[k] {
			return k
		}
	}
	return ""
}

func (p *params) knownList() string {
	var names []string
	for k := range p.used {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (p *params) rate(name string, def float64) (float64, error) {
	p.known(name)
	s, ok := p.values[name]
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%s=%s is not a rate; write requests per second, e.g. %s=%g", name, s, name, def)
	}
	return v, nil
}

func (p *params) rates(name string, def []float64) ([]float64, error) {
	p.known(name)
	s, ok := p.values[name]
	if !ok {
		return def, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("%s=%s: %q is not a rate; write requests per second, e.g. %s=2,20,5", name, s, f, name)
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *params) duration(name string, def time.Duration) (float64, error) {
	p.known(name)
	s, ok := p.values[name]
	if !ok {
		return def.Seconds(), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%s is not a positive duration; write it like %s=%s", name, s, name, def)
	}
	return d.Seconds(), nil
}

func stepTraffic(p *params) (*Traffic, error) {
	levels, err := p.rates("levels", []float64{2, 20, 5})
	if err != nil {
		return nil, err
	}
	every, err := p.duration("every", 20*time.Minute)
	if err != nil {
		return nil, err
	}
	tr := &Traffic{Duration: every * float64(len(levels))}
	for i, l := range levels {
		tr.segs = append(tr.segs, segment{float64(i) * every, l})
		if i > 0 && l > levels[i-1] {
			tr.Steps = append(tr.Steps, Step{At: float64(i) * every, Rate: l})
		}
	}
	tr.Name = fmt.Sprintf("step levels=%s every=%s", joinRates(levels), fmtDur(every))
	return tr, nil
}

func rampTraffic(p *params) (*Traffic, error) {
	from, err := p.rate("from", 1)
	if err != nil {
		return nil, err
	}
	to, err := p.rate("to", 20)
	if err != nil {
		return nil, err
	}
	start, err := p.duration("start", 10*time.Minute)
	if err != nil {
		return nil, err
	}
	over, err := p.duration("over", 30*time.Minute)
	if err != nil {
		return nil, err
	}
	hold, err := p.duration("hold", 30*time.Minute)
	if err != nil {
		return nil, err
	}
	tr := &Traffic{Duration: start + over + hold}
	tr.segs = append(tr.segs, segment{0, from})
	// The ramp as one-second pieces, each at the ramp's mean over that second.
	for t := 0.0; t < over; t++ {
		tr.segs = append(tr.segs, segment{start + t, from + (to-from)*(t+0.5)/over})
	}
	tr.segs = append(tr.segs, segment{start + over, to})
	tr.rampEnd = start + over
	if to > from {
		tr.Steps = []Step{{At: start, Rate: to}}
	}
	tr.Name = fmt.Sprintf("ramp from=%g to=%g start=%s over=%s hold=%s", from, to, fmtDur(start), fmtDur(over), fmtDur(hold))
	return tr, nil
}

func diurnalTraffic(p *params) (*Traffic, error) {
	lo, err := p.rate("min", 2)
	if err != nil {
		return nil, err
	}
	hi, err := p.rate("max", 20)
	if err != nil {
		return nil, err
	}
	period, err := p.duration("period", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	peak, err := p.duration("peak", 14*time.Hour)
	if err != nil {
		return nil, err
	}
	p.known("days")
	days := 1.0
	if s, ok := p.values["days"]; ok {
		if days, err = strconv.ParseFloat(s, 64); err != nil || !(days > 0) || math.IsInf(days, 0) {
			return nil, fmt.Errorf("days=%s is not a positive number of periods, e.g. days=2", s)
		}
	}
	if hi < lo {
		return nil, fmt.Errorf("max (%g) is below min (%g); swap them", hi, lo)
	}
	tr := &Traffic{Duration: period * days}
	// A sinusoid between min and max, highest at peak, in one-minute pieces.
	const piece = 60.0
	for t := 0.0; t < tr.Duration; t += piece {
		mid := t + piece/2
		phase := 2 * math.Pi * (mid - peak) / period
		tr.segs = append(tr.segs, segment{t, lo + (hi-lo)*(1+math.Cos(phase))/2})
	}
	tr.Name = fmt.Sprintf("diurnal min=%g max=%g period=%s peak=%s days=%g", lo, hi, fmtDur(period), fmtDur(peak), days)
	return tr, nil
}

func burstyTraffic(p *params, seed uint64) (*Traffic, error) {
	low, err := p.rate("low", 2)
	if err != nil {
		return nil, err
	}
	high, err := p.rate("high", 20)
	if err != nil {
		return nil, err
	}
	lowFor, err := p.duration("low-for", 20*time.Minute)
	if err != nil {
		return nil, err
	}
	highFor, err := p.duration("high-for", 5*time.Minute)
	if err != nil {
		return nil, err
	}
	dur, err := p.duration("duration", 6*time.Hour)
	if err != nil {
		return nil, err
	}
	// The modulating chain's sojourns are drawn once, from the seed, so the
	// same seed gives the same bursts.
	rng := rand.New(rand.NewPCG(seed, 0x6d6d7070))
	tr := &Traffic{Duration: dur}
	t, inHigh := 0.0, false
	for t < dur {
		rate, mean := low, lowFor
		if inHigh {
			rate, mean = high, highFor
		}
		tr.segs = append(tr.segs, segment{t, rate})
		if inHigh && high > low {
			tr.Steps = append(tr.Steps, Step{At: t, Rate: high})
		}
		t += rng.ExpFloat64() * mean
		inHigh = !inHigh
	}
	tr.Name = fmt.Sprintf("bursty low=%g high=%g low-for=%s high-for=%s duration=%s", low, high, fmtDur(lowFor), fmtDur(highFor), fmtDur(dur))
	return tr, nil
}

// ParseTrace reads --trace: a CSV of "time,rate" (a piecewise-constant rate
// from each time on; time in seconds or as a duration like 90s), or a request
// log "time,prompt_tokens,output_tokens" with one request per line. A header
// line is optional; lines starting with # are comments.
func ParseTrace(name string, r io.Reader) (*Traffic, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("--trace %s: %v", name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	tr := &Traffic{Name: "trace " + name}
	cols := 0
	line := 0
	last := -1.0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if cols == 0 {
			if _, err := parseTime(fields[0]); err != nil {
				// A header.
				if len(fields) != 2 && len(fields) != 3 {
					return nil, fmt.Errorf("--trace %s:%d: header %q has %d columns; write time,rate or time,prompt_tokens,output_tokens", name, line, text, len(fields))
				}
				cols = len(fields)
				continue
			}
			cols = len(fields)
			if cols != 2 && cols != 3 {
				return nil, fmt.Errorf("--trace %s:%d: %d columns; write time,rate or time,prompt_tokens,output_tokens", name, line, cols)
			}
		}
		if len(fields) != cols {
			return nil, fmt.Errorf("--trace %s:%d: %d columns where earlier lines have %d", name, line, len(fields), cols)
		}
		t, err := parseTime(fields[0])
		if err != nil {
			return nil, fmt.Errorf("--trace %s:%d: time %q: write seconds (12.5) or a duration (90s)", name, line, fields[0])
		}
		if t < last {
			return nil, fmt.Errorf("--trace %s:%d: time %s comes before the line above (%gs); sort the file by time", name, line, fields[0], last)
		}
		last = t
		if cols == 2 {
			rate, err := strconv.ParseFloat(fields[1], 64)
			if err != nil || math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0 {
				return nil, fmt.Errorf("--trace %s:%d: rate %q is not requests per second (0 or more)", name, line, fields[1])
			}
			if n := len(tr.segs); n > 0 && rate >= tr.segs[n-1].rate*1.2 && rate > tr.segs[n-1].rate {
				tr.Steps = append(tr.Steps, Step{At: t, Rate: rate})
			}
			tr.segs = append(tr.segs, segment{t, rate})
			continue
		}
		pt, err1 := strconv.ParseInt(fields[1], 10, 32)
		ot, err2 := strconv.ParseInt(fields[2], 10, 32)
		if err1 != nil || err2 != nil || pt <= 0 || ot <= 0 {
			return nil, fmt.Errorf("--trace %s:%d: token counts %q,%q must be whole numbers above 0", name, line, fields[1], fields[2])
		}
		tr.log = append(tr.log, Request{At: t, PromptTokens: int32(pt), OutputTokens: int32(ot)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--trace %s: %v", name, err)
	}
	switch {
	case cols == 2 && len(tr.segs) > 0:
		// The last rate holds for as long as the step before it, at least a minute.
		end := last + 60
		if n := len(tr.segs); n > 1 {
			end = last + math.Max(60, tr.segs[n-1].start-tr.segs[n-2].start)
		}
		tr.Duration = end
	case cols == 3 && len(tr.log) > 0:
		tr.Duration = last + 1
	default:
		return nil, fmt.Errorf("--trace %s: no data lines; write time,rate or time,prompt_tokens,output_tokens lines", name)
	}
	return tr, nil
}

func parseTime(s string) (float64, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && !math.IsInf(v, 0) {
		return v, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad time")
	}
	return d.Seconds(), nil
}

// Truncate cuts the traffic at d seconds, or extends its last rate to d.
func (tr *Traffic) Truncate(d float64) {
	if tr.log != nil {
		i := sort.Search(len(tr.log), func(i int) bool { return tr.log[i].At >= d })
		tr.log = tr.log[:i]
	} else {
		i := sort.Search(len(tr.segs), func(i int) bool { return tr.segs[i].start >= d })
		if i == 0 {
			i = 1
		}
		tr.segs = tr.segs[:i]
	}
	var steps []Step
	for _, s := range tr.Steps {
		if s.At < d {
			steps = append(steps, s)
		}
	}
	tr.Steps = steps
	tr.Duration = d
}

// withWarmup returns the traffic with its first rate held for w seconds
// before it, everything else shifted by w. A request log gets no warm-up.
func (tr *Traffic) withWarmup(w float64) *Traffic {
	if tr.log != nil || w <= 0 || len(tr.segs) == 0 {
		return tr
	}
	out := &Traffic{Name: tr.Name, Duration: tr.Duration + w, segs: []segment{{0, tr.segs[0].rate}}, rampEnd: tr.rampEnd + w}
	for _, sg := range tr.segs {
		out.segs = append(out.segs, segment{sg.start + w, sg.rate})
	}
	for _, st := range tr.Steps {
		out.Steps = append(out.Steps, Step{At: st.At + w, Rate: st.Rate})
	}
	return out
}

func joinRates(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func fmtDur(sec float64) string {
	return (time.Duration(sec * float64(time.Second))).String()
}
