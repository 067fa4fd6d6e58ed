package loadgen

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/internal/vllmsim"
)

// fastSim is a stand-in whose batch model is exaggerated and quick: a step is
// 2ms plus 1ms per further decoding request, so at 8 requests a token takes
// 9ms, and at most 8 requests run.
func fastSim(t *testing.T) string {
	t.Helper()
	cfg := vllmsim.DefaultConfig()
	cfg.TimePerToken = 2 * time.Millisecond
	cfg.TimePerTokenPerSeq = time.Millisecond
	cfg.PrefillTimePerToken = 5 * time.Microsecond
	cfg.RequestOverhead, cfg.RequestOverheadPerSeq = time.Millisecond, 0
	cfg.MaxNumSeqs = 8
	cfg.MaxModelLen = 1024
	cfg.KVCacheTokens = 4096
	srv, err := vllmsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

func gaugeOf(t *testing.T, p v1alpha1.ProfilePoint, name string) float64 {
	t.Helper()
	d, ok := p.Gauges[name]
	if !ok {
		t.Fatalf("point at concurrency %d has no %s; gauges %v", p.Concurrency, name, p.Gauges)
	}
	f, err := d.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func decimal(t *testing.T, d v1alpha1.Decimal) float64 {
	t.Helper()
	f, err := d.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A profile of the stand-in has the shape of a real vLLM profile: latency
// that does not fall as concurrency rises and grows a lot past the batch
// limit, throughput and gauges that rise, a queue once the batch is full; and
// it reads back into the Go type unchanged.
func TestProfileOfTheStandInHasTheShapeOfAServerProfile(t *testing.T) {
	url := fastSim(t)
	var progress []string
	prof, err := Profile(t.Context(), ProfileConfig{
		URL: url, MetricsURL: url + "/metrics", Accelerator: "cpu",
		Concurrency: []int{1, 4, 8, 16}, Step: time.Second, Warmup: 300 * time.Millisecond,
		PromptTokens: 64, MaxTokens: 8, Gauges: ProfileGauges, ScrapeInterval: 100 * time.Millisecond,
		Timeout: waitLimit, Seed: 1, Clock: RealClock{}, Client: &http.Client{},
	}, func(line string) { progress = append(progress, line) })
	if err != nil {
		t.Fatal(err)
	}

	if prof.Spec.Model != vllmsim.DefaultModel || prof.Name != "gemma-3-1b-it-cpu" ||
		prof.Spec.Workload != (v1alpha1.ProfileWorkload{PromptTokens: 64, MaxTokens: 8}) || len(prof.Spec.Points) != 4 {
		t.Fatalf("profile %+v; want the model from /v1/models, a name from it, the workload and 4 points", prof)
	}
	pts := prof.Spec.Points
	for i, p := range pts {
		if p.Requests == 0 || p.Errors != 0 || p.TTFT == nil || p.TPOT == nil {
			t.Fatalf("point %d: %d requests, %d errors, ttft %v, tpot %v; want requests, no errors and both latencies",
				i, p.Requests, p.Errors, p.TTFT, p.TPOT)
		}
		if i == 0 {
			continue
		}
		prev := pts[i-1]
		// Within noise: a higher level may measure a little faster, never much.
		for _, l := range []struct {
			name      string
			now, then time.Duration
		}{
			{"TTFT p50", p.TTFT.P50.Duration, prev.TTFT.P50.Duration},
			{"TPOT p50", p.TPOT.P50.Duration, prev.TPOT.P50.Duration},
		} {
			if float64(l.now) < 0.8*float64(l.then) {
				t.Errorf("%s fell from %s at concurrency %d to %s at %d", l.name, l.then, prev.Concurrency, l.now, p.Concurrency)
			}
		}
		if r, rPrev := gaugeOf(t, p, metricRunning), gaugeOf(t, prev, metricRunning); r < rPrev-0.5 {
			t.Errorf("num_requests_running fell from %g at concurrency %d to %g at %d", rPrev, prev.Concurrency, r, p.Concurrency)
		}
	}
	one, eight, sixteen := pts[0], pts[2], pts[3]
	// The model's own effects are several times any noise: 2ms vs 9ms per token,
	// and a queue of about 8 requests in front of each new one at 16.
	if eight.TPOT.P50.Duration < 3*one.TPOT.P50.Duration {
		t.Errorf("TPOT p50 %s at 8 requests is not well above %s at 1: latency does not grow with the batch",
			eight.TPOT.P50.Duration, one.TPOT.P50.Duration)
	}
	if sixteen.TTFT.P50.Duration < 3*eight.TTFT.P50.Duration {
		t.Errorf("TTFT p50 %s at 16 requests is not well above %s at 8: a full batch does not queue",
			sixteen.TTFT.P50.Duration, eight.TTFT.P50.Duration)
	}
	if w := gaugeOf(t, sixteen, metricWaiting); w < 4 {
		t.Errorf("num_requests_waiting %g at 16 requests on 8 slots, want about 8", w)
	}
	if r := gaugeOf(t, eight, metricRunning); r < 6 {
		t.Errorf("num_requests_running %g at 8 requests, want about 8", r)
	}
	if kv1, kv8 := gaugeOf(t, one, metricKVCache), gaugeOf(t, eight, metricKVCache); kv8 < 3*kv1 || kv8 > 1 {
		t.Errorf("kv_cache_usage_perc %g at 1 request and %g at 8; want it to rise with the batch, as a fraction", kv1, kv8)
	}
	if rps1, rps8 := decimal(t, one.RequestsPerSecond), decimal(t, eight.RequestsPerSecond); rps8 < 1.4*rps1 {
		t.Errorf("requests/s %g at 1 and %g at 8: throughput does not rise with concurrency", rps1, rps8)
	}
	if tok, rps := decimal(t, one.OutputTokensPerSecond), decimal(t, one.RequestsPerSecond); tok < 7.9*rps || tok > 8.1*rps {
		t.Errorf("output tokens/s %g is not 8 x requests/s %g: every answer has max_tokens 8", tok, rps)
	}
	if len(progress) != 4 || !strings.Contains(progress[3], "[4/4] concurrency 16:") {
		t.Errorf("progress lines %q, want one per level", progress)
	}

	// The YAML reads back, strictly, into the same Go value.
	y, err := MarshalProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(y, []byte("apiVersion: vllmhpa.dev/v1alpha1\nkind: VLLMServerProfile\n")) ||
		!bytes.Contains(y, []byte(`config.kubernetes.io/local-config: "true"`)) {
		t.Errorf("YAML does not start with apiVersion and kind or lacks the local-config annotation:\n%s", y)
	}
	var back v1alpha1.VLLMServerProfile
	if err := yaml.UnmarshalStrict(y, &back); err != nil {
		t.Fatalf("the profile does not read back into VLLMServerProfile: %v\n%s", err, y)
	}
	if !reflect.DeepEqual(&back, prof) {
		t.Errorf("read back %+v\nwant %+v", back, *prof)
	}

	img, err := PlotProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width < 1000 || cfg.Height < 600 {
		t.Errorf("plot is not a PNG of a readable size: %+v, %v", cfg, err)
	}
}

func TestPointFromResults(t *testing.T) {
	at := func(ms int) time.Time {
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
	}
	results := []streamResult{
		// TTFT 100ms, 5 tokens 10ms apart after the first: TPOT 10ms.
		{start: at(0), first: at(100), last: at(140), outputTokens: 5},
		// TTFT 300ms, TPOT (600-300)/(4-1) = 100ms.
		{start: at(0), first: at(300), last: at(600), outputTokens: 4},
		// One token: a TTFT of 200ms, no TPOT.
		{start: at(0), first: at(200), last: at(200), outputTokens: 1},
		{errClass: "500", errBody: "boom"},
	}
	g := gaugeMeans{sum: map[string]float64{metricRunning: 9, metricKVCache: 0.3}, n: map[string]int{metricRunning: 3, metricKVCache: 2}}
	p := point(4, results, 2*time.Second, g)

	want := v1alpha1.ProfilePoint{
		Concurrency: 4, Requests: 3, Errors: 1,
		RequestsPerSecond: "1.5", OutputTokensPerSecond: "5",
		TTFT:   &v1alpha1.LatencyPercentiles{P50: dur(200 * time.Millisecond), P90: dur(300 * time.Millisecond), P99: dur(300 * time.Millisecond)},
		TPOT:   &v1alpha1.LatencyPercentiles{P50: dur(10 * time.Millisecond), P90: dur(100 * time.Millisecond), P99: dur(100 * time.Millisecond)},
		Gauges: map[string]v1alpha1.Decimal{metricRunning: "3", metricKVCache: "0.15"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("point\n%+v\nwant\n%+v", p, want)
	}

	if empty := point(2, []streamResult{{errClass: errTimeout}}, time.Second, gaugeMeans{}); empty.TTFT != nil || empty.TPOT != nil ||
		empty.Requests != 0 || empty.Errors != 1 || empty.RequestsPerSecond != "0" || empty.Gauges != nil {
		t.Errorf("a step where every request failed: %+v; want no latencies, 0 req/s, 1 error, no gauges", empty)
	}
}

func dur(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }

func TestLatenciesKeepThreeSignificantDigits(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{83456789, 83500 * time.Microsecond},
		{5134000, 5130 * time.Microsecond},
		{1234567890, 1230 * time.Millisecond},
		{999, 999},
		{0, 0},
	} {
		if got := significant(tc.in).Duration; got != tc.want {
			t.Errorf("significant(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestProfileNameIsADNSLabel(t *testing.T) {
	for _, tc := range []struct{ model, accel, want string }{
		{"google/gemma-3-1b-it", "nvidia-l4", "gemma-3-1b-it-nvidia-l4"},
		{"meta-llama/Llama-3.1-8B-Instruct", "", "llama-3-1-8b-instruct"},
		{"/models/My_Model", "TPU v5e", "my-model-tpu-v5e"},
		{"___", "", "profile"},
		{strings.Repeat("a", 70), "", strings.Repeat("a", 63)},
	} {
		if got := ProfileName(tc.model, tc.accel); got != tc.want {
			t.Errorf("ProfileName(%q, %q) = %q, want %q", tc.model, tc.accel, got, tc.want)
		}
	}
}

func TestProfileFlags(t *testing.T) {
	o, err := ParseProfileFlags(strings.Fields("--url http://h:8000/ --concurrency 2,8 --step 30s --warmup 5s "+
		"--prompt-tokens 128 --max-tokens 64 --gauge vllm:num_preemptions --gauge vllm:num_requests_running "+
		"--accelerator nvidia-l4 -o p.yaml --plot p.png"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	r := o.Run
	if r.URL != "http://h:8000" || r.MetricsURL != "http://h:8000/metrics" || !reflect.DeepEqual(r.Concurrency, []int{2, 8}) ||
		r.Step != 30*time.Second || r.Warmup != 5*time.Second || r.PromptTokens != 128 || r.MaxTokens != 64 ||
		r.Accelerator != "nvidia-l4" || o.Output != "p.yaml" || o.Plot != "p.png" ||
		!reflect.DeepEqual(r.Gauges, []string{metricRunning, metricWaiting, metricKVCache, "vllm:num_preemptions"}) {
		t.Errorf("parsed %+v", o)
	}
	d, err := ParseProfileFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Run.Concurrency, []int{1, 2, 4, 8, 16, 32, 64}) || d.Run.Step != time.Minute ||
		d.Run.Warmup != 10*time.Second || d.Run.PromptTokens != 512 || d.Run.MaxTokens != 256 || d.Output != "-" {
		t.Errorf("defaults %+v", d)
	}
	for _, tc := range []struct{ args, wantErr string }{
		{"--concurrency 1,x", `"x" is not a whole number between 1 and 4096`},
		{"--concurrency 4,4", "gives 4 twice"},
		{"--concurrency 0", "between 1 and 4096"},
		{"--step 0s", "--step (0s) must be positive"},
		{"--prompt-tokens 0", "--prompt-tokens (0)"},
		{"--max-tokens 2000000", "--max-tokens (2000000)"},
		{"--gauge bad-name", `--gauge "bad-name" is not a Prometheus metric name`},
		{"--plot p.svg", "does not end in .png"},
		{"--url localhost:8000", "not an http(s) URL"},
		{"extra", "takes flags only"},
	} {
		if _, err := ParseProfileFlags(strings.Fields(tc.args), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseProfileFlags(%q) = %v, want an error containing %q", tc.args, err, tc.wantErr)
		}
	}
}

// An interrupted profile writes the levels measured so far, whole, and says so.
func TestInterruptedProfileWritesTheLevelsMeasured(t *testing.T) {
	url := fastSim(t)
	dir := t.TempDir()
	out, plotFile := filepath.Join(dir, "profile.yaml"), filepath.Join(dir, "profile.png")
	clock := newFakeClock()
	ctx, interrupt := context.WithCancel(t.Context())
	stderr := newSyncBuffer()
	exited := make(chan int, 1)
	go func() {
		exited <- runProfile(ctx, ProfileOptions{Output: out, Plot: plotFile, Run: ProfileConfig{
			URL: url, MetricsURL: url + "/metrics", Concurrency: []int{1, 2, 4}, Step: 10 * time.Second,
			PromptTokens: 8, MaxTokens: 2, Gauges: ProfileGauges, ScrapeInterval: time.Hour, Timeout: waitLimit,
			Clock: clock,
		}}, &bytes.Buffer{}, stderr)
	}()
	// Level 1 is measured when its step's ticker fires (the scrapes', an hour, never does).
	clock.step(t, nextTicker(t, clock, 10*time.Second))
	stderr.waitFor(t, "[1/3] concurrency 1:")
	nextTicker(t, clock, 10*time.Second) // level 2 is being measured...
	interrupt()                          // ...when SIGINT arrives

	if code := <-exited; code != 130 {
		t.Fatalf("exit code %d, want 130 for an interrupted profile; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted; writing the 1 of 3 levels measured") {
		t.Errorf("stderr does not say what was written:\n%s", stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var prof v1alpha1.VLLMServerProfile
	if err := yaml.UnmarshalStrict(b, &prof); err != nil || len(prof.Spec.Points) != 1 || prof.Spec.Points[0].Concurrency != 1 {
		t.Errorf("written profile %+v (%v); want the one level measured", prof, err)
	}
	if _, err := os.Stat(plotFile); err != nil {
		t.Errorf("no plot written: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// nextTicker returns the next ticker the run creates with the given period,
// passing over others (the scrapes').
func nextTicker(t *testing.T, clock *fakeClock, period time.Duration) *fakeTicker {
	t.Helper()
	for {
		if tk := clock.ticker(t); tk.period == period {
			return tk
		}
	}
}

// Gauge means skip NaN and infinite scrapes, and read the KV-cache fraction
// under its old name from a vLLM from before the rename.
func TestGaugeMeansOfOddExporters(t *testing.T) {
	body := "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running NaN\n" +
		"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\"} 2\nvllm:num_requests_waiting{engine=\"1\"} 3\n" +
		"# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc 0.5\n"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/nothing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	cfg := ProfileConfig{MetricsURL: ts.URL, Client: &http.Client{}, ScrapeInterval: waitLimit}
	g := gaugeMeans{sum: map[string]float64{}, n: map[string]int{}}
	g.add(scrapeCtx(t.Context(), cfg), ProfileGauges)
	g.add(scrapeCtx(t.Context(), ProfileConfig{MetricsURL: ts.URL + "/nothing", Client: &http.Client{}, ScrapeInterval: waitLimit}), ProfileGauges)
	p := point(1, nil, time.Second, g)
	want := map[string]v1alpha1.Decimal{metricWaiting: "5", metricGPUCache: "0.5"}
	if !reflect.DeepEqual(p.Gauges, want) || g.scrapes != 1 || g.failures != 1 {
		t.Errorf("gauges %v after %d scrapes, %d failed; want %v: NaN left out, the engines summed, the old name kept",
			p.Gauges, g.scrapes, g.failures, want)
	}
}

func TestProfileOfSomethingElseSaysSo(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(ts.Close)
	_, err := Profile(t.Context(), ProfileConfig{URL: ts.URL, Client: &http.Client{}, Clock: RealClock{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "/v1/models: status 404") || !strings.Contains(err.Error(), "--model") {
		t.Errorf("error %v, want one naming /v1/models, its status and the --model way out", err)
	}
}
