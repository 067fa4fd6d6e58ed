package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// ProfileGauges are the vLLM gauges every profile records: the ones an HPA
// scales on (SPEC: batch size, queue, KV-cache fraction).
var ProfileGauges = []string{metricRunning, metricWaiting, metricKVCache}

// ProfileConfig describes a profile run: closed-loop load at each concurrency
// level in turn, a warm-up and then a measured step at each.
type ProfileConfig struct {
	// URL is the server's base URL; requests go to URL/v1/completions.
	URL string
	// MetricsURL is scraped for the gauges during each step.
	MetricsURL string
	// Model is sent in each request; empty asks the server's /v1/models.
	Model string
	// Accelerator and Name go into the profile as given.
	Accelerator, Name string
	// Concurrency lists the levels, measured in this order.
	Concurrency []int
	// Warmup is held at each level before its Step is measured.
	Step, Warmup time.Duration
	// PromptTokens and MaxTokens shape every request.
	PromptTokens, MaxTokens int
	// Gauges are the gauge names to average over each step.
	Gauges []string
	// ScrapeInterval is how often MetricsURL is read during a step.
	ScrapeInterval time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
	// Seed makes the random prompts reproducible.
	Seed   uint64
	Clock  Clock
	Client *http.Client
}

// Profile measures the server at each level of cfg.Concurrency and returns the
// profile, calling progress with a line after each step. When ctx ends it
// returns the points measured so far with ctx's error.
func Profile(ctx context.Context, cfg ProfileConfig, progress func(string)) (*v1alpha1.VLLMServerProfile, error) {
	model := cfg.Model
	if model == "" {
		var err error
		if model, err = servedModel(ctx, cfg.Client, cfg.URL); err != nil {
			return nil, err
		}
	}
	name := cfg.Name
	if name == "" {
		name = ProfileName(model, cfg.Accelerator)
	}
	prof := &v1alpha1.VLLMServerProfile{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.ProfileKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			// kpt and kustomize keep a local-config object out of what they apply.
			"config.kubernetes.io/local-config": "true",
		}},
		Spec: v1alpha1.VLLMServerProfileSpec{
			Model:       model,
			Accelerator: cfg.Accelerator,
			Workload:    v1alpha1.ProfileWorkload{PromptTokens: int32(cfg.PromptTokens), MaxTokens: int32(cfg.MaxTokens)},
		},
	}

	client := &streamClient{http: cfg.Client, endpoint: cfg.URL + "/v1/completions", model: model,
		promptTokens: cfg.PromptTokens, maxTokens: cfg.MaxTokens, timeout: cfg.Timeout, clock: cfg.Clock}
	col := &collector{}
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	var stops []chan struct{}
	defer func() {
		for _, s := range stops {
			close(s)
		}
		cancelRequests()
		workers.Wait()
	}()

	for i, level := range cfg.Concurrency {
		for len(stops) < level {
			stop := make(chan struct{})
			stops = append(stops, stop)
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(len(stops))))
			workers.Go(func() {
				closedLoop(cfg.Clock, stop, reqCtx.Done(), func() string {
					r := client.do(reqCtx, rng)
					col.add(r)
					return r.errClass
				})
			})
		}
		for len(stops) > level {
			close(stops[len(stops)-1]) // it finishes its request first
			stops = stops[:len(stops)-1]
		}

		if err := wait(ctx, cfg.Clock, cfg.Warmup); err != nil {
			return prof, err
		}
		col.take() // what completed during the warm-up is not measured
		start := cfg.Clock.Now()
		stepDone := make(chan struct{})
		scraped := scrapeDuring(ctx, cfg, stepDone)
		waitErr := wait(ctx, cfg.Clock, cfg.Step)
		end := cfg.Clock.Now()
		results := col.take()
		close(stepDone)
		gauges := <-scraped
		if waitErr != nil {
			return prof, waitErr
		}
		p := point(level, results, end.Sub(start), gauges)
		prof.Spec.Points = append(prof.Spec.Points, p)
		if progress != nil {
			progress(describePoint(i+1, len(cfg.Concurrency), p, results))
		}
	}
	return prof, nil
}

