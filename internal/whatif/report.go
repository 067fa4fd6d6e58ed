package whatif

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// Result is what one configuration did under the traffic.
type Result struct {
	Label       string      `json:"label"`
	Assumptions Assumptions `json:"assumptions"`

	Requests  uint64 `json:"requests"`
	Completed uint64 `json:"completed"`
	// Aborted requests were in a pod when its grace period ended.
	Aborted uint64 `json:"aborted"`
	// Rejected requests arrived when no pod was ready.
	Rejected uint64 `json:"rejected"`

	// SLOMetPercent is the share of completed requests whose TTFT and TPOT
	// were both within the SLO.
	SLOMetPercent float64 `json:"sloMetPercent"`
	// SLOPercentileMet says whether the SLO's percentile of TTFT and TPOT
	// stayed within the bounds.
	SLOPercentileMet bool      `json:"sloPercentileMet"`
	TTFT             Quantiles `json:"ttftSeconds"`
	QueueWait        Quantiles `json:"queueWaitSeconds"`
	TPOT             Quantiles `json:"tpotSeconds"`

	ReplicaHours float64 `json:"replicaHours"`
	ScaleUps     int     `json:"scaleUps"`
	ScaleDowns   int     `json:"scaleDowns"`
	MaxPods      int32   `json:"maxPods"`
	// MetricErrors counts syncs in which no metric was usable (the HPA held).
	MetricErrors int `json:"metricErrors"`

	// CapacityPerReplica is the request rate one replica serves within the
	// SLO (from the profile); NeededReplicas(t) = ceil(rate(t) / it).
	CapacityPerReplica float64 `json:"capacityPerReplica"`
	// Steps: the time from each deliberate rise of the load until enough
	// replicas were ready for it (-1: not before the load changed again).
	Steps []StepResult `json:"steps"`
	// UnderprovisionedMinutes is the time with fewer ready replicas than the
	// offered rate needed.
	UnderprovisionedMinutes float64 `json:"underprovisionedMinutes"`

	Timeline []TimelinePoint `json:"timeline,omitempty"`
	Latency  []LatencyPoint  `json:"latency,omitempty"`
}

// Assumptions are the inputs a reader needs to trust the numbers.
type Assumptions struct {
	Source          string    `json:"source"`
	HPA             string    `json:"hpa"`
	Metrics         []string  `json:"metrics"`
	Targets         []string  `json:"targets"`
	TargetValues    []float64 `json:"targetValues"`
	Backend         string    `json:"backend"`
	ScrapeInterval  string    `json:"scrapeInterval"`
	IngestionDelay  string    `json:"ingestionDelay"`
	Startup         string    `json:"startup"`
	MaxNumSeqs      int       `json:"maxNumSeqs"`
	Routing         string    `json:"routing"`
	Traffic         string    `json:"traffic"`
	Seed            uint64    `json:"seed"`
	SLO             string    `json:"slo"`
	ProfileLargestB float64   `json:"profileLargestBatch"`
}

// Quantiles of a latency, seconds.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// StepResult is one rise of the load.
type StepResult struct {
	At              float64 `json:"atSeconds"`
	Rate            float64 `json:"rate"`
	NeededReplicas  int     `json:"neededReplicas"`
	SecondsToEnough float64 `json:"secondsToEnough"`
}

// TimelinePoint is the state at one HPA sync.
type TimelinePoint struct {
	T    float64 `json:"t"`
	Rate float64 `json:"rate"`
	// Metric is the HPA's reading of each metric (average per pod), NaN when it had none.
	Metric  []float64 `json:"metric"`
	Desired int32     `json:"desired"`
	Ready   int32     `json:"ready"`
	Pods    int32     `json:"pods"`
}

// LatencyPoint is the p90 TTFT of the requests finished in one minute.
type LatencyPoint struct {
	T        float64 `json:"t"`
	TTFTP90  float64 `json:"ttftP90"`
	Requests uint64  `json:"requests"`
}

// MarshalJSON writes NaN metric readings as null.
func (p TimelinePoint) MarshalJSON() ([]byte, error) {
	type plain TimelinePoint
	metric := make([]*float64, len(p.Metric))
	for i := range p.Metric {
		if !math.IsNaN(p.Metric[i]) {
			v := p.Metric[i]
			metric[i] = &v
		}
	}
	return json.Marshal(struct {
		plain
		Metric []*float64 `json:"metric"`
	}{plain(p), metric})
}

