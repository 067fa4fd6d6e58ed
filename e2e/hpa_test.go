package e2e_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vllm-hpa/vllm-hpa/e2e/metricsserver"
	"github.com/vllm-hpa/vllm-hpa/e2e/render"
	"github.com/vllm-hpa/vllm-hpa/e2e/rules"
)

// scaleDownWindow is the stabilization window the configs set through
// spec.behavior; the controller manager's own default is five minutes.
const scaleDownWindow = 20

// TestHPAScalesOnGeneratedMetric runs the generated HPA against a real HPA
// controller, fed by a custom-metrics server registered through the
// generated APIServices that answers only the metric names the adapter
// would. Each strategy scales up by exactly what the HPA algorithm
// predicts, is clamped at maxReplicas, and scales down only after the
// stabilization window from spec.behavior.
func TestHPAScalesOnGeneratedMetric(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)

	t.Run("vllm", func(t *testing.T) {
		const ns, name = "hpa-vllm", "vllm-gemma"
		e.ensureNamespace(t, ns)
		_, objs := e.renderConfig(t, workload(ns, name), vllmConfig(ns, name, "4", 5, scaleDownWindow))
		hpa := renderedHPA(t, objs)
		gauge := prometheusName(t, hpa)
		monitoring := only(t, objs, "monitoring.googleapis.com/v1", "PodMonitoring")

		scrape := ownScrape(t, monitoring)
		src := &metricsserver.Static{}
		e.gauges.Set(gauge, src)
		t.Cleanup(func() { e.gauges.Set(gauge, nil) })
		// Each vLLM pod exports one series of the gauge, which GMP stores
		// with the PodMonitoring's job, the pod's target labels and the
		// labels its metricRelabeling writes.
		set := func(pods []string, value float64) {
			var series []rules.Series
			for _, pod := range pods {
				series = append(series, rules.Series{Value: value, Labels: map[string]string{
					"__name__": gauge, "namespace": ns, "pod": pod,
					"container": "vllm", "model_name": "google/gemma-3-1b-it",
				}})
			}
			src.Set(scrape(series))
		}
		e.wireAdapter(t, objs)
		(&scaling{e: e, t: t, hpa: hpa}).run(set, 10, 12)
	})

	t.Run("gpu", func(t *testing.T) {
		const ns, name = "hpa-gpu", "vllm-gemma"
		e.ensureNamespace(t, ns)
		_, objs := e.renderConfig(t, workload(ns, name), gpuConfig(ns, name, "40", 4, scaleDownWindow))
		hpa := renderedHPA(t, objs)
		recs, err := rules.RecordingRules(objs, "ClusterRules")
		if err != nil || len(recs) != 1 {
			t.Fatalf("want one ClusterRules recording rule, got %v (%v)", recs, err)
		}
		rec := recs[0]
		if got := prometheusName(t, hpa); got != rec.Record {
			t.Fatalf("the HPA asks for %q but the ClusterRules record %q", got, rec.Record)
		}
		monitoring := only(t, objs, "monitoring.googleapis.com/v1", "ClusterPodMonitoring")
		relabeling, err := rules.MetricRelabeling(monitoring)
		if err != nil {
			t.Fatal(err)
		}
		eval, err := rules.NewEvaluator()
		if err != nil {
			t.Fatal(err)
		}
		defer eval.Close()

		// The DCGM exporter reports two GPUs per vLLM pod; the generated rule
		// turns them into the series the adapter reads, evaluated by the
		// Prometheus engine on every HPA request.
		var mu sync.Mutex
		var gpus []rules.GPU
		e.gauges.Set(rec.Record, metricsserver.SourceFunc(func(ctx context.Context) ([]metricsserver.Series, error) {
			mu.Lock()
			scraped := rules.Scrape(rules.ExporterSeries(monitoring.GetName(), gpus), relabeling)
			mu.Unlock()
			recorded, err := eval.Evaluate(ctx, rec.Expr, scraped)
			if err != nil {
				return nil, err
			}
			out := make([]metricsserver.Series, len(recorded))
			for i, r := range recorded {
				out[i] = metricsserver.Series{Labels: r.Labels, Value: r.Value}
			}
			return out, nil
		}))
		t.Cleanup(func() { e.gauges.Set(rec.Record, nil) })
		// Two GPUs per pod, 10 points either side of the pod's mean: the HPA
		// sees the mean only if the rule averages per pod (the adapter sums).
		set := func(pods []string, mean float64) {
			mu.Lock()
			defer mu.Unlock()
			gpus = nil
			for i, pod := range pods {
				node := fmt.Sprintf("gke-l4-pool-%d", i)
				for j, util := range []float64{math.Min(mean+10, 100), math.Max(mean-10, 0)} {
					if mean >= 100 {
						util = 100
					}
					gpus = append(gpus, rules.GPU{Node: node, ExporterPod: fmt.Sprintf("dcgm-exporter-%d", i),
						Index: fmt.Sprint(j), Namespace: ns, Pod: pod, Util: util})
				}
			}
		}
		e.wireAdapter(t, objs)
		(&scaling{e: e, t: t, hpa: hpa}).run(set, 80, 100)
	})
}

