package v1alpha1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestGKEGaugeName(t *testing.T) {
	for in, want := range map[string]string{
		"vllm:num_requests_running":           "vllm-num-requests-running",
		"vllm:num_requests_waiting_by_reason": "vllm-num-requests-waiting-by-reason",
		"vllm:kv_cache_usage_perc":            "vllm-kv-cache-usage-perc",
		"_Custom::Gauge__":                    "custom-gauge",
		"::":                                  "",
	} {
		if got := GKEGaugeName(in); got != want {
			t.Errorf("GKEGaugeName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := GKEMetricName("gemma", "vllm-num-requests-running"); got != "autoscaling.gke.io|gemma|vllm-num-requests-running" {
		t.Errorf("GKEMetricName = %q", got)
	}
}

func TestDefaultBackend(t *testing.T) {
	c := valid()
	if c.Spec.Backend != BackendAdapter || !*c.Spec.Scrape.Monitoring || !c.UsesAdapter() {
		t.Errorf("adapter defaults: backend %q, monitoring %v", c.Spec.Backend, *c.Spec.Scrape.Monitoring)
	}
	c = &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{Strategy: StrategyVLLM, Backend: BackendGKE,
		Adapter: &Adapter{WorkloadIdentity: &WorkloadIdentity{ProjectID: "my-project", ProjectNumber: "1"}}}}
	c.Default()
	if *c.Spec.Scrape.Monitoring || c.UsesAdapter() || c.Spec.Adapter.WorkloadIdentity.Namespace != "my-project" {
		t.Errorf("gke defaults: monitoring %v, workload identity namespace %q", *c.Spec.Scrape.Monitoring, c.Spec.Adapter.WorkloadIdentity.Namespace)
	}
	yes := true
	c = &VLLMHPAConfig{Spec: VLLMHPAConfigSpec{Strategy: StrategyVLLM, Backend: BackendGKE, Scrape: &Scrape{Monitoring: &yes}}}
	c.Default()
	if !*c.Spec.Scrape.Monitoring {
		t.Error("Default overwrote spec.scrape.monitoring: true")
	}
}

// TestValidateBackend covers every error of spec.backend, spec.scrape.monitoring
// and spec.adapter.workloadIdentity: one error, on the field named.
func TestValidateBackend(t *testing.T) {
	no := false
	gke := func(c *VLLMHPAConfig) { c.Spec.Backend = BackendGKE; *c.Spec.Scrape.Monitoring = false }
	wi := func(c *VLLMHPAConfig) *WorkloadIdentity {
		c.Spec.Adapter.WorkloadIdentity = &WorkloadIdentity{ProjectID: "my-project", ProjectNumber: "123456789012", Namespace: "my-project"}
		return c.Spec.Adapter.WorkloadIdentity
	}
	for _, tc := range []struct {
		name      string
		mutate    func(c *VLLMHPAConfig)
		wantField string
		wantMsg   string
	}{
		{"gke valid", gke, "", ""},
		{"gke gpu", func(c *VLLMHPAConfig) {
			gke(c)
			c.Spec.Strategy, c.Spec.Metric.Name = StrategyGPU, GPUMetric
		}, "spec.backend", "use spec.backend: adapter"},
		{"gke named port", func(c *VLLMHPAConfig) {
			gke(c)
			p := intstr.FromString("metrics")
			c.Spec.Scrape.Port = &p
		}, "spec.scrape.port", "takes the port number"},
		{"gke gauge name too long", func(c *VLLMHPAConfig) {
			gke(c)
			c.Spec.Metric.Name = "vllm:" + strings.Repeat("x", 60)
		}, "spec.metric.name", "is not a DNS-1123 label"},
		{"gke gauge name empty", func(c *VLLMHPAConfig) { gke(c); c.Spec.Metric.Name = "::" }, "spec.metric.name", `gauge name ""`},
		{"gke metrics entry gauge name too long", func(c *VLLMHPAConfig) {
			gke(c)
			four := Quantity("4")
			c.Spec.Metric = nil
			c.Spec.Metrics = []MetricEntry{
				{Metric: Metric{Name: DefaultVLLMMetric, TargetAverageValue: &four}},
				{Metric: Metric{Name: "vllm:" + strings.Repeat("x", 60), TargetAverageValue: &four}},
			}
		}, "spec.metrics[1].name", "is not a DNS-1123 label"},
		{"gke metrics one gauge name", func(c *VLLMHPAConfig) {
			gke(c)
			four := Quantity("4")
			c.Spec.Metric = nil
			c.Spec.Metrics = []MetricEntry{
				{Metric: Metric{Name: "vllm:a_b", TargetAverageValue: &four}},
				{Metric: Metric{Name: "vllm:a:b", TargetAverageValue: &four}},
			}
		}, "spec.metrics[1].name", `which vllm:a_b gives too`},
		{"gke monitoring on", func(c *VLLMHPAConfig) { gke(c); *c.Spec.Scrape.Monitoring = true }, "", ""},
		{"adapter monitoring off", func(c *VLLMHPAConfig) { c.Spec.Scrape.Monitoring = &no }, "spec.scrape.monitoring", "cannot be used with backend adapter"},
		{"gpu adapter monitoring off", func(c *VLLMHPAConfig) {
			c.Spec.Strategy, c.Spec.Metric.Name, c.Spec.Scrape.Monitoring = StrategyGPU, GPUMetric, &no
			c.Spec.Metric.TargetAverageValue = ptr.To(Quantity("60"))
		}, "", ""},
		{"workload identity valid", func(c *VLLMHPAConfig) { wi(c) }, "", ""},
		{"workload identity gsa valid", func(c *VLLMHPAConfig) {
			wi(c)
			c.Spec.Adapter.GCPServiceAccount = "reader@other-project.iam.gserviceaccount.com"
		}, "", ""},
		{"workload identity on gke", func(c *VLLMHPAConfig) { gke(c); wi(c) }, "spec.adapter.workloadIdentity", "backend gke needs no IAM grant"},
		{"project id missing", func(c *VLLMHPAConfig) { wi(c).ProjectID = "" }, "spec.adapter.workloadIdentity.projectID", "is required"},
		{"project id short", func(c *VLLMHPAConfig) { wi(c).ProjectID = "proj" }, "spec.adapter.workloadIdentity.projectID", "is not a Google Cloud project ID"},
		{"project id trailing hyphen", func(c *VLLMHPAConfig) { wi(c).ProjectID = "my-project-" }, "spec.adapter.workloadIdentity.projectID", "not ending with '-'"},
		{"project number missing", func(c *VLLMHPAConfig) { wi(c).ProjectNumber = "" }, "spec.adapter.workloadIdentity.projectNumber", "is required"},
		{"project number letters", func(c *VLLMHPAConfig) { wi(c).ProjectNumber = "12ab" }, "spec.adapter.workloadIdentity.projectNumber", "is all digits"},
		{"namespace", func(c *VLLMHPAConfig) { wi(c).Namespace = "Config_Connector" }, "spec.adapter.workloadIdentity.namespace", "is not a valid namespace"},
		{"gsa without project", func(c *VLLMHPAConfig) {
			wi(c)
			c.Spec.Adapter.GCPServiceAccount = "my-project@appspot.gserviceaccount.com"
		}, "spec.adapter.gcpServiceAccount", "does not name its project"},
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
			if errs[0].Field != tc.wantField || !strings.Contains(errs[0].Detail, tc.wantMsg) {
				t.Errorf("got %s: %q\nwant %s: ...%q...", errs[0].Field, errs[0].Detail, tc.wantField, tc.wantMsg)
			}
		})
	}
}

