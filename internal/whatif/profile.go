package whatif

// This file is the simulator's own reading of a VLLMServerProfile
// (vllmhpa.dev/v1alpha1), the YAML that `vllm-loadgen profile` writes. It is
// kept alone so that it can switch to the shared Go type of fn/api/v1alpha1
// once that exists; nothing else in the package reads profile YAML.

import (
	"fmt"
	"math"
	"sort"
	"time"

	"sigs.k8s.io/yaml"
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

type profileDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Model       string `json:"model"`
		Accelerator string `json:"accelerator"`
		Workload    struct {
			PromptTokens int `json:"promptTokens"`
			MaxTokens    int `json:"maxTokens"`
		} `json:"workload"`
		Points []struct {
			Concurrency           float64            `json:"concurrency"`
			RequestsPerSecond     float64            `json:"requestsPerSecond"`
			OutputTokensPerSecond float64            `json:"outputTokensPerSecond"`
			TTFT                  percentilesDoc     `json:"ttft"`
			TPOT                  percentilesDoc     `json:"tpot"`
			Gauges                map[string]float64 `json:"gauges"`
		} `json:"points"`
	} `json:"spec"`
}

type percentilesDoc struct {
	P50 string `json:"p50"`
	P90 string `json:"p90"`
	P99 string `json:"p99"`
}

// ParseProfile reads a VLLMServerProfile. Errors name the field path, the
// value and what to write instead.
func ParseProfile(data []byte) (*Profile, error) {
	var d profileDoc
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return nil, fmt.Errorf("not a VLLMServerProfile: %v", err)
	}
	if d.Kind != "VLLMServerProfile" {
		return nil, fmt.Errorf("kind is %q; a profile has kind: VLLMServerProfile (apiVersion: vllmhpa.dev/v1alpha1), as vllm-loadgen profile writes it", d.Kind)
	}
	if d.APIVersion != "" && d.APIVersion != "vllmhpa.dev/v1alpha1" {
		return nil, fmt.Errorf("apiVersion is %q; write apiVersion: vllmhpa.dev/v1alpha1", d.APIVersion)
	}
	s := d.Spec
	p := &Profile{Name: d.Metadata.Name, Model: s.Model, Accelerator: s.Accelerator,
		PromptTokens: s.Workload.PromptTokens, MaxTokens: s.Workload.MaxTokens}
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
		if !(pt.Concurrency > 0) || math.IsInf(pt.Concurrency, 0) {
			return nil, fmt.Errorf("%s.concurrency (%g) must be above 0", path, pt.Concurrency)
		}
		q := ProfilePoint{Concurrency: pt.Concurrency, RequestsPerSecond: pt.RequestsPerSecond,
			OutputTokensPerSecond: pt.OutputTokensPerSecond, Gauges: pt.Gauges}
		var err error
		if q.TTFT, err = parsePercentiles(path+".ttft", pt.TTFT); err != nil {
			return nil, err
		}
		if q.TPOT, err = parsePercentiles(path+".tpot", pt.TPOT); err != nil {
			return nil, err
		}
		for name, v := range pt.Gauges {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("%s.gauges[%q] (%g) must be a number, 0 or more", path, name, v)
			}
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

func parsePercentiles(path string, d percentilesDoc) (Percentiles, error) {
	var out Percentiles
	for _, f := range []struct {
		name string
		text string
		dst  *float64
	}{{"p50", d.P50, &out.P50}, {"p90", d.P90, &out.P90}, {"p99", d.P99, &out.P99}} {
		v, err := time.ParseDuration(f.text)
		if err != nil || v <= 0 {
			return out, fmt.Errorf("%s.%s (%q) is not a positive duration; write it like 80ms", path, f.name, f.text)
		}
		*f.dst = v.Seconds()
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