// hpaSpec is what the test reads back from the rendered HPA.
type hpaSpec struct {
	namespace, name, metric string
	target                  float64
	min, max                int32
	window                  time.Duration
}

func renderedHPA(t *testing.T, objs []*unstructured.Unstructured) hpaSpec {
	t.Helper()
	obj := only(t, objs, "autoscaling/v2", "HorizontalPodAutoscaler")
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, hpa); err != nil {
		t.Fatal(err)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Pods == nil || hpa.Spec.Metrics[0].Pods.Target.AverageValue == nil {
		t.Fatalf("HPA metrics %+v: want one Pods metric with an AverageValue target", hpa.Spec.Metrics)
	}
	if hpa.Spec.Behavior == nil || hpa.Spec.Behavior.ScaleDown == nil || hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds == nil {
		t.Fatalf("HPA has no scale-down stabilization window; spec.behavior of the config was not passed through: %+v", hpa.Spec.Behavior)
	}
	pods := hpa.Spec.Metrics[0].Pods
	return hpaSpec{
		namespace: hpa.Namespace, name: hpa.Name, metric: pods.Metric.Name,
		target: pods.Target.AverageValue.AsApproximateFloat64(),
		min:    *hpa.Spec.MinReplicas, max: hpa.Spec.MaxReplicas,
		window: time.Duration(*hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds) * time.Second,
	}
}

// prometheusName returns the Prometheus metric an HPA metric name refers to,
// failing unless the name is one the Stackdriver adapter serves.
func prometheusName(t *testing.T, hpa hpaSpec) string {
	t.Helper()
	name, kind, err := metricsserver.ParseMetricName(hpa.metric)
	if err != nil || kind != "gauge" {
		t.Fatalf("HPA metric %q is not prometheus.googleapis.com|<metric>|gauge (%v)", hpa.metric, err)
	}
	return name
}

func only(t *testing.T, objs []*unstructured.Unstructured, apiVersion, kind string) *unstructured.Unstructured {
	t.Helper()
	found := render.Find(objs, apiVersion, kind)
	if len(found) != 1 {
		t.Fatalf("render has %d %s %s objects, want 1", len(found), apiVersion, kind)
	}
	return found[0]
}

// predict is the HPA's rule for a Pods metric with an AverageValue target:
// desired = ceil(current × value / target), then clamped to [min, max].
func predict(current int32, value, target float64, min, max int32) (raw, clamped int32) {
	raw = int32(math.Ceil(float64(current) * value / target))
	return raw, int32(math.Max(float64(min), math.Min(float64(max), float64(raw))))
}

// scaling drives one HPA through up, clamp and down.
type scaling struct {
	e   *suite
	t   *testing.T
	hpa hpaSpec
}

