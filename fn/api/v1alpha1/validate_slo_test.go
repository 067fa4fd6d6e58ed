package v1alpha1

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ms(n int) *metav1.Duration {
	return &metav1.Duration{Duration: time.Duration(n) * time.Millisecond}
}

// sloConfig is a valid config whose target comes from an SLO with an inline profile.
func sloConfig(mutate func(c *VLLMHPAConfig)) *VLLMHPAConfig {
	c := &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{
		Strategy:       StrategyVLLM,
		ScaleTargetRef: ScaleTargetRef{Name: "vllm-gemma"},
		MaxReplicas:    5,
		PodSelector:    map[string]string{"app": "vllm-gemma"},
		SLO:            &SLO{TPOT: ms(15), Profile: &VLLMServerProfileSpec{Model: "google/gemma-3-1b-it"}},
	}}
	c.Name = "gemma"
	if mutate != nil {
		mutate(c)
	}
	c.Default()
	return c
}

func TestDefaultLeavesTheTargetToTheSLO(t *testing.T) {
	c := sloConfig(nil)
	if c.Spec.Metric.Name != DefaultVLLMMetric || c.Spec.Metric.TargetAverageValue != nil {
		t.Errorf("metric %+v, want the default name and no target (the SLO derives it)", c.Spec.Metric)
	}
	if *c.Spec.SLO.Percentile != 90 {
		t.Errorf("percentile %d, want 90", *c.Spec.SLO.Percentile)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("a valid SLO config: %v", errs)
	}
	// spec.metrics stands instead of spec.metric: no spec.metric is made up.
	c = sloConfig(func(c *VLLMHPAConfig) {
		c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: DefaultVLLMMetric}, SLO: &SLO{TTFT: ms(500), ProfileRef: "p"}}}
	})
	if c.Spec.Metric != nil || *c.Spec.Metrics[0].SLO.Percentile != 90 {
		t.Errorf("spec.metric %+v, entry SLO %+v: want no spec.metric and the entry's percentile defaulted", c.Spec.Metric, c.Spec.Metrics[0].SLO)
	}
}

func TestScaledMetricsSaysWhichSLOAppliesWhere(t *testing.T) {
	four := Quantity("4")
	own := &SLO{TTFT: ms(500), ProfileRef: "p"}
	c := sloConfig(func(c *VLLMHPAConfig) {
		c.Spec.Metrics = []MetricEntry{
			{Metric: Metric{Name: "vllm:num_requests_running"}},
			{Metric: Metric{Name: "vllm:num_requests_waiting", TargetAverageValue: &four}},
			{Metric: Metric{Name: "vllm:kv_cache_usage_perc"}, SLO: own},
		}
	})
	var got []string
	for _, m := range c.ScaledMetrics() {
		slo := "-"
		if m.SLO != nil {
			slo = m.SLOPath.String()
		}
		got = append(got, m.Path.String()+" "+m.Name+" "+slo)
	}
	want := []string{
		"spec.metrics[0] vllm:num_requests_running spec.slo",
		"spec.metrics[1] vllm:num_requests_waiting -",
		"spec.metrics[2] vllm:kv_cache_usage_perc spec.metrics[2].slo",
	}
	if !slices.Equal(got, want) {
		t.Errorf("scaled metrics:\n got %q\nwant %q", got, want)
	}
	if c.ScaledMetrics()[2].SLO != own {
		t.Error("an entry's own SLO is not the one it wrote")
	}
}

