package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/e2e/cluster"
	"github.com/vllm-hpa/vllm-hpa/e2e/collector"
	"github.com/vllm-hpa/vllm-hpa/e2e/metricsserver"
	"github.com/vllm-hpa/vllm-hpa/e2e/podsim"
	"github.com/vllm-hpa/vllm-hpa/e2e/render"
)

// Closed-loop load: workers each send a request when the previous one is
// answered; a request runs maxTokens*timePerToken (1s) on a vllm-sim whose
// batch holds maxNumSeqs. With the target of 4 running requests per pod, 12
// workers settle at about 12/4 = 3 pods.
const (
	loopWorkers    = 12
	loopDuration   = 100 * time.Second
	loopMaxNumSeqs = 8
	loopTarget     = "4"
)

// cloudMonitoringIngestion is how long after a Managed Prometheus scrape the
// Stackdriver adapter can read the sample: Cloud Monitoring makes points of
// user-defined metrics, Prometheus metrics included, readable "within 3 to 7
// seconds, excluding network latency"
// (cloud.google.com/monitoring/api/v3/latency-n-retention), rounded up to 10 s
// for the collector's export batching, the figure docs/whatif.md uses too.
// Backend gke has no such step: GKE's managed adapter reads the pods itself.
const cloudMonitoringIngestion = 10 * time.Second

// TestClosedLoop closes the loop with no hand-written metric values, on both
// backends: each KWOK pod gets its own vllm-sim process and vllm-loadgen drives
// load through a round-robin front end. On backend adapter a collector scrapes
// the pods as the generated PodMonitoring says and its samples reach the
// metrics server after Cloud Monitoring's ingestion delay; on backend gke the
// metrics server plays GKE's managed adapter, reading the generated
// AutoscalingMetric and scraping the pods it selects when the HPA asks. The
// Deployment must grow under a load step and shrink back after it; the time
// from the load step to the first scale-up is reported for each backend.
func TestClosedLoop(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)
	if e.sim == "" || e.loadgen == "" {
		t.Fatal("VLLMHPA_SIM and VLLMHPA_LOADGEN are not set; run the suite with e2e/run.sh")
	}
	firstScaleUp := map[string]time.Duration{}
	for _, backend := range []string{"adapter", "gke"} {
		t.Run(backend, func(t *testing.T) { firstScaleUp[backend] = e.closedLoop(t, backend) })
	}
	if len(firstScaleUp) == 2 {
		t.Logf("load step to first scale-up: backend adapter %s (scrape every 15s, then %s of Cloud Monitoring ingestion), backend gke %s (the pods read when the HPA asks); HPA sync %s",
			firstScaleUp["adapter"].Round(100*time.Millisecond), cloudMonitoringIngestion,
			firstScaleUp["gke"].Round(100*time.Millisecond), hpaSyncPeriod)
	}
}

