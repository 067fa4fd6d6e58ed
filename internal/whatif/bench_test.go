package whatif

import (
	"testing"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/whatif/hpa"
)

// BenchmarkDay simulates a day of diurnal traffic (30 to 600 requests/s,
// about 27 million requests) against an HPA of up to 100 replicas, on one
// goroutine. go test -run '^$' -bench Day ./internal/whatif
func BenchmarkDay(b *testing.B) {
	p := loadProfile(b)
	setup := loadSetup(b, "gemma-100.yaml")
	tr, err := ParseTraffic("diurnal:min=30,max=600", 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Setup: setup, Profile: p, Traffic: tr, Seed: 1, Backend: BackendAdapter,
		ScrapeInterval: DefaultScrapeInterval, IngestionDelay: DefaultIngestionDelay, AdapterWindow: AdapterWindow,
		Startup: DefaultStartup, ModelLoad: DefaultModelLoad, MaxNumSeqs: 64, Grace: DefaultGrace,
		Routing: RoutingRandom, SLO: SLO{Percentile: 90, TTFT: 0.5, TPOT: 0.05},
		SyncPeriod: hpa.DefaultSyncPeriod, HPA: hpa.DefaultOptions()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := Run(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Requests), "requests/op")
		b.ReportMetric(float64(res.MaxPods), "max-pods")
		b.ReportMetric(time.Since(start).Seconds()*1e9/float64(res.Requests), "ns/request")
	}
}
