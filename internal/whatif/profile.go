package whatif

// This file is the simulator's reading of a VLLMServerProfile
// (vllmhpa.dev/v1alpha1, fn/api/v1alpha1), the YAML that `vllm-loadgen
// profile` writes; nothing else in the package reads profile YAML.

import (
	"fmt"
	"sort"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// Profile is a measured server: per concurrency level, throughput, latency
// percentiles and the mean of each gauge.
type Profile struct {
	Name        string
	Model       string
	Accelerator string
	// PromptTokens and MaxTokens are the workload every request of the
	// measurement had.
	PromptTokens int
	MaxTokens    int
	Points       []ProfilePoint
}

// ProfilePoint is one concurrency level of a profile.
type ProfilePoint struct {
	Concurrency           float64
	RequestsPerSecond     float64
	OutputTokensPerSecond float64
	TTFT, TPOT            Percentiles
	Gauges                map[string]float64
}

// Percentiles of a latency, in seconds.
type Percentiles struct{ P50, P90, P99 float64 }

// Gauge names of vLLM that the simulator derives from its own state.
const (
	GaugeRunning = "vllm:num_requests_running"
	GaugeWaiting = "vllm:num_requests_waiting"
	GaugeKVCache = "vllm:kv_cache_usage_perc"
)

// ParseProfile reads a VLLMServerProfile into the shared API type
// (fn/api/v1alpha1), strictly, then checks what the simulator needs of it.
// Errors name the field path, the value and what to write instead.
func ParseProfile(data []byte) (*Profile, error) {
	var d v1alpha1.VLLMServerProfile
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		if perr := badLatency(data); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("not a VLLMServerProfile: %v", err)
	}
	if d.Kind != v1alpha1.ProfileKind {
		return nil, fmt.Errorf("kind is %q; a profile has kind: VLLMServerProfile (apiVersion: vllmhpa.dev/v1alpha1), as vllm-loadgen profile writes it", d.Kind)
	}
	if want := v1alpha1.APIVersion; d.APIVersion != "" && d.APIVersion != want {
		return nil, fmt.Errorf("apiVersion is %q; write apiVersion: %s", d.APIVersion, want)
	}
	s := d.Spec
	p := &Profile{Name: d.Name, Model: s.Model, Accelerator: s.Accelerator,
		PromptTokens: int(s.Workload.PromptTokens), MaxTokens: int(s.Workload.MaxTokens)}
	if p.PromptTokens <= 0 {
		return nil, fmt.Errorf("spec.workload.promptTokens (%d) must be above 0: the prompt length every measured request had", p.PromptTokens)
	}
	if p.MaxTokens <= 0 {
		return nil, fmt.Errorf("spec.workload.maxTokens (%d) must be above 0: the output length every measured request had", p.MaxTokens)
	}
	if len(s.Points) == 0 {
		return nil, fmt.Errorf("spec.points is empty; a profile needs at least one measured concurrency level")
	}
	for i, pt := range s.Points {
		path := fmt.Sprintf("spec.points[%d]", i)
		if pt.Concurrency <= 0 {
			return nil, fmt.Errorf("%s.concurrency (%d) must be above 0", path, pt.Concurrency)
		}
		q := ProfilePoint{Concurrency: float64(pt.Concurrency)}
		var err error
		if q.RequestsPerSecond, err = number(path+".requestsPerSecond", pt.RequestsPerSecond); err != nil {
			return nil, err
		}
		if q.OutputTokensPerSecond, err = number(path+".outputTokensPerSecond", pt.OutputTokensPerSecond); err != nil {
			return nil, err
		}
		if q.TTFT, err = parsePercentiles(path+".ttft", pt.TTFT); err != nil {
			return nil, err
		}
		if q.TPOT, err = parsePercentiles(path+".tpot", pt.TPOT); err != nil {
			return nil, err
		}
		if len(pt.Gauges) > 0 {
			q.Gauges = make(map[string]float64, len(pt.Gauges))
		}
		for name, dv := range pt.Gauges {
			gpath := fmt.Sprintf("%s.gauges[%q]", path, name)
			v, err := number(gpath, dv)
			if err != nil {
				return nil, err
			}
			q.Gauges[name] = v
		}
		p.Points = append(p.Points, q)
	}
	sort.SliceStable(p.Points, func(i, j int) bool { return p.Points[i].running() < p.Points[j].running() })
	for i := 1; i < len(p.Points); i++ {
		if p.Points[i].running() == p.Points[i-1].running() {
			return nil, fmt.Errorf("spec.points: two points have the same running batch (%g); keep one measurement per concurrency level", p.Points[i].running())
		}
	}
	return p, nil
}

// badLatency names the first latency that is not a duration. The decoder's
// own error for a metav1.Duration carries the value but not the field path.
func badLatency(data []byte) error {
	var doc struct {
		Spec struct {
			Points []map[string]any `json:"points"`
		} `json:"spec"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	for i, pt := range doc.Spec.Points {
		for _, latency := range []string{"ttft", "tpot"} {
			ps, _ := pt[latency].(map[string]any)
			for _, name := range []string{"p50", "p90", "p99"} {
				v, ok := ps[name]
				if !ok {
					continue
				}
				text, _ := v.(string)
				if _, err := time.ParseDuration(text); err != nil {
					return fmt.Errorf("spec.points[%d].%s.%s (%q) is not a positive duration; write it like 80ms", i, latency, name, fmt.Sprint(v))
				}
			}
		}
	}
	return nil
}

// number is a measured figure: finite and not negative.
func number(path string, d v1alpha1.Decimal) (float64, error) {
	v, err := d.Float64()
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s (%s) must be a number, 0 or more", path, d)
	}
	return v, nil
}

// parsePercentiles reads a point's latency. The API lets a point have none
// (no request completed in its step); the simulator needs one to draw from.
func parsePercentiles(path string, d *v1alpha1.LatencyPercentiles) (Percentiles, error) {
	var out Percentiles
	if d == nil {
		return out, fmt.Errorf("%s is missing; the simulator needs the latency of every point: measure the level again or drop the point", path)
	}
	for _, f := range []struct {
		name string
		v    time.Duration
		dst  *float64
	}{{"p50", d.P50.Duration, &out.P50}, {"p90", d.P90.Duration, &out.P90}, {"p99", d.P99.Duration, &out.P99}} {
		if f.v <= 0 {
			return out, fmt.Errorf("%s.%s (%s) is not a positive duration; write it like 80ms", path, f.name, f.v)
		}
		*f.dst = f.v.Seconds()
	}
	if out.P50 > out.P90 || out.P90 > out.P99 {
		return out, fmt.Errorf("%s: p50 (%gs) <= p90 (%gs) <= p99 (%gs) must hold", path, out.P50, out.P90, out.P99)
	}
	return out, nil
}

// running is the point's mean running batch: the gauge when measured, else
// the concurrency (every client's request in the batch).
func (pt ProfilePoint) running() float64 {
	if v, ok := pt.Gauges[GaugeRunning]; ok && v > 0 {
		return v
	}
	return pt.Concurrency
}

// waiting is the point's mean queue, 0 when not measured.
func (pt ProfilePoint) waiting() float64 { return pt.Gauges[GaugeWaiting] }
