package rules_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vllm-hpa/vllm-hpa/e2e/render"
	"github.com/vllm-hpa/vllm-hpa/e2e/rules"
)

const gpuWorkload = `apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm-gemma, namespace: default, labels: {app: vllm-gemma}}
spec:
  selector: {matchLabels: {app: vllm-gemma}}
  template:
    metadata: {labels: {app: vllm-gemma}}
    spec:
      containers:
      - {name: vllm, image: vllm/vllm-openai:v0.30.0, ports: [{name: metrics, containerPort: 8000}]}
`

const gpuConfig = `apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata: {name: gemma, namespace: default}
spec:
  strategy: gpu
  scaleTargetRef: {name: vllm-gemma}
  minReplicas: 1
  maxReplicas: 4
`

// renderGPU renders the gpu strategy through kustomize and the function.
func renderGPU(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	tools := render.TestTools(t)
	out, err := tools.Config(context.Background(), t.TempDir(), gpuWorkload, gpuConfig)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// GPUs on three nodes: a pod with two GPUs, a pod with one, an idle GPU,
// and a pod in another namespace.
var gpus = []rules.GPU{
	{Node: "gke-l4-pool-a", ExporterPod: "dcgm-exporter-7xk2p", Index: "0", Namespace: "default", Pod: "vllm-gemma-5f7c9-abcde", Util: 90},
	{Node: "gke-l4-pool-a", ExporterPod: "dcgm-exporter-7xk2p", Index: "1", Namespace: "default", Pod: "vllm-gemma-5f7c9-abcde", Util: 70},
	{Node: "gke-l4-pool-b", ExporterPod: "dcgm-exporter-q9d4m", Index: "0", Namespace: "default", Pod: "vllm-gemma-5f7c9-fghij", Util: 30},
	{Node: "gke-l4-pool-b", ExporterPod: "dcgm-exporter-q9d4m", Index: "1", Util: 0},
	{Node: "gke-l4-pool-c", ExporterPod: "dcgm-exporter-zt8wr", Index: "0", Namespace: "team-b", Pod: "vllm-llama-6d8b7-klmno", Util: 55},
}

// What the recording rule must produce from gpus: one series per vLLM pod,
// named by the workload's namespace and pod, valued at the mean over the
// pod's GPUs (the adapter sums a pod's series, so a sum here would double
// abcde's 80 to 160).
var wantRecorded = map[string]float64{
	`{namespace="default", pod="vllm-gemma-5f7c9-abcde"}`: 80,
	`{namespace="default", pod="vllm-gemma-5f7c9-fghij"}`: 30,
	`{namespace="team-b", pod="vllm-llama-6d8b7-klmno"}`:  55,
}

// TestGPURecordingRule evaluates the generated ClusterRules expression with
// the Prometheus engine over DCGM series shaped as GKE's exporter produces
// them, scraped through the generated ClusterPodMonitoring.
func TestGPURecordingRule(t *testing.T) {
	objs := renderGPU(t)
	monitorings := render.Find(objs, "monitoring.googleapis.com/v1", "ClusterPodMonitoring")
	if len(monitorings) != 1 {
		t.Fatalf("rendered %d ClusterPodMonitoring objects, want 1", len(monitorings))
	}
	job := monitorings[0].GetName() // GMP sets job to the (Cluster)PodMonitoring's name.
	recs, err := rules.RecordingRules(objs, "ClusterRules")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("rendered %d ClusterRules recording rules, want 1: %+v", len(recs), recs)
	}
	rec := recs[0]
	assertHPAUsesRecord(t, objs, rec.Record)

	relabeling, err := rules.MetricRelabeling(monitorings[0])
	if err != nil {
		t.Fatal(err)
	}
	// A second scrape of the same exporter under another job (say a user's own
	// PodMonitoring), taken at another moment, must not leak into the average.
	scraped := append(rules.ExporterSeries(job, gpus), rules.ExporterSeries("user-dcgm", earlier(gpus))...)
	stored := rules.Scrape(scraped, relabeling)
	if want := 2 * len(gpus); len(stored) != want {
		t.Fatalf("ClusterPodMonitoring metricRelabeling kept %d of %d series, want the %d DCGM_FI_DEV_GPU_UTIL series",
			len(stored), len(scraped), want)
	}

	scoped, err := rules.ScopeToNamespace(rec.Expr, "default")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ClusterRules expression:\n  %s\nas a namespaced Rules in default:\n  %s", rec.Expr, scoped)

	var script strings.Builder
	script.WriteString("load 15s\n")
	for _, s := range stored {
		fmt.Fprintf(&script, "  %s %gx4\n", labels.FromMap(s.Labels), s.Value)
	}
	fmt.Fprintf(&script, "\neval instant at 1m %s\n", oneLine(rec.Expr))
	for _, series := range sortedKeys(wantRecorded) {
		fmt.Fprintf(&script, "  %s %g\n", series, wantRecorded[series])
	}
	// No expected series: the same expression scoped to namespace default
	// selects nothing, because every DCGM series lives in gke-managed-system.
	fmt.Fprintf(&script, "\neval instant at 1m %s\n", oneLine(scoped))
	promqltest.RunTest(t, script.String(), promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery))
}

// assertHPAUsesRecord checks that the HPA asks the adapter for the series
// the rule records, under the name Managed Service for Prometheus gives it.
func assertHPAUsesRecord(t *testing.T, objs []*unstructured.Unstructured, record string) {
	t.Helper()
	hpas := render.Find(objs, "autoscaling/v2", "HorizontalPodAutoscaler")
	if len(hpas) != 1 {
		t.Fatalf("rendered %d HPAs, want 1", len(hpas))
	}
	metrics, _, _ := unstructured.NestedSlice(hpas[0].Object, "spec", "metrics")
	if len(metrics) != 1 {
		t.Fatalf("HPA has %d metrics, want 1", len(metrics))
	}
	name, _, _ := unstructured.NestedString(metrics[0].(map[string]any), "pods", "metric", "name")
	if want := "prometheus.googleapis.com|" + record + "|gauge"; name != want {
		t.Fatalf("HPA metric %q does not name the recorded series %q", name, want)
	}
}

// earlier returns the GPUs as a scrape some seconds apart would see them.
func earlier(gpus []rules.GPU) []rules.GPU {
	out := append([]rules.GPU(nil), gpus...)
	for i := range out {
		out[i].Util /= 2
	}
	return out
}

func oneLine(expr string) string { return strings.Join(strings.Fields(expr), " ") }

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
