package metricsserver

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "vllm"}}}
}

// The stand-in must answer like the Stackdriver adapter: a pod's value is the
// sum of its series, only the pod's own namespace counts, pods without
// series are left out, and only prometheus.googleapis.com|<name>|gauge exists.
func TestPerPodValueIsTheSumOfThePodsSeries(t *testing.T) {
	client := fake.NewClientset(pod("default", "a"), pod("default", "b"), pod("default", "c"))
	src := &Static{}
	src.Set([]Series{
		{Labels: map[string]string{"namespace": "default", "pod": "a", "gpu": "0"}, Value: 90},
		{Labels: map[string]string{"namespace": "default", "pod": "a", "gpu": "1"}, Value: 70},
		{Labels: map[string]string{"namespace": "default", "pod": "b"}, Value: 3},
		{Labels: map[string]string{"namespace": "other", "pod": "b"}, Value: 1000},
	})
	reg := &Registry{}
	reg.Set("dcgm_fi_dev_gpu_util", src)
	p := &podMetrics{client: client, sources: reg}
	info := provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: "prometheus.googleapis.com|dcgm_fi_dev_gpu_util|gauge"}
	sel := labels.SelectorFromSet(labels.Set{"app": "vllm"})

	list, err := p.GetMetricBySelector(context.Background(), "default", sel, info, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, v := range list.Items {
		got[v.DescribedObject.Name] = v.Value.MilliValue()
	}
	want := map[string]int64{"a": 160_000, "b": 3_000}
	if len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] {
		t.Fatalf("per-pod values (milli) = %v, want %v", got, want)
	}

	for _, name := range []string{
		"dcgm_fi_dev_gpu_util",
		"prometheus.googleapis.com|dcgm_fi_dev_gpu_util|counter",
		"prometheus.googleapis.com|DCGM_FI_DEV_GPU_UTIL|gauge",
		"custom.googleapis.com|dcgm_fi_dev_gpu_util|gauge",
	} {
		info.Metric = name
		if _, err := p.GetMetricBySelector(context.Background(), "default", sel, info, labels.Everything()); err == nil {
			t.Errorf("metric %q was served; the adapter has no such metric", name)
		}
	}
}

// The stand-in applies a Pods metric's selector as the adapter does: only
// metric.labels.<name> keys, matched against the metric's labels and never the
// resource labels GMP keeps apart (job, namespace, ...).
func TestMetricSelectorIsTheAdapters(t *testing.T) {
	client := fake.NewClientset(pod("default", "a"))
	src := &Static{}
	src.Set([]Series{
		{Labels: map[string]string{"job": "vllm-gemma", "namespace": "default", "pod": "a", "vllmhpa_config": "gemma", "engine": "0"}, Value: 3},
		{Labels: map[string]string{"job": "vllm-gemma", "namespace": "default", "pod": "a", "vllmhpa_config": "gemma", "engine": "1"}, Value: 1},
		{Labels: map[string]string{"job": "gke-app-monitoring", "namespace": "default", "pod": "a", "engine": "0"}, Value: 3},
		{Labels: map[string]string{"job": "gke-app-monitoring", "namespace": "default", "pod": "a", "engine": "1"}, Value: 1},
	})
	reg := &Registry{}
	reg.Set("vllm:num_requests_running", src)
	p := &podMetrics{client: client, sources: reg}
	info := provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: "prometheus.googleapis.com|vllm:num_requests_running|gauge"}
	pods := labels.SelectorFromSet(labels.Set{"app": "vllm"})
	value := func(selector string) (int64, error) {
		sel, err := labels.Parse(selector)
		if err != nil {
			t.Fatal(err)
		}
		list, err := p.GetMetricBySelector(context.Background(), "default", pods, info, sel)
		if err != nil {
			return 0, err
		}
		if len(list.Items) == 0 {
			return -1, nil
		}
		return list.Items[0].Value.MilliValue(), nil
	}
	for selector, want := range map[string]int64{
		"":                                   8_000, // both scrapes, both engines: the sum
		"metric.labels.vllmhpa_config=gemma": 4_000, // one scrape, both engines
		"metric.labels.vllmhpa_config=gemma,metric.labels.engine=0": 3_000,
		"metric.labels.vllmhpa_config":                              4_000, // exists
		"metric.labels.job=vllm-gemma":                              -1,    // job is a resource label: no metric has it
	} {
		if got, err := value(selector); err != nil || got != want {
			t.Errorf("selector %q: %d milli (%v), want %d", selector, got, err, want)
		}
	}
	for _, selector := range []string{"vllmhpa_config=gemma", "reducer=REDUCE_MEAN", "!metric.labels.engine"} {
		if _, err := value(selector); err == nil {
			t.Errorf("selector %q was accepted; the adapter refuses it", selector)
		}
	}
	if got := reg.Served("vllm:num_requests_running"); got != 8 {
		t.Errorf("served %d requests, counted %d", 8, got)
	}
}
