package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/e2e/cluster"
	"github.com/vllm-hpa/vllm-hpa/e2e/collector"
	"github.com/vllm-hpa/vllm-hpa/e2e/podsim"
)

// The server of the SLO loop: each engine step takes 20ms plus 2ms for each
// further request in the batch, so TPOT grows from 20ms alone to about 33ms
// with 8 running and 41ms with 12. A p90 TPOT within 38ms then holds up to
// about 7.5 running requests per pod; 24 workers need four pods or so.
var sloSimArgs = []string{"--model", sloModel, "--max-num-seqs", "16",
	"--time-per-token", "20ms", "--time-per-token-per-seq", "2ms"}

const (
	sloModel       = "google/gemma-3-1b-it"
	sloTPOT        = 38 * time.Millisecond
	sloWorkers     = 24
	sloMaxReplicas = 6
	sloMaxTokens   = "20"
	sloPrompt      = "16"
	// sloScaleTime is how long the load runs before latency is measured: the
	// HPA (5s sync) reaches its replica count in a few syncs.
	sloScaleTime = 60 * time.Second
	sloMeasure   = 30 * time.Second
)

// TestClosedLoopSLO closes the loop from a latency SLO: it profiles one
// vllm-sim with vllm-loadgen profile, renders a config whose target the
// function derives from p90 TPOT within 38ms and that profile, runs a load
// that needs several replicas against KWOK pods that each run a vllm-sim, and
// measures the p90 TPOT once the HPA has scaled: it must be within the SLO.
func TestClosedLoopSLO(t *testing.T) {
	e := needCluster(t)
	e.installCRDs(t)
	if e.sim == "" || e.loadgen == "" {
		t.Fatal("VLLMHPA_SIM and VLLMHPA_LOADGEN are not set; run the suite with e2e/run.sh")
	}
	const ns, name = "slo", "vllm-gemma"
	e.ensureNamespace(t, ns)

	profile := e.profileSim(t)
	config, err := yaml.Marshal(map[string]any{
		"apiVersion": "vllmhpa.dev/v1alpha1", "kind": "VLLMHPAConfig",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"strategy": "vllm", "scaleTargetRef": map[string]any{"name": name},
			"minReplicas": 1, "maxReplicas": sloMaxReplicas, "podSelector": map[string]any{"app": name},
			"behavior": map[string]any{"scaleDown": map[string]any{"stabilizationWindowSeconds": scaleDownWindow}},
			"slo":      map[string]any{"tpot": sloTPOT.String(), "profile": profile["spec"]},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, objs := e.renderConfig(t, workload(ns, name), string(config))
	hpa := renderedHPA(t, objs)
	gauge := prometheusName(t, hpa)
	unscaled := pointAt(t, profile, sloWorkers)
	t.Logf("profile of one vllm-sim: at concurrency %d, p90 TPOT %s (SLO %s), %s running; derived target %g %s per pod",
		sloWorkers, unscaled.tpotP90, sloTPOT, unscaled.running, hpa.target, gauge)
	if unscaled.tpotP90 <= sloTPOT {
		t.Fatalf("one server already holds p90 TPOT %s within %s at %d workers: the load needs no scaling", unscaled.tpotP90, sloTPOT, sloWorkers)
	}

	ctx, cancel := context.WithCancel(e.ctx)
	var background sync.WaitGroup
	t.Cleanup(func() { cancel(); background.Wait() })
	sims := podsim.New(podsim.Options{
		Client: e.cluster.Client, Namespace: ns, Selector: "app=" + name, Binary: e.sim,
		Args: sloSimArgs, LogDir: e.cluster.LogDir, FreePort: cluster.FreePort,
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

	tl := &timeline{metric: hpa.metric, column: "scraped " + gauge + " per pod",
		perPod: func() (map[string]float64, []string) { return coll.PerPod(gauge) }}
	background.Go(func() { tl.record(ctx, e, s) })

	// The load, then the same load measured once the HPA has scaled.
	tl.setLoad(sloWorkers)
	load := exec.CommandContext(ctx, e.loadgen, "--url", front.URL, "--model", sloModel,
		"--concurrency", fmt.Sprint(sloWorkers), "--max-tokens", sloMaxTokens,
		"--duration", sloScaleTime.String(), "--output", "json", "--quiet")
	var loadErr strings.Builder
	load.Stderr = &loadErr
	out, err := load.Output()
	if err != nil {
		t.Fatalf("vllm-loadgen: %v\n%s", err, loadErr.String())
	}
	var summary struct {
		Sent       int64 `json:"sent"`
		OK         int64 `json:"ok"`
		ErrorTotal int64 `json:"error_total"`
	}
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("vllm-loadgen summary: %v\n%s", err, out)
	}
	t.Logf("load while scaling: %d workers for %s: %d requests, %d ok, %d errors", sloWorkers, sloScaleTime, summary.Sent, summary.OK, summary.ErrorTotal)
	scaledTo := tl.lastReady()
	measured := e.profile(t, ctx, front.URL, fmt.Sprint(sloWorkers), "5s", sloMeasure.String())
	tl.setLoad(0)
	cancel()
	background.Wait()
	t.Logf("timeline (scrape interval %s, HPA sync %s, target %g running per pod):\n%s",
		coll.Interval(), hpaSyncPeriod, hpa.target, tl.table())

	scaled := pointAt(t, measured, sloWorkers)
	t.Logf("%d workers: one server, p90 TPOT %s; scaled to %d ready replicas, p90 TPOT %s over %s, %d requests, %d failed (SLO: p90 TPOT <= %s)",
		sloWorkers, unscaled.tpotP90, scaledTo, scaled.tpotP90, sloMeasure, scaled.requests, scaled.errors, sloTPOT)
	if scaledTo < 2 {
		t.Fatalf("the Deployment has %d ready replicas after %s of %d workers; want several", scaledTo, sloScaleTime, sloWorkers)
	}
	// A failed request has no latency within any bound: as in the derivation,
	// more failures than the 10% that p90 leaves out miss the SLO.
	if scaled.errors*10 > scaled.requests+scaled.errors {
		t.Errorf("%d of %d requests failed while latency was measured, more than the 10%% p90 leaves out", scaled.errors, scaled.requests+scaled.errors)
	}
	if scaled.tpotP90 > sloTPOT {
		t.Errorf("p90 TPOT %s once scaled to %d replicas, above the SLO's %s", scaled.tpotP90, scaledTo, sloTPOT)
	}
}

// profileSim profiles one vllm-sim run with the loop's arguments, as a user
// profiles one replica of their server, and returns the VLLMServerProfile.
func (e *suite) profileSim(t *testing.T) map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort())
	sim := exec.CommandContext(ctx, e.sim, append([]string{"--addr", addr}, sloSimArgs...)...)
	logFile, err := os.Create(filepath.Join(e.cluster.LogDir, "vllm-sim-profiled.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	sim.Stdout, sim.Stderr = logFile, logFile
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = sim.Wait() }()
	url := "http://" + addr
	e.poll(t, 30*time.Second, "the profiled vllm-sim serving", func(context.Context) (bool, error) {
		resp, err := http.Get(url + "/health")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return e.profile(t, ctx, url, fmt.Sprintf("1,2,4,8,12,16,%d", sloWorkers), "2s", "8s")
}

// profile runs vllm-loadgen profile against url and returns the profile.
func (e *suite) profile(t *testing.T, ctx context.Context, url, concurrency, warmup, step string) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.yaml")
	cmd := exec.CommandContext(ctx, e.loadgen, "profile", "--url", url, "--model", sloModel,
		"--concurrency", concurrency, "--warmup", warmup, "--step", step,
		"--prompt-tokens", sloPrompt, "--max-tokens", sloMaxTokens, "-o", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vllm-loadgen profile: %v\n%s", err, out)
	} else {
		t.Logf("vllm-loadgen profile --url %s --concurrency %s:\n%s", url, concurrency, strings.TrimSpace(string(out)))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// measuredPoint is what the test reads of one profile point.
type measuredPoint struct {
	tpotP90          time.Duration
	running          string
	requests, errors int64
}

// pointAt returns the profile's point at a concurrency.
func pointAt(t *testing.T, profile map[string]any, concurrency int) measuredPoint {
	t.Helper()
	spec, _ := profile["spec"].(map[string]any)
	points, _ := spec["points"].([]any)
	for _, p := range points {
		pt, _ := p.(map[string]any)
		if fmt.Sprint(pt["concurrency"]) != fmt.Sprint(concurrency) {
			continue
		}
		tpot, _ := pt["tpot"].(map[string]any)
		d, err := time.ParseDuration(fmt.Sprint(tpot["p90"]))
		if err != nil {
			t.Fatalf("profile point at concurrency %d has no p90 TPOT: %v", concurrency, pt)
		}
		gauges, _ := pt["gauges"].(map[string]any)
		m := measuredPoint{tpotP90: d, running: fmt.Sprint(gauges["vllm:num_requests_running"])}
		// Counts are JSON numbers; absent means none.
		if n, ok := pt["requests"].(float64); ok {
			m.requests = int64(n)
		}
		if n, ok := pt["errors"].(float64); ok {
			m.errors = int64(n)
		}
		return m
	}
	t.Fatalf("the profile has no point at concurrency %d", concurrency)
	return measuredPoint{}
}

// lastReady is the ready replicas of the latest sample.
func (tl *timeline) lastReady() int32 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.rows) == 0 {
		return 0
	}
	return tl.rows[len(tl.rows)-1].ready
}