// run sets the metric so that one pod reports first, then every pod
// reports second (enough to exceed maxReplicas), then every pod reports 0.
func (s *scaling) run(set func(pods []string, value float64), first, second float64) {
	t, h := s.t, s.hpa
	if ratio := first / h.target; math.Abs(ratio-1) <= 0.1 {
		t.Fatalf("value %v is within the HPA's 10%% tolerance of target %v", first, h.target)
	}

	// Up: one pod above target.
	pods := s.waitReady(h.min)
	mark := s.get().Status.LastScaleTime
	set(pods[:1], first)
	_, want := predict(int32(len(pods)), first, h.target, h.min, h.max)
	got := s.waitRescale(mark)
	if got.Status.DesiredReplicas != want {
		t.Fatalf("one pod at %v (target %v) scaled to %d replicas; the HPA algorithm gives ceil(%d*%v/%v) = %d",
			first, h.target, got.Status.DesiredReplicas, len(pods), first, h.target, want)
	}
	if avg := currentAverage(t, got); avg != first {
		t.Fatalf("HPA saw an average of %v, want %v (the value of the one pod)", avg, first)
	}
	s.assertCondition(got, autoscalingv2.ScalingActive, "ValidMetricFound")
	s.assertEvent(fmt.Sprintf("New size: %d; reason: pods metric %s above target", want, h.metric))
	t.Logf("up: 1 pod at %v, target %v -> %d replicas, as predicted", first, h.target, want)

	// Clamp: every pod far above target.
	pods = s.waitReady(want)
	mark = got.Status.LastScaleTime
	set(pods, second)
	raw, clamped := predict(int32(len(pods)), second, h.target, h.min, h.max)
	if raw <= h.max {
		t.Fatalf("second value %v gives %d replicas, not above maxReplicas %d", second, raw, h.max)
	}
	got = s.waitRescale(mark)
	if got.Status.DesiredReplicas != clamped {
		t.Fatalf("every pod at %v scaled to %d replicas; want ceil(%d*%v/%v) = %d clamped to maxReplicas %d",
			second, got.Status.DesiredReplicas, len(pods), second, h.target, raw, clamped)
	}
	s.assertCondition(got, autoscalingv2.ScalingLimited, "TooManyReplicas")
	t.Logf("clamp: %d pods at %v -> %d wanted, limited to maxReplicas %d", len(pods), second, raw, clamped)

	// Down: every pod idle; only after the stabilization window.
	pods = s.waitReady(clamped)
	mark = got.Status.LastScaleTime
	start := time.Now()
	set(pods, 0)
	stabilized := false
	got = s.waitRescaleObserving(mark, func(hpa *autoscalingv2.HorizontalPodAutoscaler) {
		for _, c := range hpa.Status.Conditions {
			if c.Type == autoscalingv2.AbleToScale && c.Reason == "ScaleDownStabilized" {
				stabilized = true
			}
		}
	})
	elapsed := got.Status.LastScaleTime.Sub(start)
	if got.Status.DesiredReplicas != h.min {
		t.Fatalf("every pod at 0 scaled to %d replicas, want minReplicas %d", got.Status.DesiredReplicas, h.min)
	}
	if !stabilized {
		t.Errorf("the HPA never reported AbleToScale/ScaleDownStabilized while holding %d replicas", clamped)
	}
	// The last high recommendation may predate the drop by one sync period,
	// and lastScaleTime is truncated to the second.
	if floor := h.window - hpaSyncPeriod - time.Second; elapsed < floor {
		t.Fatalf("scaled down %s after the metric dropped; the %s stabilization window allows no earlier than %s",
			elapsed.Round(time.Second), h.window, floor)
	}
	s.waitReady(h.min)
	t.Logf("down: all pods at 0 -> %d replica(s) %s later (window %s)", h.min, elapsed.Round(time.Second), h.window)
}

