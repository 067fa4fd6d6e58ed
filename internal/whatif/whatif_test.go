package whatif

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/whatif/hpa"
)

var update = flag.Bool("update", false, "rewrite golden files")

const bundledProfile = "../../examples/profiles/gemma-3-1b-l4.yaml"

func loadProfile(t testing.TB) *Profile {
	t.Helper()
	data, err := os.ReadFile(bundledProfile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadSetup(t testing.TB, file string) *Setup {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSetup(file, f, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// closedLoop holds one replica at concurrency c (each client sends its next
// request the moment its last one ends) for n requests, through the
// simulator's own admission and completion code, and measures what
// vllm-loadgen profile would measure.
func closedLoop(t *testing.T, p *Profile, c, n int) (ttft, tpot Quantiles, rps, running, kv float64) {
	t.Helper()
	cfg := Config{Setup: loadSetup(t, "gemma-adapter.yaml"), Profile: p, Traffic: &Traffic{Duration: 1},
		Seed: 7, Backend: BackendAdapter, ScrapeInterval: 15 * time.Second, MaxNumSeqs: 64,
		SyncPeriod: hpa.DefaultSyncPeriod, HPA: hpa.DefaultOptions(), Grace: DefaultGrace}
	s, err := newSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := s.newReplica(0)
	r.state = podReady
	s.addReady(r)
	for i := 0; i < c; i++ {
		s.admit(r, Request{At: 0})
	}
	var runArea, kvArea, last float64
	kvTable := s.model.gauges[GaugeKVCache]
	for s.res.Completed < uint64(n) {
		e := s.q.pop()
		runArea += float64(r.running) * (e.t - last)
		kvArea += kvTable[r.running] * (e.t - last)
		last = e.t
		s.now = e.t
		s.complete(e)
		s.admit(r, Request{At: s.now})
	}
	return quantiles(&s.ttft), quantiles(&s.tpot), float64(n) / last, runArea / last, kvArea / last
}

func within(t *testing.T, what string, got, want, margin float64) {
	t.Helper()
	if want == 0 {
		if math.Abs(got) > 1e-3 {
			t.Errorf("%s = %g, want 0", what, got)
		}
		return
	}
	if rel := math.Abs(got-want) / want; rel > margin {
		t.Errorf("%s = %.4g, want %.4g within %.0f%% (off by %.1f%%)", what, got, want, margin*100, rel*100)
	}
}

// TestServerMatchesProfile: a simulated replica held at each profile point's
// concurrency reproduces that point: TTFT and TPOT percentiles within 5%
// (sampling noise and the 1% histogram buckets), throughput within 5% (the
// profile's throughput was computed from medians, the simulation draws
// log-normal latencies whose means sit slightly above them), and the running
// and KV-cache gauges within 1%.
func TestServerMatchesProfile(t *testing.T) {
	p := loadProfile(t)
	for _, pt := range p.Points {
		c := int(pt.Concurrency)
		t.Run(strings.ReplaceAll(time.Duration(c).String(), "ns", "")+"-clients", func(t *testing.T) {
			ttft, tpot, rps, running, kv := closedLoop(t, p, c, 40000)
			within(t, "ttft p50", ttft.P50, pt.TTFT.P50, 0.05)
			within(t, "ttft p90", ttft.P90, pt.TTFT.P90, 0.05)
			within(t, "ttft p99", ttft.P99, pt.TTFT.P99, 0.05)
			within(t, "tpot p50", tpot.P50, pt.TPOT.P50, 0.05)
			within(t, "tpot p90", tpot.P90, pt.TPOT.P90, 0.05)
			within(t, "tpot p99", tpot.P99, pt.TPOT.P99, 0.05)
			within(t, "requests/s", rps, pt.RequestsPerSecond, 0.05)
			within(t, "num_requests_running", running, pt.Gauges[GaugeRunning], 0.01)
			within(t, "kv_cache_usage_perc", kv, pt.Gauges[GaugeKVCache], 0.01)
		})
	}
}

func TestLatencyDistributionHitsPercentiles(t *testing.T) {
	l := newLatency(Percentiles{0.1, 0.2, 0.5})
	for _, c := range []struct{ z, want float64 }{{0, 0.1}, {z90, 0.2}, {z99, 0.5}} {
		if got := l.at(c.z); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("at(%g) = %g, want %g", c.z, got, c.want)
		}
	}
}

func TestReadSetup(t *testing.T) {
	s := loadSetup(t, "gemma-adapter.yaml")
	if s.Backend != BackendAdapter || s.Gauges[0] != GaugeRunning || s.ScrapeInterval != 15*time.Second || s.MaxNumSeqs != 64 {
		t.Errorf("adapter setup = backend %q gauges %v scrape %s max-num-seqs %d", s.Backend, s.Gauges, s.ScrapeInterval, s.MaxNumSeqs)
	}
	g := loadSetup(t, "gemma-gke.yaml")
	if g.Backend != BackendGKE || g.Gauges[0] != GaugeRunning {
		t.Errorf("gke setup = backend %q gauges %v", g.Backend, g.Gauges)
	}
	// The example's rendered output as a whole reads the same.
	f, err := os.Open("../../examples/kustomize-container/expected.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := ReadSetup("expected.yaml", f, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if e.Backend != BackendAdapter || e.MaxNumSeqs != 64 || e.ScrapeInterval != 15*time.Second || e.HPA.Name != "vllm-gemma" {
		t.Errorf("example setup = %+v", e)
	}
}

func TestTrafficShapes(t *testing.T) {
	tr, err := ParseTraffic("step:levels=2,20,5,every=10m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Duration != 1800 || tr.RateAt(599) != 2 || tr.RateAt(600) != 20 || tr.RateAt(1200) != 5 || len(tr.Steps) != 1 || tr.Steps[0].At != 600 {
		t.Errorf("step = %+v", tr)
	}
	if got := tr.MeanRate(0, 1200); got != 11 {
		t.Errorf("mean rate over the first two levels = %g, want 11", got)
	}
	// Arrivals follow the rate: 2/s for 600 s, 20/s for 600 s, 5/s for 600 s.
	a := newArrivals(tr, 3)
	counts := [3]int{}
	for {
		r, ok := a.next()
		if !ok {
			break
		}
		counts[int(r.At/600)]++
	}
	for i, want := range []float64{1200, 12000, 3000} {
		within(t, "arrivals in level "+string(rune('1'+i)), float64(counts[i]), want, 0.1)
	}

	b1, _ := ParseTraffic("bursty:duration=2h", 5)
	b2, _ := ParseTraffic("bursty:duration=2h", 5)
	if b1.Name != b2.Name || len(b1.segs) != len(b2.segs) || b1.segs[1] != b2.segs[1] {
		t.Error("bursty traffic differs between two parses with one seed")
	}
	d, err := ParseTraffic("diurnal:min=1,max=3,period=1h,peak=30m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := d.RateAt(1800); r < 2.99 {
		t.Errorf("diurnal rate at its peak = %g, want about 3", r)
	}

	csv := "time,rate\n0,1\n60,4\n120,2\n"
	tc, err := ParseTrace("t.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if tc.RateAt(90) != 4 || tc.Duration != 180 || len(tc.Steps) != 1 {
		t.Errorf("csv trace = %+v", tc)
	}
	log := "# a request log\n0.5,512,128\n1.25,100,10\n"
	tl, err := ParseTrace("r.csv", strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.log) != 2 || tl.log[1].PromptTokens != 100 || tl.log[1].OutputTokens != 10 {
		t.Errorf("request log = %+v", tl.log)
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestDeterministic: the same seed gives the same bytes (table, JSON and
// PNG); another seed gives other numbers.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-f", "testdata/gemma-adapter.yaml", "--profile", bundledProfile, "--traffic", "bursty:duration=1h", "--seed", "11"}
	var outs, pngs []string
	for i := 0; i < 2; i++ {
		png := filepath.Join(dir, "p"+string(rune('0'+i))+".png")
		code, out, stderr := runCLI(append(args, "--output", "json", "--plot", png)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		data, err := os.ReadFile(png)
		if err != nil {
			t.Fatal(err)
		}
		outs, pngs = append(outs, out), append(pngs, string(data))
	}
	if outs[0] != outs[1] {
		t.Error("two runs with one seed printed different JSON")
	}
	if pngs[0] != pngs[1] {
		t.Error("two runs with one seed drew different PNGs")
	}
	_, other, _ := runCLI(append(args[:len(args)-1], "12", "--output", "json")...)
	if other == outs[0] {
		t.Error("another seed printed the same JSON")
	}
}

// TestGolden: a small run's table, byte for byte
// (go test ./internal/whatif -run TestGolden -update rewrites it).
func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"step-adapter", []string{"-f", "testdata/gemma-adapter.yaml", "--traffic", "step:levels=2,20,5,every=10m"}},
		{"compare-backends", []string{"-f", "testdata/gemma-adapter.yaml", "--backend", "adapter,gke", "--compare", "--traffic", "step:levels=2,20,5,every=10m"}},
		{"trace-csv", []string{"-f", "testdata/gemma-gke.yaml", "--trace", "testdata/trace.csv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(append(c.args, "--profile", bundledProfile, "--seed", "3")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("testdata", "golden", c.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

// TestCLIErrors: every bad input exits non-zero with a message that names
// the flag (or field), the value and the fix, and prints nothing on stdout.
func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	badProfile := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badProfile, []byte("kind: VLLMServerProfile\nspec:\n  workload: {promptTokens: 512, maxTokens: 256}\n  points:\n  - concurrency: 1\n    ttft: {p50: fast, p90: 1s, p99: 2s}\n    tpot: {p50: 1ms, p90: 2ms, p99: 3ms}\n"), 0o644)
	noWaiting := filepath.Join(dir, "kv.yaml")
	os.WriteFile(noWaiting, []byte(strings.Replace(mustRead(t, "testdata/gemma-adapter.yaml"), "vllm:num_requests_running", "vllm:num_requests_swapped", 1)), 0o644)
	twoHPAs := filepath.Join(dir, "two.yaml")
	os.WriteFile(twoHPAs, []byte(mustRead(t, "testdata/gemma-adapter.yaml")+"---\n"+strings.Replace(mustRead(t, "testdata/gemma-adapter.yaml"), "name: vllm-gemma\n  namespace", "name: other\n  namespace", 1)), 0o644)
	p := bundledProfile
	f := "testdata/gemma-adapter.yaml"
	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"no profile", []string{"-f", f}, 2, []string{"--profile is required", "vllm-loadgen profile"}},
		{"unknown shape", []string{"-f", f, "--profile", p, "--traffic", "stepp"}, 1, []string{"--traffic", `"stepp"`, "use step, ramp, diurnal or bursty"}},
		{"bad level", []string{"-f", f, "--profile", p, "--traffic", "step:levels=2,x"}, 1, []string{"--traffic", `"x" is not a rate`, "levels=2,20,5"}},
		{"unknown parameter", []string{"-f", f, "--profile", p, "--traffic", "ramp:peak=3"}, 1, []string{"--traffic", `no parameter "peak"`, "from"}},
		{"bad duration param", []string{"-f", f, "--profile", p, "--traffic", "step:every=soon"}, 1, []string{"every=soon is not a positive duration", "every=20m"}},
		{"unknown backend", []string{"-f", f, "--profile", p, "--backend", "keda"}, 2, []string{"--backend", `"keda"`, "use adapter, gke"}},
		{"two files without compare", []string{"-f", f, "-f", f, "--profile", p}, 2, []string{"2 manifest files", "add --compare"}},
		{"bad percentile", []string{"-f", f, "--profile", p, "--slo-percentile", "95"}, 2, []string{"--slo-percentile (95)", "50, 90 or 99"}},
		{"bad output", []string{"-f", f, "--profile", p, "--output", "yaml"}, 2, []string{"--output", `"yaml"`, "table or json"}},
		{"model load above startup", []string{"-f", f, "--profile", p, "--startup", "1m", "--model-load", "2m"}, 2, []string{"--model-load (2m0s)", "--startup (1m0s)"}},
		{"negative warmup", []string{"-f", f, "--profile", p, "--warmup", "-1m"}, 2, []string{"--warmup (-1m0s)", "must not be negative"}},
		{"bad routing", []string{"-f", f, "--profile", p, "--routing", "sticky"}, 2, []string{"--routing", `"sticky"`, "random, round-robin or least"}},
		{"bad tolerance", []string{"-f", f, "--profile", p, "--tolerance", "2"}, 2, []string{"--tolerance (2)", "below 1"}},
		{"trace and traffic", []string{"-f", f, "--profile", p, "--traffic", "step", "--trace", "t.csv"}, 2, []string{"--trace t.csv and --traffic step", "give one"}},
		{"unknown flag", []string{"--profil", p}, 2, []string{"-profil", "--help"}},
		{"missing profile file", []string{"-f", f, "--profile", filepath.Join(dir, "none.yaml")}, 1, []string{"--profile", "none.yaml", "no such file"}},
		{"bad profile duration", []string{"-f", f, "--profile", badProfile}, 1, []string{"spec.points[0].ttft.p50", `"fast"`, "write it like 80ms"}},
		{"missing manifests", []string{"-f", filepath.Join(dir, "none.yaml"), "--profile", p}, 1, []string{"-f", "none.yaml", "no such file"}},
		{"no HPA", []string{"-f", p, "--profile", p}, 1, []string{"no HorizontalPodAutoscaler", "rendered output"}},
		{"two HPAs", []string{"-f", twoHPAs, "--profile", p}, 1, []string{"2 HorizontalPodAutoscalers", "other, vllm-gemma", "--hpa NAME"}},
		{"unknown HPA", []string{"-f", twoHPAs, "--profile", p, "--hpa", "x"}, 1, []string{`--hpa "x"`, "other, vllm-gemma"}},
		{"metric not profiled", []string{"-f", noWaiting, "--profile", p}, 1, []string{`"vllm:num_requests_swapped"`, "--gauge vllm:num_requests_swapped"}},
		{"bad trace", []string{"-f", f, "--profile", p, "--trace", "testdata/gemma-adapter.yaml"}, 1, []string{"--trace testdata/gemma-adapter.yaml:", "time,rate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			if out != "" {
				t.Errorf("stdout not empty on error: %q", out)
			}
			for _, w := range c.wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI("--help")
	if code != 0 || !strings.Contains(out, "--traffic") || !strings.Contains(out, "bursty") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}
