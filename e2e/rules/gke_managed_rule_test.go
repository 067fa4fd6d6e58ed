package rules_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/e2e/render"
	"github.com/vllm-hpa/vllm-hpa/e2e/rules"
)

// gkeManagedJob is the job of GKE's own scrape of its DCGM exporter, the
// ClusterPodMonitoring gke-managed-dcgm-exporter.
const gkeManagedJob = "gke-managed-dcgm-exporter"

// TestGKEManagedGPURecordingRule: with spec.gpu.source: gke-managed the function
// adds no scrape, and the generated ClusterRules expression, evaluated by the
// Prometheus engine, turns the series of GKE's job into one per vLLM pod, at the
// mean over its GPUs, whichever way that scrape leaves the workload's identity:
// in exported_namespace and exported_pod (GMP's default target labels), in
// exported_namespace and pod (no pod target label), or in namespace and pod.
// Another job scraping the same exporter does not leak in.
func TestGKEManagedGPURecordingRule(t *testing.T) {
	tools := render.TestTools(t)
	out, err := tools.Config(context.Background(), t.TempDir(), gpuWorkload, gpuConfig+"  gpu: {source: gke-managed}\n")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	if cpm := render.Find(objs, "monitoring.googleapis.com/v1", "ClusterPodMonitoring"); len(cpm) != 0 {
		t.Fatalf("source gke-managed rendered %d ClusterPodMonitoring objects, want none", len(cpm))
	}
	recs, err := rules.RecordingRules(objs, "ClusterRules")
	if err != nil || len(recs) != 1 {
		t.Fatalf("want one ClusterRules recording rule, got %+v (%v)", recs, err)
	}
	rec := recs[0]
	assertHPAUsesRecord(t, objs, rec.Record)
	if rec.Interval != "30s" {
		t.Errorf("rule group interval %q, want GKE's scrape interval 30s", rec.Interval)
	}

	shapes := map[string]func(map[string]string){
		"exported_namespace and exported_pod": func(map[string]string) {},
		"exported_namespace and pod": func(l map[string]string) {
			if p, ok := l["exported_pod"]; ok {
				l["pod"] = p
				delete(l, "exported_pod")
			} else {
				delete(l, "pod")
			}
		},
		"namespace and pod": func(l map[string]string) {
			if ns, ok := l["exported_namespace"]; ok {
				l["namespace"], l["pod"] = ns, l["exported_pod"]
				delete(l, "exported_namespace")
				delete(l, "exported_pod")
			}
		},
	}
	eval, err := rules.NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	defer eval.Close()
	for name, shape := range shapes {
		var in []rules.Series
		for _, s := range append(rules.ExporterSeries(gkeManagedJob, gpus), rules.ExporterSeries("user-dcgm", earlier(gpus))...) {
			l := maps.Clone(s.Labels)
			shape(l)
			in = append(in, rules.Series{Labels: l, Value: s.Value})
		}
		recorded, err := eval.Evaluate(context.Background(), rec.Expr, in)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, r := range recorded {
			got[fmt.Sprintf(`{namespace=%q, pod=%q}`, r.Labels["namespace"], r.Labels["pod"])] = r.Value
		}
		if !maps.Equal(got, wantRecorded) {
			t.Errorf("%s: recorded %v, want %v", name, got, wantRecorded)
		}
	}
}