func quantiles(h *histogram) Quantiles {
	return Quantiles{h.quantile(0.5), h.quantile(0.9), h.quantile(0.99)}
}

func (s *sim) finish() *Result {
	res := s.res
	cfg := s.cfg
	res.TTFT, res.QueueWait, res.TPOT = quantiles(&s.ttft), quantiles(&s.wait), quantiles(&s.tpot)
	if res.Completed > 0 {
		res.SLOMetPercent = 100 * float64(s.sloOK) / float64(res.Completed)
	}
	q := float64(cfg.SLO.Percentile) / 100
	res.SLOPercentileMet = (cfg.SLO.TTFT <= 0 || s.ttft.quantile(q) <= cfg.SLO.TTFT) &&
		(cfg.SLO.TPOT <= 0 || s.tpot.quantile(q) <= cfg.SLO.TPOT) && res.Completed > 0
	dur := cfg.Traffic.Duration
	for _, r := range s.reps {
		// A pod's life on the measured clock, from creation to termination.
		start, end := r.created-s.from, dur
		if r.state == podGone && r.gone-s.from < dur {
			end = r.gone - s.from
		}
		if start < 0 {
			start = 0
		}
		if end > start {
			res.ReplicaHours += (end - start) / 3600
		}
	}
	res.CapacityPerReplica = s.capacity
	needed := func(rate float64) int {
		if s.capacity <= 0 {
			return 0
		}
		return max(1, int(math.Ceil(rate/s.capacity-1e-9)))
	}
	readyAt := func(t float64) int {
		n := 0
		for _, c := range s.readyChanges {
			if c.t > t {
				break
			}
			n = c.ready
		}
		return n
	}
	for i, st := range cfg.Traffic.Steps {
		until := dur
		if i+1 < len(cfg.Traffic.Steps) {
			until = cfg.Traffic.Steps[i+1].At
		}
		// The load may drop again before the next rise.
		for _, seg := range cfg.Traffic.segs {
			if seg.start > st.At && seg.start < until && seg.start >= cfg.Traffic.rampEnd && seg.rate < st.Rate*0.999 {
				until = seg.start
				break
			}
		}
		n := needed(st.Rate)
		sr := StepResult{At: st.At, Rate: st.Rate, NeededReplicas: n, SecondsToEnough: -1}
		if readyAt(st.At) >= n {
			sr.SecondsToEnough = 0
		} else {
			for _, c := range s.readyChanges {
				if c.t >= st.At && c.t <= until && c.ready >= n {
					sr.SecondsToEnough = c.t - st.At
					break
				}
			}
		}
		res.Steps = append(res.Steps, sr)
	}
	// Under-provisioned time, on a one-second grid of the offered rate.
	var under float64
	ci := 0
	cur := 0
	for t := 0.0; t < dur; t++ {
		for ci < len(s.readyChanges) && s.readyChanges[ci].t <= t {
			cur = s.readyChanges[ci].ready
			ci++
		}
		if cur < needed(cfg.Traffic.RateAt(t)) {
			under++
		}
	}
	if cfg.Traffic.log != nil {
		under = 0
		for t := 0.0; t < dur; t += 60 {
			if readyAt(t) < needed(cfg.Traffic.MeanRate(t, t+60)) {
				under += 60
			}
		}
	}
	res.UnderprovisionedMinutes = under / 60
	return res
}

