package v1alpha1

import (
	"encoding/json"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDefaultByStrategy(t *testing.T) {
	for _, tc := range []struct {
		strategy    Strategy
		metric      string
		target      Quantity
		wantTargetV string
	}{
		{StrategyVLLM, DefaultVLLMMetric, DefaultVLLMTarget, "4"},
		{StrategyGPU, GPUMetric, DefaultGPUTarget, "20"},
	} {
		c := &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{Strategy: tc.strategy}}
		c.Default()
		s := c.Spec
		if c.Namespace != "default" || *s.MinReplicas != 1 || s.ScaleTargetRef.APIVersion != "apps/v1" || s.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("%s: namespace/min/target defaults wrong: %+v", tc.strategy, c)
		}
		if s.Metric.Name != tc.metric || *s.Metric.TargetAverageValue != tc.target || string(tc.target) != tc.wantTargetV {
			t.Errorf("%s: metric %s target %s, want %s %s", tc.strategy, s.Metric.Name, *s.Metric.TargetAverageValue, tc.metric, tc.target)
		}
		if *s.Scrape.Port != intstr.FromInt32(8000) || s.Scrape.Path != "/metrics" || s.Scrape.Interval != "15s" {
			t.Errorf("%s: scrape defaults %+v", tc.strategy, s.Scrape)
		}
		if *s.Behavior.ScaleDown.StabilizationWindowSeconds != 300 || s.Behavior.ScaleUp != nil {
			t.Errorf("%s: behavior default %+v", tc.strategy, s.Behavior)
		}
		if !*s.ClusterResources || s.Adapter.Image != DefaultAdapterImage {
			t.Errorf("%s: cluster resources or adapter image default wrong", tc.strategy)
		}
	}
}

func TestDefaultKeepsWhatIsSet(t *testing.T) {
	port := intstr.FromString("metrics")
	target := Quantity("0.8")
	c := &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{
		Strategy:       StrategyVLLM,
		ScaleTargetRef: ScaleTargetRef{Kind: "LeaderWorkerSet", Name: "x"},
		Metric:         &Metric{Name: "vllm:kv_cache_usage_perc", TargetAverageValue: &target},
		Scrape:         &Scrape{Port: &port},
	}}
	c.Default()
	if c.Spec.ScaleTargetRef.APIVersion != "leaderworkerset.x-k8s.io/v1" {
		t.Errorf("apiVersion for LeaderWorkerSet defaulted to %q", c.Spec.ScaleTargetRef.APIVersion)
	}
	if c.Spec.Metric.Name != "vllm:kv_cache_usage_perc" || *c.Spec.Metric.TargetAverageValue != "0.8" || c.Spec.Scrape.Port.StrVal != "metrics" {
		t.Errorf("set fields were overwritten: %+v %+v", c.Spec.Metric, c.Spec.Scrape)
	}
}

// valid returns a defaulted config that passes validation; tests break one field.
func valid() *VLLMHPAConfig {
	c := &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{
		Strategy:       StrategyVLLM,
		ScaleTargetRef: ScaleTargetRef{Name: "vllm-gemma"},
		MaxReplicas:    5,
		PodSelector:    map[string]string{"app": "vllm-gemma"},
	}}
	c.Name = "gemma"
	c.Default()
	return c
}

