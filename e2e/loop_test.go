package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/e2e/cluster"
	"github.com/vllm-hpa/vllm-hpa/e2e/collector"
	"github.com/vllm-hpa/vllm-hpa/e2e/podsim"
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

// TestClosedLoop closes the loop with no hand-written metric values: each
// KWOK pod gets its own vllm-sim process, a collector scrapes them as the
// generated PodMonitoring says, the metrics server serves what it scraped,
// and vllm-loadgen drives load through a round-robin front end. The
// Deployment must grow under a load step and shrink back after it.
func TestClosedLoop(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)
	if e.sim == "" || e.loadgen == "" {
		t.Fatal("VLLMHPA_SIM and VLLMHPA_LOADGEN are not set; run the suite with e2e/run.sh")
	}
	const ns, name, model = "loop", "vllm-gemma", "google/gemma-3-1b-it"
	e.ensureNamespace(t, ns)
	_, objs := e.renderConfig(t, workload(ns, name), vllmConfig(ns, name, loopTarget, 5, scaleDownWindow))
	hpa := renderedHPA(t, objs)
	gauge := prometheusName(t, hpa)

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
	coll, err := collector.New(e.cluster.Client, only(t, objs, "monitoring.googleapis.com/v1", "PodMonitoring"), sims.Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	background.Go(func() { coll.Run(ctx) })
	e.gauges.Set(gauge, coll.Gauge(gauge))
	t.Cleanup(func() { e.gauges.Set(gauge, nil) })

	e.wireAdapter(t, objs)
	s := &scaling{e: e, t: t, hpa: hpa}
	s.waitReady(hpa.min)
	e.poll(t, 30*time.Second, "the first pod's vllm-sim serving", func(context.Context) (bool, error) {
		return len(sims.Endpoints()) == 1, nil
	})

	tl := &timeline{gauge: gauge}
	background.Go(func() { tl.record(ctx, e, s, coll) })

	tl.setLoad(loopWorkers)
	start := time.Now()
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

	peak := tl.peakReady()
	// Back to minReplicas once the scraped gauge drops and the window passes.
	s.waitReady(hpa.min)
	cancel()
	background.Wait()
	tl.sample(e.ctx, e, s, coll) // the shrink itself, if it came after the last tick
	t.Logf("timeline (scrape interval %s, HPA sync %s, scale-down window %s, target %s running per pod):\n%s",
		coll.Interval(), hpaSyncPeriod, hpa.window, loopTarget, tl.table())

	if summary.OK == 0 || summary.ErrorTotal != 0 {
		t.Errorf("the pods' vllm-sims answered %d of %d requests with %d errors; want all answered", summary.OK, summary.Sent, summary.ErrorTotal)
	}
	if peak <= hpa.min {
		t.Fatalf("the Deployment never grew above %d ready replicas under %d workers", hpa.min, loopWorkers)
	}
	t.Logf("grew from %d to %d ready replicas under load and shrank back to %d after it", hpa.min, peak, hpa.min)
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
	gauge string
	mu    sync.Mutex
	load  int
	rows  []timelineRow
	start time.Time
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
func (tl *timeline) record(ctx context.Context, e *suite, s *scaling, coll *collector.Collector) {
	tl.mu.Lock()
	tl.start = time.Now()
	tl.mu.Unlock()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		tl.sample(ctx, e, s, coll)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (tl *timeline) sample(ctx context.Context, e *suite, s *scaling, coll *collector.Collector) {
	row := timelineRow{}
	values, pods := coll.PerPod(tl.gauge)
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
	fmt.Fprintf(&b, "%6s  %7s  %7s  %5s  %s\n", "time", "workers", "desired", "ready", "scraped "+tl.gauge+" per pod")
	for _, r := range tl.rows {
		fmt.Fprintf(&b, "%5.0fs  %7d  %7d  %5d  %s\n", r.at.Seconds(), r.load, r.desired, r.ready, r.perPod)
	}
	return b.String()
}
