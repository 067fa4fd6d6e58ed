package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The vLLM gauges an HPA scales on.
const (
	metricRunning = "vllm:num_requests_running"
	metricWaiting = "vllm:num_requests_waiting"
	metricKVCache = "vllm:kv_cache_usage_perc"
	// metricGPUCache is kv_cache_usage_perc's name before vLLM renamed it.
	metricGPUCache = "vllm:gpu_cache_usage_perc"
)

// Gauge is a scraped gauge value. Prometheus text may carry NaN and ±Inf,
// which JSON cannot: MarshalJSON writes them as null. Text output prints them
// as NaN, +Inf and -Inf.
type Gauge float64

// MarshalJSON writes a finite value as a JSON number and NaN or ±Inf as null.
func (g Gauge) MarshalJSON() ([]byte, error) {
	f := float64(g)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// MetricsSample is one scrape of one vLLM /metrics URL.
type MetricsSample struct {
	URL string `json:"url"`
	// Running and Waiting add up all series of the URL (as the Stackdriver
	// adapter adds up the series of one pod); KVCacheUsage is their mean (0-1).
	Running      Gauge `json:"num_requests_running"`
	Waiting      Gauge `json:"num_requests_waiting"`
	KVCacheUsage Gauge `json:"kv_cache_usage_perc"`
	// Error says why the scrape failed; the values are then zero.
	Error string `json:"error,omitempty"`
}

// Scrape reads the vLLM scheduler gauges from a Prometheus /metrics URL.
func Scrape(ctx context.Context, client *http.Client, url string) MetricsSample {
	s := MetricsSample{URL: url}
	families, err := fetchFamilies(ctx, client, url)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	var ok bool
	if s.Running, ok = sumOf(families[metricRunning]); !ok {
		s.Error = fmt.Sprintf("%s has no %s gauge; is it a vLLM server's /metrics?", url, metricRunning)
		return s
	}
	if s.Waiting, ok = sumOf(families[metricWaiting]); !ok {
		s.Error = fmt.Sprintf("%s has no %s gauge; is it a vLLM server's /metrics?", url, metricWaiting)
		return s
	}
	kv, n := meanOf(families[metricKVCache])
	if n == 0 {
		kv, n = meanOf(families[metricGPUCache])
	}
	if n == 0 {
		s.Error = fmt.Sprintf("%s has neither %s nor %s", url, metricKVCache, metricGPUCache)
		return s
	}
	s.KVCacheUsage = kv
	return s
}

func fetchFamilies(ctx context.Context, client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// Ask for the classic text format, which every vLLM version serves.
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, fmt.Errorf("GET %s: status %d: %s", url, resp.StatusCode, truncate(string(body), maxErrorBody))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s is not Prometheus text format: %w", url, err)
	}
	return families, nil
}

func sumOf(f *dto.MetricFamily) (Gauge, bool) {
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, false
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		sum += value(m)
	}
	return Gauge(sum), true
}

func meanOf(f *dto.MetricFamily) (Gauge, int) {
	sum, ok := sumOf(f)
	if !ok {
		return 0, 0
	}
	return sum / Gauge(len(f.GetMetric())), len(f.GetMetric())
}

// value reads a gauge, or an untyped sample from an exporter that omits # TYPE.
func value(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetUntyped().GetValue()
}

// Average is the mean over the samples that answered, which is what an HPA
// with an AverageValue target compares; n is how many answered.
func Average(samples []MetricsSample) (avg MetricsSample, n int) {
	avg.URL = "average"
	for _, s := range samples {
		if s.Error != "" {
			continue
		}
		n++
		avg.Running += s.Running
		avg.Waiting += s.Waiting
		avg.KVCacheUsage += s.KVCacheUsage
	}
	if n > 0 {
		avg.Running /= Gauge(n)
		avg.Waiting /= Gauge(n)
		avg.KVCacheUsage /= Gauge(n)
	}
	return avg, n
}

// ScrapeAll scrapes every URL at once and returns the samples in URL order.
func ScrapeAll(ctx context.Context, client *http.Client, urls []string) []MetricsSample {
	out := make([]MetricsSample, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() { out[i] = Scrape(ctx, client, u) })
	}
	wg.Wait()
	return out
}

// Watch scrapes urls at once and then every interval until ctx ends, handing
// each round to report.
func Watch(ctx context.Context, clock Clock, interval time.Duration, client *http.Client, urls []string, report func([]MetricsSample)) {
	ticker := clock.NewTicker(interval)
	defer ticker.Stop()
	for {
		scrapeCtx, cancel := context.WithTimeout(ctx, interval)
		samples := ScrapeAll(scrapeCtx, client, urls)
		cancel()
		if ctx.Err() != nil {
			return
		}
		report(samples)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}

func writeMetricsTable(w io.Writer, samples []MetricsSample) {
	avg, n := Average(samples)
	avgLabel := fmt.Sprintf("average of %d/%d (what the HPA compares)", n, len(samples))
	width := len(avgLabel)
	for _, s := range samples {
		width = max(width, len(s.URL))
	}
	fmt.Fprintf(w, "    %-*s  %8s  %8s  %8s\n", width, "", "running", "waiting", "kv_cache")
	for _, s := range samples {
		if s.Error != "" {
			fmt.Fprintf(w, "    %-*s  error: %s\n", width, s.URL, s.Error)
			continue
		}
		fmt.Fprintf(w, "    %-*s  %8g  %8g  %8.3f\n", width, s.URL, s.Running, s.Waiting, s.KVCacheUsage)
	}
	fmt.Fprintf(w, "    %-*s  %8.2f  %8.2f  %8.3f\n", width, avgLabel, avg.Running, avg.Waiting, avg.KVCacheUsage)
}