// TestValidate covers the checks the schema cannot state; required fields, enums
// and bounds are tested against the schema in fn/internal/schema.
func TestValidate(t *testing.T) {
	q := func(s string) *Quantity { v := Quantity(s); return &v }
	for _, tc := range []struct {
		name      string
		mutate    func(c *VLLMHPAConfig)
		wantField string
		wantMsg   string
	}{
		{"valid", func(c *VLLMHPAConfig) {}, "", ""},
		{"max below min", func(c *VLLMHPAConfig) { c.Spec.MaxReplicas = 2; *c.Spec.MinReplicas = 3 }, "spec.maxReplicas", "spec.maxReplicas: Invalid value: 2: is below minReplicas (3); raise maxReplicas or lower minReplicas"},
		{"name not a label", func(c *VLLMHPAConfig) { c.Name = "Gemma.3" }, "metadata.name", "is not a DNS-1123 label"},
		{"name too long", func(c *VLLMHPAConfig) { c.Name = strings.Repeat("a", 64) }, "metadata.name", "at most 63 characters"},
		{"target zero", func(c *VLLMHPAConfig) { c.Spec.Metric.TargetAverageValue = q("0") }, "spec.metric.targetAverageValue", "is not a positive quantity"},
		{"target garbage", func(c *VLLMHPAConfig) { c.Spec.Metric.TargetAverageValue = q("4 requests") }, "spec.metric.targetAverageValue", "is not a positive quantity"},
		{"target milli ok", func(c *VLLMHPAConfig) { c.Spec.Metric.TargetAverageValue = q("500m") }, "", ""},
		{"kv fraction above 1", func(c *VLLMHPAConfig) {
			c.Spec.Metric.Name = "vllm:kv_cache_usage_perc"
			c.Spec.Metric.TargetAverageValue = q("1.5")
		}, "spec.metric.targetAverageValue", "is a 0-1 fraction"},
		{"kv fraction 1 ok", func(c *VLLMHPAConfig) {
			c.Spec.Metric.Name = "vllm:kv_cache_usage_perc"
			c.Spec.Metric.TargetAverageValue = q("1")
		}, "", ""},
		{"removed metric", func(c *VLLMHPAConfig) { c.Spec.Metric.Name = "vllm:gpu_cache_usage_perc" }, "spec.metric.name", `use "vllm:kv_cache_usage_perc"`},
		{"bad metric name", func(c *VLLMHPAConfig) { c.Spec.Metric.Name = "vllm num running" }, "spec.metric.name", "is not a Prometheus metric name"},
		{"gpu above 100", func(c *VLLMHPAConfig) {
			c.Spec.Strategy, c.Spec.Metric.Name, c.Spec.Metric.TargetAverageValue = StrategyGPU, GPUMetric, q("101")
		}, "spec.metric.targetAverageValue", "is a percentage (0-100)"},
		{"gpu 100 ok", func(c *VLLMHPAConfig) {
			c.Spec.Strategy, c.Spec.Metric.Name, c.Spec.Metric.TargetAverageValue = StrategyGPU, GPUMetric, q("100")
		}, "", ""},
		{"interval", func(c *VLLMHPAConfig) { c.Spec.Scrape.Interval = "15" }, "spec.scrape.interval", "is not a Prometheus duration"},
		{"interval zero", func(c *VLLMHPAConfig) { c.Spec.Scrape.Interval = "0s" }, "spec.scrape.interval", "is not a Prometheus duration"},
		{"port 0", func(c *VLLMHPAConfig) { p := intstr.FromInt(0); c.Spec.Scrape.Port = &p }, "spec.scrape.port", "use 1-65535"},
		{"port 65535 ok", func(c *VLLMHPAConfig) { p := intstr.FromInt(65535); c.Spec.Scrape.Port = &p }, "", ""},
		{"port name too long", func(c *VLLMHPAConfig) { p := intstr.FromString("metrics-endpoint"); c.Spec.Scrape.Port = &p }, "spec.scrape.port", "is not a valid port name"},
		{"path", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "metrics" }, "spec.scrape.path", "must start with '/'"},
		{"no selector", func(c *VLLMHPAConfig) { c.Spec.PodSelector = nil }, "spec.podSelector", "Required value: strategy vllm scrapes the pods it selects"},
		{"gpu needs no selector", func(c *VLLMHPAConfig) {
			c.Spec.Strategy, c.Spec.Metric.Name, c.Spec.PodSelector = StrategyGPU, GPUMetric, nil
			c.Spec.Metric.TargetAverageValue = q("60")
		}, "", ""},
		{"bad label value", func(c *VLLMHPAConfig) { c.Spec.PodSelector["app"] = "vllm gemma" }, "spec.podSelector.app", "is not a valid label value"},
		{"target kind", func(c *VLLMHPAConfig) { c.Spec.ScaleTargetRef.Kind = "DaemonSet" }, "spec.scaleTargetRef.kind", `"apps/v1 Deployment", "apps/v1 StatefulSet", "leaderworkerset.x-k8s.io/v1 LeaderWorkerSet"`},
		{"gsa", func(c *VLLMHPAConfig) { c.Spec.Adapter.GCPServiceAccount = "metrics-reader" }, "spec.adapter.gcpServiceAccount", "is not a Google service account email"},
		{"gsa with a space", func(c *VLLMHPAConfig) { c.Spec.Adapter.GCPServiceAccount = "reader@p.iam.gserviceaccount.com " }, "spec.adapter.gcpServiceAccount", "NAME@PROJECT.iam.gserviceaccount.com"},
		{"gsa with a newline", func(c *VLLMHPAConfig) { c.Spec.Adapter.GCPServiceAccount = "reader@p.iam\n.gserviceaccount.com" }, "spec.adapter.gcpServiceAccount", "is not a Google service account email"},
		{"gsa with two @", func(c *VLLMHPAConfig) { c.Spec.Adapter.GCPServiceAccount = "a@b@p.iam.gserviceaccount.com" }, "spec.adapter.gcpServiceAccount", "is not a Google service account email"},
		{"gsa with no name", func(c *VLLMHPAConfig) { c.Spec.Adapter.GCPServiceAccount = "@p.iam.gserviceaccount.com" }, "spec.adapter.gcpServiceAccount", "is not a Google service account email"},
		{"gsa in upper case", func(c *VLLMHPAConfig) { c.Spec.Adapter.GCPServiceAccount = "Reader@p.iam.gserviceaccount.com" }, "spec.adapter.gcpServiceAccount", "is not a Google service account email"},
		{"gsa ok", func(c *VLLMHPAConfig) {
			c.Spec.Adapter.GCPServiceAccount = "metrics-reader@my-project.iam.gserviceaccount.com"
		}, "", ""},
		{"default compute gsa ok", func(c *VLLMHPAConfig) {
			c.Spec.Adapter.GCPServiceAccount = "123456789012-compute@developer.gserviceaccount.com"
		}, "", ""},
		{"path with a query", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "/metrics?format=prometheus" }, "spec.scrape.path", "holds a query string or a fragment"},
		{"path with a fragment", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "/metrics#top" }, "spec.scrape.path", "holds a query string or a fragment"},
		{"path with a space", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "/my metrics" }, "spec.scrape.path", "holds a space or a control character"},
		{"path with a tab", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "/metrics\t" }, "spec.scrape.path", "holds a space or a control character"},
		{"path with a NUL", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "/metrics\x00" }, "spec.scrape.path", "holds a space or a control character"},
		{"nested path ok", func(c *VLLMHPAConfig) { c.Spec.Scrape.Path = "/v1/metrics%20all" }, "", ""},
		{"select policy", func(c *VLLMHPAConfig) {
			p := autoscalingv2.ScalingPolicySelect("Fastest")
			c.Spec.Behavior.ScaleDown.SelectPolicy = &p
		}, "spec.behavior.scaleDown.selectPolicy", `Unsupported value: "Fastest": supported values: "Max", "Min", "Disabled"`},
		{"negative stabilization window", func(c *VLLMHPAConfig) { *c.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = -1 }, "spec.behavior.scaleDown.stabilizationWindowSeconds", "use 0 to 3600 seconds"},
		{"stabilization window of an hour ok", func(c *VLLMHPAConfig) { *c.Spec.Behavior.ScaleDown.StabilizationWindowSeconds = 3600 }, "", ""},
		{"policy period", func(c *VLLMHPAConfig) {
			c.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 3600}}}
		}, "spec.behavior.scaleUp.policies[0].periodSeconds", "use 1 to 1800 seconds"},
		{"policy type", func(c *VLLMHPAConfig) {
			c.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Replicas", Value: 2, PeriodSeconds: 60}}}
		}, "spec.behavior.scaleUp.policies[0].type", `supported values: "Pods", "Percent"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			errs := c.Validate()
			if tc.wantField == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want one on %s", len(errs), errs, tc.wantField)
			}
			if errs[0].Field != tc.wantField || !strings.Contains(errs[0].Error(), tc.wantMsg) {
				t.Errorf("got %q\nwant %s: ...%q...", errs[0].Error(), tc.wantField, tc.wantMsg)
			}
		})
	}
}

func TestFromConfigMapData(t *testing.T) {
	c, errs := FromConfigMapData(map[string]string{
		"name": "gemma", "strategy": "gpu", "targetName": "vllm-gemma", "targetKind": "StatefulSet",
		"minReplicas": "2", "maxReplicas": "8", "targetAverageValue": "60", "podSelector": "app=a, tier = b",
		"scrapePort": "8080", "clusterResources": "false", "gcpServiceAccount": "x@p.iam.gserviceaccount.com",
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := c.Spec
	if c.Name != "gemma" || s.Strategy != StrategyGPU || s.ScaleTargetRef.Name != "vllm-gemma" || s.ScaleTargetRef.Kind != "StatefulSet" ||
		*s.MinReplicas != 2 || s.MaxReplicas != 8 || *s.Metric.TargetAverageValue != "60" || *s.ClusterResources ||
		s.PodSelector["app"] != "a" || s.PodSelector["tier"] != "b" || *s.Scrape.Port != intstr.FromInt(8080) ||
		s.Adapter.GCPServiceAccount != "x@p.iam.gserviceaccount.com" {
		t.Errorf("wrong config: %+v", c)
	}
	_, errs = FromConfigMapData(map[string]string{"maxReplica": "5", "minReplicas": "two", "podSelector": "app", "clusterResources": "yes"})
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if got := strings.Join(fields, ","); got != "data.clusterResources,data.maxReplica,data.minReplicas,data.podSelector" {
		t.Errorf("error fields %s", got)
	}
	_, errs = FromConfigMapData(map[string]string{"podSelector": "app=a,tier=b,app=c"})
	if len(errs) != 1 || errs[0].Field != "data.podSelector" || !strings.Contains(errs[0].Detail, `gives the label "app" twice`) {
		t.Errorf("a podSelector that gives a label twice: %v", errs)
	}
	if ConfigMapField("spec.podSelector.app") != "data.podSelector" || ConfigMapField("spec.behavior") != "spec.behavior" {
		t.Error("ConfigMapField maps wrongly")
	}
}

// The keys of this release's fields: metric labels as k=v pairs, the external
// metrics switch and the GPU source.
func TestFromConfigMapDataNewKeys(t *testing.T) {
	c, errs := FromConfigMapData(map[string]string{
		"name": "gemma", "metric": "vllm:num_requests_waiting_by_reason", "metricLabels": "reason=capacity",
		"adapterExternalMetrics": "true", "gpuSource": "gke-managed",
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := c.Spec
	if s.Metric.Labels["reason"] != "capacity" || !*s.Adapter.ExternalMetrics || s.GPU.Source != GPUSourceGKEManaged {
		t.Errorf("wrong config: %+v %+v %+v", s.Metric, s.Adapter, s.GPU)
	}
	_, errs = FromConfigMapData(map[string]string{"metricLabels": "reason", "adapterExternalMetrics": "maybe"})
	if len(errs) != 2 || errs[0].Field != "data.adapterExternalMetrics" || errs[1].Field != "data.metricLabels" {
		t.Errorf("errors %+v", errs)
	}
	if ConfigMapField("spec.metric.labels.reason") != "data.metricLabels" || ConfigMapField("spec.gpu.source") != "data.gpuSource" {
		t.Error("ConfigMapField maps the new keys wrongly")
	}
}

func TestQuantityDecoding(t *testing.T) {
	for in, want := range map[string]Quantity{`"500m"`: "500m", `4`: "4", `0.8`: "0.8", `1e3`: "1e3"} {
		var q Quantity
		if err := json.Unmarshal([]byte(in), &q); err != nil || q != want {
			t.Errorf("%s: got %q, %v; want %q", in, q, err, want)
		}
	}
	var q Quantity
	if err := json.Unmarshal([]byte(`true`), &q); err == nil {
		t.Error("a boolean decoded as a quantity")
	}
}
