package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vllm-hpa/vllm-hpa/e2e/metricsserver"
	"github.com/vllm-hpa/vllm-hpa/e2e/rules"
)

// otherJob is a second scrape of the same vLLM pods, such as the PodMonitoring
// GKE's automatic application monitoring deploys for each vLLM workload it
// detects: its own job, no relabeling.
const otherJob = "vllm-app-monitoring"

// vllmPod is what one vLLM pod exports of a gauge: one value per engine (vLLM
// labels a data-parallel engine's series engine="<index>").
type vllmPod struct {
	name    string
	engines []float64
}

// exported returns the series Managed Service for Prometheus stores when job
// scrapes pods: the pods' own labels, then the target labels.
func exported(gauge, ns, job string, pods []vllmPod) []rules.Series {
	var out []rules.Series
	for _, p := range pods {
		for i, v := range p.engines {
			out = append(out, rules.Series{Value: v, Labels: map[string]string{
				"__name__": gauge, "model_name": "gemma", "engine": strconv.Itoa(i),
				"job": job, "namespace": ns, "pod": p.name, "instance": p.name + ":8000", "container": "vllm",
			}})
		}
	}
	return out
}

// ownScrape applies the generated PodMonitoring to series scraped from its
// pods: its job, and its metricRelabeling with Prometheus's relabel code.
func ownScrape(t *testing.T, monitoring *unstructured.Unstructured) func([]rules.Series) []metricsserver.Series {
	t.Helper()
	relabeling, err := rules.MetricRelabeling(monitoring)
	if err != nil {
		t.Fatal(err)
	}
	return func(series []rules.Series) []metricsserver.Series {
		var withJob []rules.Series
		for _, s := range series {
			l := map[string]string{"job": monitoring.GetName()}
			for k, v := range s.Labels {
				if k != "job" {
					l[k] = v
				}
			}
			withJob = append(withJob, rules.Series{Labels: l, Value: s.Value})
		}
		return toServer(rules.Scrape(withJob, relabeling))
	}
}

func toServer(series []rules.Series) []metricsserver.Series {
	out := make([]metricsserver.Series, len(series))
	for i, s := range series {
		out[i] = metricsserver.Series{Labels: s.Labels, Value: s.Value}
	}
	return out
}

// TestMetricCannotBeDoubled: a second scrape of the same pods and a pod with
// two engines do not change what the HPA sees or the replicas it wants. For a
// count the HPA reads the pod's total over its engines from the config's own
// scrape only (the marker its PodMonitoring writes, selected as
// metric.labels.vllmhpa_config); for a fraction, the per-pod mean that the
// generated Rules records from that scrape, evaluated by the Prometheus engine
// as GMP scopes a namespaced Rules. The same series read without the HPA's
// selector, as the adapter would serve them, are shown to be double.
func TestMetricCannotBeDoubled(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)
	for _, tc := range []struct {
		name, metric, target string
		twoEngines           []float64 // one pod's engines once it runs two; their total or mean is the target
		doubled              float64   // the second pod's value without the selector: both scrapes, summed
	}{
		{"count", "vllm:num_requests_running", "4", []float64{3, 1}, 8},
		{"fraction", "vllm:kv_cache_usage_perc", "0.6", []float64{0.5, 0.7}, 2.4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, name := "double-"+tc.name, "vllm-gemma"
			e.ensureNamespace(t, ns)
			_, objs := e.renderConfig(t, workload(ns, name), doubleConfig(ns, name, tc.metric, tc.target))
			hpa := renderedHPA(t, objs)
			read := prometheusName(t, hpa)
			own := ownScrape(t, only(t, objs, "monitoring.googleapis.com/v1", "PodMonitoring"))

			var mu sync.Mutex
			var pods []vllmPod
			secondScrape := false
			scraped := func() []metricsserver.Series {
				mu.Lock()
				defer mu.Unlock()
				all := own(exported(tc.metric, ns, "", pods))
				if secondScrape {
					all = append(all, toServer(exported(tc.metric, ns, otherJob, pods))...)
				}
				return all
			}
			// What the adapter can serve of the raw gauge: every series ingested.
			e.gauges.Set(tc.metric, metricsserver.SourceFunc(func(context.Context) ([]metricsserver.Series, error) { return scraped(), nil }))
			t.Cleanup(func() { e.gauges.Set(tc.metric, nil) })
			if read != tc.metric {
				e.gauges.Set(read, recorded(t, objs, ns, read, scraped))
				t.Cleanup(func() { e.gauges.Set(read, nil) })
			}
			e.wireAdapter(t, objs)

			s := &scaling{e: e, t: t, hpa: hpa}
			names := s.waitReady(hpa.min)
			want := hpa.target
			// One scrape, one engine per pod, each pod at the target.
			mu.Lock()
			pods = []vllmPod{{names[0], []float64{want}}, {names[1], []float64{want}}}
			mu.Unlock()
			before := s.waitAverage(want)

			// A second scrape of the same pods, and the second pod on two engines.
			mu.Lock()
			pods[1].engines = tc.twoEngines
			secondScrape = true
			mu.Unlock()
			after := s.afterReads(read, 2)
			if after.Status.DesiredReplicas != before.Status.DesiredReplicas || !after.Status.LastScaleTime.Equal(before.Status.LastScaleTime) {
				t.Errorf("the HPA went from %d to %d desired replicas (last scale %v, then %v)",
					before.Status.DesiredReplicas, after.Status.DesiredReplicas, before.Status.LastScaleTime, after.Status.LastScaleTime)
			}
			seen := currentAverage(t, after)
			if math.Abs(seen-want) > 1e-9 {
				t.Errorf("the HPA saw an average of %v, want %v", seen, want)
			}
			// The same pods through the aggregator without the HPA's selector.
			if got := e.podValue(t, ns, tc.metric, "", names[1]); math.Abs(got-tc.doubled) > 1e-9 {
				t.Errorf("without the selector pod %s reads %v, want %v: the series are not doubled and prove nothing", names[1], got, tc.doubled)
			}
			t.Logf("%s: two scrapes and a two-engine pod: the HPA sees %v per pod and wants %d replicas (before: %d); without the selector that pod reads %v",
				tc.metric, seen, after.Status.DesiredReplicas, before.Status.DesiredReplicas, tc.doubled)
		})
	}
}

