package e2e_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/vllm-hpa/vllm-hpa/e2e/metricsserver"
	"github.com/vllm-hpa/vllm-hpa/e2e/rules"
	"github.com/vllm-hpa/vllm-hpa/internal/whatif/hpa"
)

// fidelityConfig scales on vllm:num_requests_running with a behavior that
// makes every rule of the controller act within a couple of minutes: a
// scale-up stabilization window, a scale-up rate limit, a scale-down window
// and a scale-down rate limit. No window or period is a multiple of the 5 s
// sync period, so no decision hangs on which side of a boundary a sync falls
// (the simulation and the controller read different clocks, milliseconds apart).
func fidelityConfig(namespace, name string) string {
	return fmt.Sprintf(`apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  strategy: vllm
  scaleTargetRef: {name: %[2]s}
  minReplicas: 1
  maxReplicas: 8
  metric: {targetAverageValue: "4"}
  podSelector: {app: %[2]s}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 7
      selectPolicy: Max
      policies: [{type: Pods, value: 2, periodSeconds: 12}]
    scaleDown:
      stabilizationWindowSeconds: 22
      selectPolicy: Max
      policies: [{type: Pods, value: 1, periodSeconds: 8}]
`, namespace, name)
}

// fidelitySequence is the value every pod reports at each of the HPA's reads:
// at target, three times target (a rate-limited scale-up), within the 10%
// tolerance, half of target (a held, then rate-limited scale-down), then
// nearly idle down to minReplicas.
func fidelitySequence() []float64 {
	var seq []float64
	for _, step := range []struct {
		value float64
		syncs int
	}{{4, 2}, {12, 8}, {4.2, 2}, {2, 6}, {0.5, 10}} {
		for range step.syncs {
			seq = append(seq, step.value)
		}
	}
	return seq
}

// fidelityRead is what one sync of the real controller was given, and what it
// decided, known at the next read: the controller scales and writes an HPA's
// status before that HPA's next sync asks for the metric again.
type fidelityRead struct {
	at       time.Duration // since the first read
	value    float64
	replicas int32 // the Deployment's spec.replicas, which the sync starts from
	pods     []hpa.Pod
	names    []string
	desired  int32 // status.desiredReplicas after this sync; 0 before one succeeds
}