// WriteTable prints results side by side, one column per configuration.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, f func(r *Result) string) {
		cells := []string{name}
		for _, r := range results {
			cells = append(cells, f(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	ms := func(v float64) string {
		switch {
		case v >= 10:
			return fmt.Sprintf("%.1fs", v)
		case v >= 1:
			return fmt.Sprintf("%.2fs", v)
		}
		return fmt.Sprintf("%.0fms", v*1000)
	}
	trio := func(q Quantiles) string { return ms(q.P50) + " / " + ms(q.P90) + " / " + ms(q.P99) }
	row("configuration", func(r *Result) string { return r.Label })
	row("hpa (source)", func(r *Result) string { return r.Assumptions.HPA + " (" + r.Assumptions.Source + ")" })
	row("metric / target", func(r *Result) string {
		var parts []string
		for i := range r.Assumptions.Metrics {
			parts = append(parts, r.Assumptions.Metrics[i]+" / "+r.Assumptions.Targets[i])
		}
		return strings.Join(parts, "; ")
	})
	row("backend", func(r *Result) string { return r.Assumptions.Backend })
	row("scrape / ingestion", func(r *Result) string {
		return r.Assumptions.ScrapeInterval + " / " + r.Assumptions.IngestionDelay
	})
	row("startup / max-num-seqs", func(r *Result) string {
		return fmt.Sprintf("%s / %d", r.Assumptions.Startup, r.Assumptions.MaxNumSeqs)
	})
	row("requests (aborted, rejected)", func(r *Result) string {
		return fmt.Sprintf("%d (%d, %d)", r.Requests, r.Aborted, r.Rejected)
	})
	if len(results) > 0 {
		row("within SLO "+results[0].Assumptions.SLO, func(r *Result) string {
			mark := "met"
			if !r.SLOPercentileMet {
				mark = "missed"
			}
			return fmt.Sprintf("%.1f%% (p%s %s)", r.SLOMetPercent, sloPercentile(r.Assumptions.SLO), mark)
		})
	}
	row("TTFT p50 / p90 / p99", func(r *Result) string { return trio(r.TTFT) })
	row("queue wait p50 / p90 / p99", func(r *Result) string { return trio(r.QueueWait) })
	row("TPOT p50 / p90 / p99", func(r *Result) string { return trio(r.TPOT) })
	row("replica-hours", func(r *Result) string { return fmt.Sprintf("%.2f", r.ReplicaHours) })
	row("scale-ups / scale-downs", func(r *Result) string { return fmt.Sprintf("%d / %d", r.ScaleUps, r.ScaleDowns) })
	row("most pods", func(r *Result) string { return fmt.Sprintf("%d", r.MaxPods) })
	row("capacity per replica", func(r *Result) string { return fmt.Sprintf("%.2f req/s", r.CapacityPerReplica) })
	row("under-provisioned", func(r *Result) string { return fmt.Sprintf("%.1f min", r.UnderprovisionedMinutes) })
	maxSteps := 0
	for _, r := range results {
		maxSteps = max(maxSteps, len(r.Steps))
	}
	if maxSteps > 4 {
		// Many rises (bursty traffic, a long trace): their summary.
		row(fmt.Sprintf("load rises: ready in (median / max / never)"), func(r *Result) string {
			var ds []float64
			never := 0
			for _, st := range r.Steps {
				if st.SecondsToEnough < 0 {
					never++
				} else {
					ds = append(ds, st.SecondsToEnough)
				}
			}
			sort.Float64s(ds)
			med, worst := "-", "-"
			if len(ds) > 0 {
				med, worst = fmtDur(math.Round(ds[len(ds)/2])), fmtDur(math.Round(ds[len(ds)-1]))
			}
			return fmt.Sprintf("%s / %s / %d of %d", med, worst, never, len(r.Steps))
		})
		maxSteps = 0
	}
	for i := 0; i < maxSteps; i++ {
		name := "load step"
		if len(results) > 0 && i < len(results[0].Steps) {
			st := results[0].Steps[i]
			name = fmt.Sprintf("step at %s to %g req/s: ready in", fmtDur(math.Round(st.At)), st.Rate)
		}
		row(name, func(r *Result) string {
			if i >= len(r.Steps) {
				return "-"
			}
			st := r.Steps[i]
			if st.SecondsToEnough < 0 {
				return fmt.Sprintf("never (needs %d)", st.NeededReplicas)
			}
			return fmt.Sprintf("%s (needs %d)", fmtDur(math.Round(st.SecondsToEnough)), st.NeededReplicas)
		})
	}
	return tw.Flush()
}

func sloPercentile(slo string) string {
	if i := strings.Index(slo, "p"); i >= 0 {
		f := strings.Fields(slo[i+1:])
		if len(f) > 0 {
			return f[0]
		}
	}
	return "?"
}

// WriteJSON prints results for scripts.
func WriteJSON(w io.Writer, results []*Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Results []*Result `json:"results"`
	}{results})
}