// doubleConfig scales on metric between 2 and 6 replicas.
func doubleConfig(namespace, name, metric, target string) string {
	return fmt.Sprintf(`apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  strategy: vllm
  scaleTargetRef: {name: %[2]s}
  minReplicas: 2
  maxReplicas: 6
  metric: {name: %[3]q, targetAverageValue: %[4]q}
  podSelector: {app: %[2]s}
`, namespace, name, metric, target)
}

// recorded evaluates the generated Rules recording read over the scraped series
// on every request, with the namespace matcher GMP adds to a namespaced Rules.
func recorded(t *testing.T, objs []*unstructured.Unstructured, ns, read string, scraped func() []metricsserver.Series) metricsserver.Source {
	t.Helper()
	recs, err := rules.RecordingRules(objs, "Rules")
	if err != nil || len(recs) != 1 || recs[0].Record != read {
		t.Fatalf("want one Rules recording %s, got %v (%v)", read, recs, err)
	}
	expr, err := rules.ScopeToNamespace(recs[0].Expr, ns)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := rules.NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eval.Close() })
	return metricsserver.SourceFunc(func(ctx context.Context) ([]metricsserver.Series, error) {
		var in []rules.Series
		for _, s := range scraped() {
			in = append(in, rules.Series{Labels: s.Labels, Value: s.Value})
		}
		out, err := eval.Evaluate(ctx, expr, in)
		return toServer(out), err
	})
}

// waitAverage waits until the HPA reads value per pod from a valid metric.
func (s *scaling) waitAverage(value float64) *autoscalingv2.HorizontalPodAutoscaler {
	s.t.Helper()
	var got *autoscalingv2.HorizontalPodAutoscaler
	s.e.poll(s.t, 2*time.Minute, fmt.Sprintf("HPA %s reading %v per pod", s.hpa.name, value), func(context.Context) (bool, error) {
		got = s.get()
		m := got.Status.CurrentMetrics
		if len(m) != 1 || m[0].Pods == nil || m[0].Pods.Current.AverageValue == nil {
			return false, fmt.Errorf("current metrics %+v, conditions %s", m, conditions(got))
		}
		return math.Abs(m[0].Pods.Current.AverageValue.AsApproximateFloat64()-value) < 1e-9, fmt.Errorf("average %s", m[0].Pods.Current.AverageValue)
	})
	s.assertCondition(got, autoscalingv2.ScalingActive, "ValidMetricFound")
	return got
}

// afterReads waits until the metrics server has answered n more requests for
// gauge and returns the HPA then: the controller syncs one HPA at a time and
// writes its status before its next sync asks again, so the status has been
// written from data the server served after this call.
func (s *scaling) afterReads(gauge string, n int) *autoscalingv2.HorizontalPodAutoscaler {
	s.t.Helper()
	from := s.e.gauges.Served(gauge)
	s.e.poll(s.t, time.Minute, fmt.Sprintf("%d more reads of %s", n, gauge), func(context.Context) (bool, error) {
		return s.e.gauges.Served(gauge) >= from+n, nil
	})
	return s.get()
}

// podValue reads one pod's value of a gauge through the aggregator, as the HPA
// controller asks the adapter for its pods, with a metric label selector.
func (e *suite) podValue(t *testing.T, ns, gauge, selector, pod string) float64 {
	t.Helper()
	path := fmt.Sprintf("/apis/custom.metrics.k8s.io/v1beta2/namespaces/%s/pods/*/%s", ns, url.PathEscape("prometheus.googleapis.com|"+gauge+"|gauge"))
	if selector != "" {
		path += "?metricLabelSelector=" + url.QueryEscape(selector)
	}
	out, _, err := e.cluster.Kubectl(e.ctx, nil, "get", "--raw", path)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			DescribedObject struct{ Name string } `json:"describedObject"`
			Value           resource.Quantity     `json:"value"`
		} `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, out)
	}
	for _, item := range list.Items {
		if item.DescribedObject.Name == pod {
			return item.Value.AsApproximateFloat64()
		}
	}
	t.Fatalf("%s has no value for pod %s:\n%s", path, pod, out)
	return 0
}