// TestSimulatedHPAMatchesController feeds one metric sequence to the real
// HPA controller (through the metrics server, one value per sync) and to the
// simulator's HPA (internal/whatif/hpa), and requires the same replica count
// after every sync. Each simulated sync gets what the real one got: the read's
// time, the Deployment's replicas and the pods, so the first sync where they
// disagree is the one the report names.
func TestSimulatedHPAMatchesController(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)
	const ns, name = "hpa-fidelity", "vllm-gemma"
	e.ensureNamespace(t, ns)
	_, objs := e.renderConfig(t, workload(ns, name), fidelityConfig(ns, name))
	spec := renderedHPA(t, objs)
	gauge := prometheusName(t, spec)
	scrape := ownScrape(t, only(t, objs, "monitoring.googleapis.com/v1", "PodMonitoring"))
	seq := fidelitySequence()

	var (
		mu    sync.Mutex
		reads []fidelityRead
		start time.Time
		fault error
	)
	client := e.cluster.Client
	e.gauges.Set(gauge, metricsserver.SourceFunc(func(ctx context.Context) ([]metricsserver.Series, error) {
		// Other tests' HPAs in other namespaces read the same gauge; only
		// this namespace's reads are syncs of this HPA.
		info, ok := request.RequestInfoFrom(ctx)
		if !ok {
			err := fmt.Errorf("a metric request carried no RequestInfo; its namespace is unknown")
			mu.Lock()
			fault = err
			mu.Unlock()
			return nil, err
		}
		if info.Namespace != ns {
			return nil, nil
		}
		h, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if len(reads) == 0 {
			start = now
		} else {
			reads[len(reads)-1].desired = h.Status.DesiredReplicas
		}
		k := len(reads)
		value := seq[min(k, len(seq)-1)]
		r := fidelityRead{at: now.Sub(start), value: value, replicas: *d.Spec.Replicas}
		sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
		var exported []rules.Series
		for _, p := range list.Items {
			// A running pod exports the gauge; one not yet running has no
			// series, as vLLM answers no scrape before it starts.
			serves := p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
			r.pods = append(r.pods, hpa.Pod{
				Deleting: p.DeletionTimestamp != nil,
				Pending:  p.Status.Phase == corev1.PodPending,
				Metrics:  []hpa.Sample{{Present: serves, Milli: int64(math.Round(value * 1000))}},
			})
			r.names = append(r.names, p.Name)
			if serves {
				exported = append(exported, rules.Series{Value: value, Labels: map[string]string{
					"__name__": gauge, "namespace": ns, "pod": p.Name,
					"container": "vllm", "model_name": "google/gemma-3-1b-it",
				}})
			}
		}
		reads = append(reads, r)
		return scrape(exported), nil
	}))
	t.Cleanup(func() { e.gauges.Set(gauge, nil) })
	e.wireAdapter(t, objs)

	// One read more than the sequence: its status is the last sync's decision.
	budget := time.Duration(len(seq)+6)*hpaSyncPeriod + time.Minute
	e.poll(t, budget, fmt.Sprintf("%d syncs of HPA %s/%s", len(seq)+1, ns, name), func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if fault != nil {
			return false, fault
		}
		return len(reads) > len(seq), fmt.Errorf("%d reads", len(reads))
	})
	mu.Lock()
	got := append([]fidelityRead(nil), reads[:len(seq)+1]...)
	mu.Unlock()

	// The simulator runs the HPA exactly as the API server stored it, with the
	// controller flags this cluster runs (the defaults; only the sync period
	// is shortened, and the simulation is told each sync's time).
	stored, err := e.cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	simSpec, err := hpa.Defaulted(stored)
	if err != nil {
		t.Fatal(err)
	}
	ctrl := hpa.New(simSpec, hpa.DefaultOptions())
	// Virtual time starts a minute in, so that no look-back reaches before 0.
	const origin = time.Minute

	var table strings.Builder
	fmt.Fprintf(&table, "%4s %7s %6s %5s %8s %10s %9s\n", "sync", "t", "value", "pods", "replicas", "controller", "simulated")
	var mismatches []string
	ups, downs, peak := 0, 0, int32(0)
	for k, r := range got[:len(seq)] {
		// The replicas the sync left are the next sync's starting point.
		after := got[k+1].replicas
		d := ctrl.Sync(origin+r.at, r.replicas, r.pods)
		note := ""
		if d.Err != nil {
			// No pod reported (one not yet running): neither scales, and the
			// controller writes no desiredReplicas.
			note = "no metric"
		} else if d.Desired != r.desired {
			mismatches = append(mismatches, fmt.Sprintf("sync %d at %s: controller status.desiredReplicas %d, simulation %d (from %d, %d pods at %g)",
				k, r.at.Round(100*time.Millisecond), r.desired, d.Desired, r.replicas, len(r.pods), r.value))
		}
		fmt.Fprintf(&table, "%4d %7s %6g %5d %8d %10d %9d %s\n", k, r.at.Round(100*time.Millisecond), r.value, len(r.pods), r.replicas, after, d.Desired, note)
		if d.Desired != after {
			mismatches = append(mismatches, fmt.Sprintf("sync %d at %s: controller left %d replicas, simulation %d (from %d, pods %v at %g)",
				k, r.at.Round(100*time.Millisecond), after, d.Desired, r.replicas, r.names, r.value))
		}
		switch {
		case after > r.replicas:
			ups++
		case after < r.replicas:
			downs++
		}
		peak = max(peak, after)
	}
	t.Logf("HPA %s/%s, target %v, behavior %s\n%s", ns, name, spec.target, behaviorText(stored.Spec.Behavior), table.String())
	if len(mismatches) > 0 {
		t.Fatalf("the simulated HPA disagrees with kube-controller-manager:\n%s", strings.Join(mismatches, "\n"))
	}
	// The sequence must have made the rules act, or agreeing proves little.
	last := got[len(seq)].replicas
	if ups < 2 || downs < 2 || peak < 5 || last != 1 {
		t.Fatalf("the sequence did not exercise the controller: %d scale-ups, %d scale-downs, peak %d, last %d; want 2+, 2+, 5+ and 1",
			ups, downs, peak, last)
	}
}

func behaviorText(b *autoscalingv2.HorizontalPodAutoscalerBehavior) string {
	if b == nil {
		return "none"
	}
	rules := func(r *autoscalingv2.HPAScalingRules) string {
		if r == nil {
			return "default"
		}
		var ps []string
		for _, p := range r.Policies {
			ps = append(ps, fmt.Sprintf("%d %s/%ds", p.Value, p.Type, p.PeriodSeconds))
		}
		w := int32(-1)
		if r.StabilizationWindowSeconds != nil {
			w = *r.StabilizationWindowSeconds
		}
		return fmt.Sprintf("window %ds, %s", w, strings.Join(ps, ", "))
	}
	return "up: " + rules(b.ScaleUp) + "; down: " + rules(b.ScaleDown)
}