// closedLoop runs one load step against a fresh Deployment whose HPA reads
// its metric through backend, and returns the time from the load step to the
// Deployment's first scale-up.
func (e *suite) closedLoop(t *testing.T, backend string) time.Duration {
	const name, model = "vllm-gemma", "google/gemma-3-1b-it"
	ns := "loop"
	if backend == "gke" {
		ns = "loop-gke"
	}
	e.ensureNamespace(t, ns)
	_, objs := e.renderConfig(t, workload(ns, name), withBackend(vllmConfig(ns, name, loopTarget, 5, scaleDownWindow), backend))
	hpa := renderedHPA(t, objs)

	ctx, cancel := context.WithCancel(e.ctx)
	var background sync.WaitGroup
	t.Cleanup(func() { cancel(); background.Wait() })

	sims := podsim.New(podsim.Options{
		Client: e.cluster.Client, Namespace: ns, Selector: "app=" + name, Binary: e.sim,
		Args: []string{"--model", model, "--max-num-seqs", fmt.Sprint(loopMaxNumSeqs),
			"--time-per-token", "50ms", "--max-tokens-default", "20"},
		LogDir: e.cluster.LogDir, FreePort: cluster.FreePort,
	})
	background.Go(func() { sims.Run(ctx) })
	front, err := podsim.NewFrontend(sims)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = front.Close() })

	tl := &timeline{metric: hpa.metric}
	var pipeline string
	switch backend {
	case "adapter":
		gauge := prometheusName(t, hpa)
		coll, err := collector.New(e.cluster.Client, only(t, objs, "monitoring.googleapis.com/v1", "PodMonitoring"), sims.Endpoints)
		if err != nil {
			t.Fatal(err)
		}
		coll.SetIngestionDelay(cloudMonitoringIngestion)
		background.Go(func() { coll.Run(ctx) })
		e.gauges.Set(gauge, coll.Gauge(gauge))
		t.Cleanup(func() { e.gauges.Set(gauge, nil) })
		tl.perPod = func() (map[string]float64, []string) { return coll.PerPod(gauge) }
		tl.column = "scraped " + gauge + " per pod"
		pipeline = fmt.Sprintf("scrape interval %s, Cloud Monitoring ingestion %s", coll.Interval(), cloudMonitoringIngestion)
		e.wireAdapter(t, objs)
	case "gke":
		if found := render.Find(objs, "monitoring.googleapis.com/v1", "PodMonitoring"); len(found) > 0 {
			t.Fatalf("backend gke rendered a PodMonitoring: %v", found[0].GetName())
		}
		only(t, objs, "autoscaling.gke.io/v1beta1", "AutoscalingMetric")
		if _, _, ok := metricsserver.ParseGKEMetricName(hpa.metric); !ok {
			t.Fatalf("HPA metric %q is not autoscaling.gke.io|<AutoscalingMetric>|<gauge>", hpa.metric)
		}
		e.gauges.SetPodEndpoints(ns, sims.Endpoints)
		t.Cleanup(func() { e.gauges.SetPodEndpoints(ns, nil) })
		tl.perPod = func() (map[string]float64, []string) {
			values := e.gauges.LastRead(hpa.metric)
			pods := slices.Sorted(maps.Keys(values))
			return values, pods
		}
		tl.column = "per-pod value last read by the managed adapter"
		pipeline = "AutoscalingMetric read when the HPA asks"
		e.apply(t, mustYAML(t, objs...))
		e.wireManagedAdapter(t)
	}
	s := &scaling{e: e, t: t, hpa: hpa}
	s.waitReady(hpa.min)
	e.poll(t, 30*time.Second, "the first pod's vllm-sim serving", func(context.Context) (bool, error) {
		return len(sims.Endpoints()) == 1, nil
	})

	background.Go(func() { tl.record(ctx, e, s) })
	tl.setLoad(loopWorkers)
	start := time.Now()
	scaledUp := make(chan time.Duration, 1)
	background.Go(func() { scaledUp <- e.firstScaleUp(ctx, s, start) })
	load := exec.CommandContext(ctx, e.loadgen, "--url", front.URL, "--model", model,
		"--concurrency", fmt.Sprint(loopWorkers), "--max-tokens", "20",
		"--duration", loopDuration.String(), "--output", "json", "--quiet")
	var loadErr strings.Builder
	load.Stderr = &loadErr
	// Everything the run started must listen on loopback only; check while
	// the most processes are up.
	listenersChecked := make(chan error, 1)
	background.Go(func() {
		select {
		case <-ctx.Done():
		case <-time.After(loopDuration / 2):
			listenersChecked <- checkLoopback(sims.PIDs())
		}
	})
	out, err := load.Output()
	tl.setLoad(0)
	if err != nil {
		t.Fatalf("vllm-loadgen: %v\n%s", err, loadErr.String())
	}
	var summary struct {
		Sent       int64   `json:"sent"`
		OK         int64   `json:"ok"`
		ErrorTotal int64   `json:"error_total"`
		P50Ms      float64 `json:"p50_ms"`
	}
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("vllm-loadgen summary: %v\n%s", err, out)
	}
	t.Logf("load step: %d workers for %s: %d requests, %d ok, %d errors, p50 %.0f ms",
		loopWorkers, time.Since(start).Round(time.Second), summary.Sent, summary.OK, summary.ErrorTotal, summary.P50Ms)
	if err := <-listenersChecked; err != nil {
		t.Error(err)
	}
	firstUp := <-scaledUp

	peak := tl.peakReady()
	// Back to minReplicas once the gauge drops and the window passes.
	s.waitReady(hpa.min)
	cancel()
	background.Wait()
	tl.sample(e.ctx, e, s) // the shrink itself, if it came after the last tick
	t.Logf("timeline, backend %s (%s, HPA sync %s, scale-down window %s, target %s running per pod):\n%s",
		backend, pipeline, hpaSyncPeriod, hpa.window, loopTarget, tl.table())

	if summary.OK == 0 || summary.ErrorTotal != 0 {
		t.Errorf("the pods' vllm-sims answered %d of %d requests with %d errors; want all answered", summary.OK, summary.Sent, summary.ErrorTotal)
	}
	if peak <= hpa.min || firstUp == 0 {
		t.Fatalf("the Deployment never grew above %d ready replicas under %d workers", hpa.min, loopWorkers)
	}
	t.Logf("backend %s: first scale-up %s after the load step; grew from %d to %d ready replicas under load and shrank back to %d after it",
		backend, firstUp.Round(100*time.Millisecond), hpa.min, peak, hpa.min)
	return firstUp
}

