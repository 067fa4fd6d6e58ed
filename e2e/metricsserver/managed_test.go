package metricsserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// am is an AutoscalingMetric in the documented form that exposes
// vllm:num_requests_running of the app=vllm pods as gauge running.
func am(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.gke.io/v1beta1", "kind": "AutoscalingMetric",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"metrics": []any{map[string]any{"pod": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "vllm"}},
			"containers": []any{map[string]any{
				"endpoint": map[string]any{"port": int64(8000), "path": "/metrics"},
				"metrics":  []any{map[string]any{"gauge": map[string]any{"name": "running", "prometheusMetricName": "vllm:num_requests_running"}}},
			}},
		}}}},
	}}
}

// TestManagedAdapterReadsThePods: the stand-in of GKE's managed adapter finds
// the AutoscalingMetric the HPA's metric name names, scrapes each selected pod
// at the object's path and serves the gauge per pod; a pod with several series
// left by the selector, or with the name as another type, has no value; the
// Stackdriver adapter's metric.labels. keys and unknown objects are refused.
func TestManagedAdapterReadsThePods(t *testing.T) {
	pages := map[string]string{
		"a": "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 3\n",
		"b": "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\"} 2\nvllm:num_requests_running{engine=\"1\"} 5\n",
		"c": "# TYPE vllm:num_requests_running counter\nvllm:num_requests_running 7\n",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pod, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/pods/"), "/metrics")
		if !ok || pages[pod] == "" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, pages[pod])
	}))
	defer srv.Close()
	reg := &Registry{}
	reg.SetPodEndpoints("default", func() map[string]string {
		out := map[string]string{}
		for pod := range pages {
			// The path the AutoscalingMetric names is appended to this base.
			out[pod] = srv.URL + "/pods/" + pod
		}
		return out
	})
	p := &podMetrics{
		client:  fake.NewClientset(pod("default", "a"), pod("default", "b"), pod("default", "c")),
		dynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), am("default", "gemma")),
		sources: reg,
	}
	ctx := context.Background()
	values, err := p.managedPerPod(ctx, "default", "autoscaling.gke.io|gemma|running", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(values) != 1 || values["a"] != 3 {
		t.Errorf("values %v, want a=3 alone (b has two series, c's family is a counter)", values)
	}
	values, err = p.managedPerPod(ctx, "default", "autoscaling.gke.io|gemma|running", labels.SelectorFromSet(labels.Set{"engine": "1"}))
	if err != nil || len(values) != 1 || values["b"] != 5 {
		t.Errorf("with engine=1: %v, %v; want b=5", values, err)
	}
	if got := reg.LastRead("autoscaling.gke.io|gemma|running"); got["b"] != 5 {
		t.Errorf("LastRead %v", got)
	}
	if _, err := p.managedPerPod(ctx, "default", "autoscaling.gke.io|gemma|running", labels.SelectorFromSet(labels.Set{"metric.labels.engine": "1"})); !apierrors.IsBadRequest(err) {
		t.Errorf("metric.labels. key: %v, want a bad request", err)
	}
	for _, name := range []string{"autoscaling.gke.io|llama|running", "autoscaling.gke.io|gemma|waiting"} {
		info := provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: name}
		if _, err := p.GetMetricBySelector(ctx, "default", labels.Everything(), info, labels.Everything()); !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
}
