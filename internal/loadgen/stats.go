package loadgen

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// maxErrorBody is how much of the first error body of each status the summary keeps.
const maxErrorBody = 200

// Error classes for failures that have no HTTP status.
const (
	errTransport       = "transport"        // connection refused, reset, DNS...
	errTimeout         = "timeout"          // --timeout elapsed
	errInvalidResponse = "invalid_response" // 2xx whose body is not a chat completion
	errStream          = "stream"           // a stream that broke or reported an error after it started
)

// Recorder accumulates the outcome of a run. It is safe for concurrent use;
// Progress may be read while the run goes on.
type Recorder struct {
	mu           sync.Mutex
	start, end   time.Time
	sent         int64
	inFlight     int64
	ok           int64
	dropped      int64
	canceled     int64
	errors       map[string]int64
	errorBodies  map[string]string
	latencies    []time.Duration // of successful requests
	outputTokens int64
	metrics      []MetricsSample // the last scrape of each --watch-metrics URL
	interrupted  bool
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{errors: map[string]int64{}, errorBodies: map[string]string{}}
}

// Progress is what the live progress line shows.
type Progress struct {
	Sent, InFlight, OK, Errors, Dropped int64
}

// Progress returns the counts so far.
func (r *Recorder) Progress() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Progress{Sent: r.sent, InFlight: r.inFlight, OK: r.ok, Errors: r.errorTotal(), Dropped: r.dropped}
}

func (r *Recorder) errorTotal() int64 {
	var n int64
	for _, c := range r.errors {
		n += c
	}
	return n
}

// tryBegin counts a request as sent unless limit requests are already in
// flight, in which case it counts it as dropped and returns false.
func (r *Recorder) tryBegin(limit int) bool { return r.beginUpTo(1, limit) == 1 }

// beginUpTo counts as sent as many of due requests as fit beside the ones in
// flight (at most limit in flight), counts the rest as dropped and returns how
// many were counted as sent: the caller sends exactly those.
func (r *Recorder) beginUpTo(due int64, limit int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := max(0, min(due, int64(limit)-r.inFlight))
	r.inFlight += start
	r.sent += start
	r.dropped = addSaturating(r.dropped, due-start)
	return start
}

// addSaturating adds two non-negative counts, stopping at math.MaxInt64
// instead of wrapping to a negative total.
func addSaturating(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

func (r *Recorder) finish(res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	switch {
	case res.canceled:
		r.canceled++
	case res.errClass == "":
		r.ok++
		r.latencies = append(r.latencies, res.latency)
		r.outputTokens = addSaturating(r.outputTokens, int64(res.outputTokens))
	default:
		r.errors[res.errClass]++
		if _, seen := r.errorBodies[res.errClass]; !seen {
			r.errorBodies[res.errClass] = truncate(res.errBody, maxErrorBody)
		}
	}
}

func (r *Recorder) setMetrics(samples []MetricsSample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metrics = slices.Clone(samples)
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Summary is the outcome of a run; --output json prints it as is.
type Summary struct {
	DurationSeconds float64 `json:"duration_seconds"`
	// Sent counts requests put on the wire; Dropped counts those due but not
	// sent because --max-in-flight requests were already waiting for an answer
	// (it stops at 9223372036854775807 rather than wrap).
	Sent    int64 `json:"sent"`
	OK      int64 `json:"ok"`
	Dropped int64 `json:"dropped"`
	// Canceled counts requests cut off before they were answered: by SIGINT or
	// SIGTERM, or still in flight --drain after the --duration ended.
	Canceled int64 `json:"canceled"`
	// Errors counts failed requests by HTTP status ("500") or by "transport",
	// "timeout" or "invalid_response"; ErrorBodies has the first body of each, truncated.
	Errors      map[string]int64  `json:"errors"`
	ErrorBodies map[string]string `json:"error_bodies"`
	ErrorTotal  int64             `json:"error_total"`
	// Latency percentiles of successful requests, in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	// Throughput of successful requests over the whole run. OutputTokens adds
	// up usage.completion_tokens and stops at 9223372036854775807 rather than wrap.
	RequestsPerSecond     float64 `json:"requests_per_second"`
	OutputTokens          int64   `json:"output_tokens"`
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	// Interrupted is true when a signal ended the run.
	Interrupted bool `json:"interrupted"`
	// Metrics is the last scrape of each --watch-metrics URL. A gauge that is
	// NaN or infinite is null in JSON, which has no such numbers.
	Metrics []MetricsSample `json:"metrics,omitempty"`
}

// Summary computes the outcome so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{
		Sent:         r.sent,
		OK:           r.ok,
		Dropped:      r.dropped,
		Canceled:     r.canceled,
		Errors:       map[string]int64{},
		ErrorBodies:  map[string]string{},
		ErrorTotal:   r.errorTotal(),
		OutputTokens: r.outputTokens,
		Interrupted:  r.interrupted,
		Metrics:      slices.Clone(r.metrics),
	}
	for k, v := range r.errors {
		s.Errors[k] = v
		s.ErrorBodies[k] = r.errorBodies[k]
	}
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	s.P50Ms = ms(Percentile(lat, 50))
	s.P90Ms = ms(Percentile(lat, 90))
	s.P99Ms = ms(Percentile(lat, 99))
	if d := r.end.Sub(r.start); d > 0 {
		s.DurationSeconds = d.Seconds()
		s.RequestsPerSecond = float64(r.ok) / d.Seconds()
		s.OutputTokensPerSecond = float64(r.outputTokens) / d.Seconds()
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteText prints the summary for a person.
func (s Summary) WriteText(w io.Writer) {
	how := "finished"
	if s.Interrupted {
		how = "interrupted"
	}
	fmt.Fprintf(w, "\nvllm-loadgen %s after %.1fs\n", how, s.DurationSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  requests\tsent %d\tok %d\terrors %d\tdropped %d\tcanceled %d\n",
		s.Sent, s.OK, s.ErrorTotal, s.Dropped, s.Canceled)
	fmt.Fprintf(tw, "  latency (ok)\tp50 %s\tp90 %s\tp99 %s\n", fmtMs(s.P50Ms), fmtMs(s.P90Ms), fmtMs(s.P99Ms))
	fmt.Fprintf(tw, "  throughput\t%.2f req/s\t%.1f output tokens/s\t(%d tokens)\n",
		s.RequestsPerSecond, s.OutputTokensPerSecond, s.OutputTokens)
	tw.Flush()
	if len(s.Errors) > 0 {
		fmt.Fprintln(w, "  errors by status:")
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "    %-16s %6d  first: %s\n", k, s.Errors[k], s.ErrorBodies[k])
		}
	}
	if s.Dropped > 0 {
		fmt.Fprintln(w, "  dropped requests were due while --max-in-flight requests were unanswered; the server is slower than the offered load")
	}
	if len(s.Metrics) > 0 {
		fmt.Fprintln(w, "  last metrics:")
		writeMetricsTable(w, s.Metrics)
	}
}

func fmtMs(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2fs", ms/1000)
	}
	return fmt.Sprintf("%.0fms", ms)
}
