package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/vllmsim"
)

// holdRequests sends n requests into s, whose engine must be stalled, and
// returns once the stand-in holds them all, running or waiting.
func holdRequests(t *testing.T, s *sim, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	c := Config{URL: s.url, Model: DefaultModel, Prompt: "hi", Clock: RealClock{}, Timeout: waitLimit}.withDefaults()
	client, err := newChatClient(c)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		wg.Go(func() { client.do(ctx) })
	}
	s.waitFor(t, fmt.Sprintf("%d requests inside the stand-in", n), func(s *sim) bool { return s.inEngine == n })
}

// stalledSim is a stand-in whose requests stay inside it, with room in its KV
// cache for kvTokens one-word prompts.
func stalledSim(t *testing.T, maxNumSeqs, kvTokens int) *sim {
	s := newSim(t, func(c *vllmsim.Config) {
		c.MaxNumSeqs = maxNumSeqs
		c.MaxModelLen = 2
		c.KVCacheTokens = kvTokens
		c.Sleep = stallEngine
	})
	s.releaseAll()
	return s
}

func TestScrapeReadsTheVLLMGauges(t *testing.T) {
	full := stalledSim(t, 2, 2)
	holdRequests(t, full, 5)
	half := stalledSim(t, 2, 2)
	holdRequests(t, half, 1)

	samples := ScrapeAll(t.Context(), http.DefaultClient, []string{full.url + "/metrics", half.url + "/metrics"})
	want := []MetricsSample{
		{URL: full.url + "/metrics", Running: 2, Waiting: 3, KVCacheUsage: 1},
		{URL: half.url + "/metrics", Running: 1, Waiting: 0, KVCacheUsage: 0.5},
	}
	for i := range want {
		if samples[i] != want[i] {
			t.Errorf("sample %d = %+v, want %+v", i, samples[i], want[i])
		}
	}
	avg, n := Average(samples)
	if n != 2 || avg.Running != 1.5 || avg.Waiting != 1.5 || avg.KVCacheUsage != 0.75 {
		t.Errorf("average = %+v of %d, want running 1.5 waiting 1.5 kv 0.75 of 2", avg, n)
	}
}

func TestScrapeOlderVLLMAndNonVLLMEndpoints(t *testing.T) {
	serve := func(body string) string {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(ts.Close)
		return ts.URL + "/metrics"
	}
	older := serve(`# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 3
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="a"} 1
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="a"} 0.25
`)
	other := serve("# TYPE up gauge\nup 1\n")
	broken := serve("this is not { prometheus\n")
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)

	got := Scrape(t.Context(), http.DefaultClient, older)
	if got.Error != "" || got.Running != 3 || got.Waiting != 1 || got.KVCacheUsage != 0.25 {
		t.Errorf("vLLM before the kv_cache_usage_perc rename: %+v, want running 3 waiting 1 kv 0.25 from gpu_cache_usage_perc", got)
	}
	for _, tc := range []struct{ url, wantErr string }{
		{other, "has no vllm:num_requests_running"},
		{broken, "not Prometheus text format"},
		{notFound.URL + "/metrics", "status 404"},
	} {
		got := Scrape(t.Context(), http.DefaultClient, tc.url)
		if !strings.Contains(got.Error, tc.wantErr) {
			t.Errorf("Scrape(%s).Error = %q, want it to contain %q", tc.url, got.Error, tc.wantErr)
		}
	}
	failed := MetricsSample{URL: other, Error: "scrape failed"}
	avg, n := Average([]MetricsSample{failed, {Running: 4, KVCacheUsage: 0.5}})
	if n != 1 || avg.Running != 4 {
		t.Errorf("average %+v of %d; a failed scrape must not pull the average down", avg, n)
	}
}

func TestWatchScrapesAtOnceAndEveryInterval(t *testing.T) {
	s := stalledSim(t, 4, 4)
	clock := newFakeClock()
	rounds := make(chan []MetricsSample)
	ctx, stop := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		Watch(ctx, clock, 5*time.Second, http.DefaultClient, []string{s.url + "/metrics"}, func(m []MetricsSample) { rounds <- m })
	}()
	tk := clock.ticker(t)

	if got := <-rounds; got[0].Running != 0 {
		t.Errorf("first round at start: running %g, want 0", got[0].Running)
	}
	holdRequests(t, s, 2)
	clock.step(t, tk)
	if got := <-rounds; got[0].Running != 2 || got[0].KVCacheUsage != 0.5 {
		t.Errorf("round after one interval: %+v, want running 2 kv 0.5", got[0])
	}
	stop()
	<-watched
}
