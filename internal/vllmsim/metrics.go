package vllmsim

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Finish reasons vLLM reports on vllm:request_success_total.
const (
	finishedStop   = "stop"
	finishedLength = "length"
	finishedAbort  = "abort"
)

// metrics are the vLLM series an HPA or a dashboard reads, with vLLM's names,
// types, help texts and labels (model_name plus engine, the engine core index).
type metrics struct {
	running          prometheus.Gauge
	waiting          prometheus.Gauge
	kvCacheUsage     prometheus.Gauge
	promptTokens     prometheus.Counter
	generationTokens prometheus.Counter
	success          map[string]prometheus.Counter // by finished_reason
}

func newMetrics(reg prometheus.Registerer, model string) *metrics {
	labels := prometheus.Labels{"model_name": model, "engine": "0"}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(c)
		return c
	}
	success := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "vllm:request_success_total",
		Help:        "Count of successfully processed requests.",
		ConstLabels: labels,
	}, []string{"finished_reason"})
	reg.MustRegister(success)

	m := &metrics{
		running:          gauge("vllm:num_requests_running", "Number of requests in model execution batches."),
		waiting:          gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
		kvCacheUsage:     gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage."),
		promptTokens:     counter("vllm:prompt_tokens_total", "Number of prefill tokens processed."),
		generationTokens: counter("vllm:generation_tokens_total", "Number of generation tokens processed."),
		success:          map[string]prometheus.Counter{},
	}
	// vLLM exports every finish reason from the start, so rates work before the first request.
	for _, reason := range []string{finishedStop, finishedLength, finishedAbort} {
		m.success[reason] = success.WithLabelValues(reason)
	}
	return m
}

// setLoad sets the scheduler gauges; KV-cache usage is the fraction of the cache's tokens in use.
func (m *metrics) setLoad(running, waiting, kvUsed, kvTokens int) {
	m.running.Set(float64(running))
	m.waiting.Set(float64(waiting))
	m.kvCacheUsage.Set(float64(kvUsed) / float64(kvTokens))
}