func (s *scaling) get() *autoscalingv2.HorizontalPodAutoscaler {
	s.t.Helper()
	hpa, err := s.e.cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(s.hpa.namespace).Get(s.e.ctx, s.hpa.name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return hpa
}

// waitRescale waits for the HPA's next rescale after the one at mark.
func (s *scaling) waitRescale(mark *metav1.Time) *autoscalingv2.HorizontalPodAutoscaler {
	return s.waitRescaleObserving(mark, func(*autoscalingv2.HorizontalPodAutoscaler) {})
}

func (s *scaling) waitRescaleObserving(mark *metav1.Time, observe func(*autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
	s.t.Helper()
	var got *autoscalingv2.HorizontalPodAutoscaler
	s.e.poll(s.t, s.hpa.window+2*time.Minute, "HPA "+s.hpa.name+" rescale", func(ctx context.Context) (bool, error) {
		hpa, err := s.e.cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(s.hpa.namespace).Get(ctx, s.hpa.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		observe(hpa)
		last := hpa.Status.LastScaleTime
		if last != nil && (mark == nil || last.After(mark.Time)) {
			got = hpa
			return true, nil
		}
		return false, fmt.Errorf("desired %d, conditions %s", hpa.Status.DesiredReplicas, conditions(hpa))
	})
	return got
}

// waitReady waits until the Deployment has exactly n ready pods and returns
// their names.
func (s *scaling) waitReady(n int32) []string {
	s.t.Helper()
	var names []string
	deployments := s.e.cluster.Client.AppsV1().Deployments(s.hpa.namespace)
	s.e.poll(s.t, 2*time.Minute, fmt.Sprintf("%d ready pods", n), func(ctx context.Context) (bool, error) {
		names = nil
		d, err := deployments.Get(ctx, s.hpa.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := s.e.cluster.Client.CoreV1().Pods(s.hpa.namespace).List(ctx, metav1.ListOptions{
			LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				names = append(names, p.Name)
			}
		}
		sort.Strings(names)
		return int32(len(names)) == n && len(pods.Items) == int(n) && d.Status.ReadyReplicas == n, fmt.Errorf("%d of %d pods ready", len(names), len(pods.Items))
	})
	return names
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (s *scaling) assertCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType, reason string) {
	s.t.Helper()
	for _, c := range hpa.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue && c.Reason == reason {
			return
		}
	}
	s.t.Fatalf("HPA condition %s=True/%s not reported; conditions: %s", typ, reason, conditions(hpa))
}

// assertEvent waits for the HPA controller's SuccessfulRescale event with
// exactly this message.
func (s *scaling) assertEvent(message string) {
	s.t.Helper()
	s.e.poll(s.t, 30*time.Second, "event "+message, func(ctx context.Context) (bool, error) {
		events, err := s.e.cluster.Client.CoreV1().Events(s.hpa.namespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=" + s.hpa.name})
		if err != nil {
			return false, err
		}
		var seen []string
		for _, ev := range events.Items {
			if ev.Reason == "SuccessfulRescale" && ev.Message == message {
				return true, nil
			}
			seen = append(seen, ev.Reason+": "+ev.Message)
		}
		return false, fmt.Errorf("events: %q", seen)
	})
}

func currentAverage(t *testing.T, hpa *autoscalingv2.HorizontalPodAutoscaler) float64 {
	t.Helper()
	if len(hpa.Status.CurrentMetrics) != 1 || hpa.Status.CurrentMetrics[0].Pods == nil || hpa.Status.CurrentMetrics[0].Pods.Current.AverageValue == nil {
		t.Fatalf("HPA status.currentMetrics %+v: want one Pods metric with an average", hpa.Status.CurrentMetrics)
	}
	return hpa.Status.CurrentMetrics[0].Pods.Current.AverageValue.AsApproximateFloat64()
}

func conditions(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	var out []string
	for _, c := range hpa.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s/%s (%s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return fmt.Sprint(out)
}