func TestValidateSLO(t *testing.T) {
	four := Quantity("4")
	for _, tc := range []struct {
		name    string
		mutate  func(c *VLLMHPAConfig)
		field   string
		message string
	}{
		{"target written too", func(c *VLLMHPAConfig) { c.Spec.Metric = &Metric{TargetAverageValue: &four} },
			"spec.slo", "derives spec.metric.targetAverageValue, which is written too (4)"},
		{"no bound", func(c *VLLMHPAConfig) { c.Spec.SLO.TPOT = nil },
			"spec.slo", "an SLO needs a latency bound"},
		{"zero bound", func(c *VLLMHPAConfig) { c.Spec.SLO.TTFT = ms(0) },
			"spec.slo.ttft", "must be above zero"},
		{"no profile", func(c *VLLMHPAConfig) { c.Spec.SLO.Profile = nil },
			"spec.slo.profileRef", "give profileRef or profile"},
		{"two profiles", func(c *VLLMHPAConfig) { c.Spec.SLO.ProfileRef = "p" },
			"spec.slo.profileRef", "may not be set with profile"},
		{"bad profile name", func(c *VLLMHPAConfig) { c.Spec.SLO.Profile, c.Spec.SLO.ProfileRef = nil, "Gemma L4" },
			"spec.slo.profileRef", `is not an object name`},
		{"percentile", func(c *VLLMHPAConfig) { p := SLOPercentile(95); c.Spec.SLO.Percentile = &p },
			"spec.slo.percentile", "is not a percentile a profile measures"},
		{"gpu", func(c *VLLMHPAConfig) { c.Spec.Strategy, c.Spec.PodSelector = StrategyGPU, nil },
			"spec.slo", "cannot be used with strategy gpu"},
		{"other model", func(c *VLLMHPAConfig) { c.Spec.Metric = &Metric{Labels: map[string]string{"model_name": "llama"}} },
			"spec.slo.profile.model", `is not the model the metric is read for: spec.metric.labels.model_name selects model_name=llama`},
		{"metric and metrics", func(c *VLLMHPAConfig) {
			c.Spec.Metric = &Metric{Name: DefaultVLLMMetric}
			c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: DefaultVLLMMetric}}}
		}, "spec.metrics", "may not be set with spec.metric"},
		{"entry target and slo", func(c *VLLMHPAConfig) {
			c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: DefaultVLLMMetric, TargetAverageValue: &four}, SLO: &SLO{TTFT: ms(500), ProfileRef: "p"}}}
		}, "spec.metrics[0].slo", "derives spec.metrics[0].targetAverageValue, which is written too (4)"},
		{"entry slo checked", func(c *VLLMHPAConfig) {
			c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: DefaultVLLMMetric}, SLO: &SLO{ProfileRef: "p"}}}
		}, "spec.metrics[0].slo", "an SLO needs a latency bound"},
		{"entry metric checked", func(c *VLLMHPAConfig) {
			c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: "vllm:gpu_cache_usage_perc"}}}
		}, "spec.metrics[0].name", `was removed from vLLM`},
		{"entry labels checked", func(c *VLLMHPAConfig) {
			c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: DefaultVLLMMetric, Labels: map[string]string{"pod": "x"}}}}
		}, "spec.metrics[0].labels.pod", "the adapter already matches pod"},
		{"unused", func(c *VLLMHPAConfig) {
			c.Spec.Metrics = []MetricEntry{{Metric: Metric{Name: DefaultVLLMMetric, TargetAverageValue: &four}}}
		}, "spec.slo", "applies to no metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := sloConfig(tc.mutate).Validate()
			i := slices.IndexFunc(errs, func(e *field.Error) bool { return e.Field == tc.field })
			if i < 0 || !strings.HasPrefix(errs[i].Detail, tc.message) {
				t.Errorf("errors %v, want one at %s starting %q", errs, tc.field, tc.message)
			}
		})
	}
}

func TestConfigMapSLOKeys(t *testing.T) {
	c, errs := FromConfigMapData(map[string]string{"sloPercentile": "99", "sloTTFT": "1.5s", "sloTPOT": " 40ms", "sloProfileRef": "gemma-l4"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := c.Spec.SLO
	if *s.Percentile != 99 || s.TTFT.Duration != 1500*time.Millisecond || s.TPOT.Duration != 40*time.Millisecond || s.ProfileRef != "gemma-l4" {
		t.Errorf("SLO %+v", s)
	}
	obj := ConfigMapObject(c, map[string]string{"sloTTFT": "1.5s"})
	if slo := obj["spec"].(map[string]any)["slo"]; len(slo.(map[string]any)) != 1 || slo.(map[string]any)["ttft"] != "1.5s" {
		t.Errorf("the schema would see spec.slo %v, want only ttft: 1.5s", slo)
	}
	_, errs = FromConfigMapData(map[string]string{"sloTTFT": "fast"})
	if len(errs) != 1 || errs[0].Field != "data.sloTTFT" || !strings.Contains(errs[0].Detail, "is not a duration; write e.g. sloTTFT=500ms") {
		t.Errorf("errors %v", errs)
	}
}
