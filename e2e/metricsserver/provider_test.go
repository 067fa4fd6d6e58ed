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