func TestBackendWarnings(t *testing.T) {
	c := valid()
	c.Spec.PodSelector = map[string]string{"app.kubernetes.io/name": "vllm", "tier_1": "x", "app-name": "y"}
	if w := c.BackendWarnings(); len(w) != 0 {
		t.Errorf("backend adapter warned: %v", w)
	}
	c.Spec.Backend = BackendGKE
	w := c.BackendWarnings()
	if len(w) != 1 || w[0].Field != "spec.podSelector.app.kubernetes.io/name" || !strings.Contains(w[0].Detail, GKEGAVersion) {
		t.Errorf("warnings %v, want one on the key with '.' and '/'", w)
	}
}

func TestFromConfigMapDataBackendKeys(t *testing.T) {
	c, errs := FromConfigMapData(map[string]string{
		"name": "gemma", "backend": "gke", "scrapeMonitoring": "true",
		"workloadIdentityProjectID": "my-project", "workloadIdentityProjectNumber": "123", "workloadIdentityNamespace": "kcc",
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := c.Spec
	if s.Backend != BackendGKE || !*s.Scrape.Monitoring || *s.Adapter.WorkloadIdentity != (WorkloadIdentity{ProjectID: "my-project", ProjectNumber: "123", Namespace: "kcc"}) {
		t.Errorf("wrong config: %+v %+v %+v", s.Backend, s.Scrape, s.Adapter.WorkloadIdentity)
	}
	if _, errs = FromConfigMapData(map[string]string{"scrapeMonitoring": "sometimes"}); len(errs) != 1 || errs[0].Field != "data.scrapeMonitoring" {
		t.Errorf("errors %+v", errs)
	}
	if ConfigMapField("spec.adapter.workloadIdentity.projectNumber") != "data.workloadIdentityProjectNumber" || ConfigMapField("spec.backend") != "data.backend" {
		t.Error("ConfigMapField maps the backend keys wrongly")
	}
}