// wait holds for d on the clock, or until ctx ends.
func wait(ctx context.Context, clock Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := clock.NewTicker(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// servedModel is the first model the server lists on /v1/models.
func servedModel(ctx context.Context, client *http.Client, base string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s/v1/models: %w; is --url a vLLM server?", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReadBody))
	if err != nil {
		return "", fmt.Errorf("GET %s/v1/models: %w", base, err)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Data) == 0 || list.Data[0].ID == "" {
		return "", fmt.Errorf("GET %s/v1/models: status %d without a model: %s; is --url a vLLM server? (or give --model)",
			base, resp.StatusCode, truncate(string(body), maxErrorBody))
	}
	return list.Data[0].ID, nil
}

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// ProfileName makes a DNS-1123 label from the model's last path element and
// the accelerator, e.g. gemma-3-1b-it-nvidia-l4.
func ProfileName(model, accelerator string) string {
	base := model[strings.LastIndex(model, "/")+1:]
	if accelerator != "" {
		base += "-" + accelerator
	}
	name := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	if name == "" {
		return "profile"
	}
	return name
}

// collector gathers the results of the workers.
type collector struct {
	mu      sync.Mutex
	results []streamResult
}

func (c *collector) add(r streamResult) {
	if r.canceled {
		return // cut off at the end of the run: no measurement
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = append(c.results, r)
}

// take returns what was gathered since the last take and starts afresh.
func (c *collector) take() []streamResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.results
	c.results = nil
	return r
}

// gaugeMeans is the mean of each gauge over the scrapes of a step.
type gaugeMeans struct {
	sum       map[string]float64
	n         map[string]int
	scrapes   int
	failures  int
	lastError string
}

// scrapeDuring reads cfg.MetricsURL at once and then every ScrapeInterval
// until stop closes or ctx ends, and then sends the means.
func scrapeDuring(ctx context.Context, cfg ProfileConfig, stop <-chan struct{}) <-chan gaugeMeans {
	out := make(chan gaugeMeans, 1)
	go func() {
		g := gaugeMeans{sum: map[string]float64{}, n: map[string]int{}}
		tick := cfg.Clock.NewTicker(cfg.ScrapeInterval)
		defer tick.Stop()
		for {
			g.add(scrapeCtx(ctx, cfg), cfg.Gauges)
			select {
			case <-ctx.Done():
				out <- g
				return
			case <-stop:
				out <- g
				return
			case <-tick.C():
			}
		}
	}()
	return out
}

type scrapeOutcome struct {
	families map[string]float64 // sum of each family's series, finite ones only
	err      error
}

func scrapeCtx(ctx context.Context, cfg ProfileConfig) scrapeOutcome {
	ctx, cancel := context.WithTimeout(ctx, cfg.ScrapeInterval)
	defer cancel()
	families, err := fetchFamilies(ctx, cfg.Client, cfg.MetricsURL)
	if err != nil {
		return scrapeOutcome{err: err}
	}
	sums := map[string]float64{}
	for name, f := range families {
		if v, ok := sumOf(f); ok && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			sums[name] = float64(v)
		}
	}
	return scrapeOutcome{families: sums}
}

func (g *gaugeMeans) add(s scrapeOutcome, names []string) {
	if s.err != nil {
		g.failures++
		g.lastError = s.err.Error()
		return
	}
	g.scrapes++
	for _, name := range names {
		v, ok := s.families[name]
		if !ok && name == metricKVCache {
			// vLLM before the rename exports the same fraction under the old name.
			if v, ok = s.families[metricGPUCache]; ok {
				name = metricGPUCache
			}
		}
		if ok {
			g.sum[name] += v
			g.n[name]++
		}
	}
}

// point turns a step's results into a profile point.
func point(level int, results []streamResult, window time.Duration, g gaugeMeans) v1alpha1.ProfilePoint {
	var ttfts, tpots []time.Duration
	var tokens, errs int64
	for _, r := range results {
		if r.errClass != "" {
			errs++
			continue
		}
		ttfts = append(ttfts, r.ttft())
		if d, ok := r.tpot(); ok {
			tpots = append(tpots, d)
		}
		tokens = addSaturating(tokens, int64(r.outputTokens))
	}
	secs := window.Seconds()
	p := v1alpha1.ProfilePoint{
		Concurrency:           int32(level),
		Requests:              int64(len(ttfts)),
		Errors:                errs,
		RequestsPerSecond:     v1alpha1.DecimalOf(float64(len(ttfts)) / secs),
		OutputTokensPerSecond: v1alpha1.DecimalOf(float64(tokens) / secs),
		TTFT:                  percentiles(ttfts),
		TPOT:                  percentiles(tpots),
	}
	for name, n := range g.n {
		if p.Gauges == nil {
			p.Gauges = map[string]v1alpha1.Decimal{}
		}
		p.Gauges[name] = v1alpha1.DecimalOf(g.sum[name] / float64(n))
	}
	return p
}

func percentiles(d []time.Duration) *v1alpha1.LatencyPercentiles {
	if len(d) == 0 {
		return nil
	}
	slices.Sort(d)
	return &v1alpha1.LatencyPercentiles{
		P50: significant(Percentile(d, 50)),
		P90: significant(Percentile(d, 90)),
		P99: significant(Percentile(d, 99)),
	}
}

// significant rounds d to three significant digits (83.5ms, 5.13ms, 1.23s):
// more would be noise, and the profile is read by people too.
func significant(d time.Duration) metav1.Duration {
	unit := time.Duration(1)
	for d/unit >= 1000 {
		unit *= 10
	}
	return metav1.Duration{Duration: d.Round(unit)}
}

// describePoint is the progress line of a finished step.
func describePoint(i, n int, p v1alpha1.ProfilePoint, results []streamResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vllm-loadgen profile: [%d/%d] concurrency %d: %s req/s, %s output tokens/s",
		i, n, p.Concurrency, p.RequestsPerSecond, p.OutputTokensPerSecond)
	if p.TTFT != nil {
		fmt.Fprintf(&b, ", TTFT p50/p90/p99 %s/%s/%s", p.TTFT.P50.Duration, p.TTFT.P90.Duration, p.TTFT.P99.Duration)
	}
	if p.TPOT != nil {
		fmt.Fprintf(&b, ", TPOT %s/%s/%s", p.TPOT.P50.Duration, p.TPOT.P90.Duration, p.TPOT.P99.Duration)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Gauges)) {
		fmt.Fprintf(&b, ", %s %s", strings.TrimPrefix(name, "vllm:"), p.Gauges[name])
	}
	fmt.Fprintf(&b, "; %d requests, %d errors", p.Requests, p.Errors)
	for _, r := range results {
		if r.errClass != "" {
			fmt.Fprintf(&b, " (first: %s %s)", r.errClass, truncate(r.errBody, maxErrorBody))
			break
		}
	}
	return b.String()
}