// withBackend sets spec.backend in a VLLMHPAConfig written by vllmConfig.
func withBackend(config, backend string) string {
	return strings.Replace(config, "  strategy: vllm\n", "  strategy: vllm\n  backend: "+backend+"\n", 1)
}

// firstScaleUp watches the Deployment's desired replicas, which the HPA
// writes, and returns how long after start it first rose above minReplicas
// (0 if it did not before ctx ended).
func (e *suite) firstScaleUp(ctx context.Context, s *scaling, start time.Time) time.Duration {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := e.cluster.Client.AppsV1().Deployments(s.hpa.namespace).Get(ctx, s.hpa.name, metav1.GetOptions{})
		if err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas > s.hpa.min {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}

func checkLoopback(pids map[string]int) error {
	open, err := cluster.NonLoopbackListeners(pids)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		return fmt.Errorf("listening beyond loopback: %v", open)
	}
	return nil
}

// timeline samples the loop every few seconds.
type timeline struct {
	metric string
	// perPod returns the value per pod the column shows, and the pods in order.
	perPod func() (map[string]float64, []string)
	column string
	mu     sync.Mutex
	load   int
	rows   []timelineRow
	start  time.Time
}

type timelineRow struct {
	at             time.Duration
	load           int
	perPod         string
	desired, ready int32
}

func (tl *timeline) setLoad(workers int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.load = workers
}

// record samples every five seconds until ctx ends.
func (tl *timeline) record(ctx context.Context, e *suite, s *scaling) {
	tl.mu.Lock()
	tl.start = time.Now()
	tl.mu.Unlock()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		tl.sample(ctx, e, s)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (tl *timeline) sample(ctx context.Context, e *suite, s *scaling) {
	row := timelineRow{}
	values, pods := tl.perPod()
	var parts []string
	for _, pod := range pods {
		parts = append(parts, fmt.Sprintf("%s=%g", pod[strings.LastIndex(pod, "-")+1:], values[pod]))
	}
	row.perPod = strings.Join(parts, " ")
	if hpa, err := e.cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(s.hpa.namespace).Get(ctx, s.hpa.name, metav1.GetOptions{}); err == nil {
		row.desired = hpa.Status.DesiredReplicas
	}
	if d, err := e.cluster.Client.AppsV1().Deployments(s.hpa.namespace).Get(ctx, s.hpa.name, metav1.GetOptions{}); err == nil {
		row.ready = d.Status.ReadyReplicas
	}
	tl.mu.Lock()
	row.at, row.load = time.Since(tl.start), tl.load
	tl.rows = append(tl.rows, row)
	tl.mu.Unlock()
}

func (tl *timeline) peakReady() int32 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var peak int32
	for _, r := range tl.rows {
		peak = max(peak, r.ready)
	}
	return peak
}

func (tl *timeline) table() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%6s  %7s  %7s  %5s  %s\n", "time", "workers", "desired", "ready", tl.column)
	for _, r := range tl.rows {
		fmt.Fprintf(&b, "%5.0fs  %7d  %7d  %5d  %s\n", r.at.Seconds(), r.load, r.desired, r.ready, r.perPod)
	}
	return b.String()
}
