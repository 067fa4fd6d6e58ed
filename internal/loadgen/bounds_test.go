package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A rate no server could take ends at --duration: at most --max-in-flight
// requests are sent, every other due request is a drop, and the requests still
// held when the duration ends are canceled once --drain has passed.
func TestAnyRateEndsAtDurationWithDropsCounted(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rate        float64
		wantDropped int64
	}{
		{"1e12 req/s", 1e12, 2e12 - 4},
		{"1e300 req/s saturates the count", 1e300, math.MaxInt64 - 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil) // holds every request: a server that never answers in time
			clock := newFakeClock()
			done := runAsync(t.Context(), Config{
				URL: s.url, Model: DefaultModel, Prompt: "hi",
				Schedule: Constant(tc.rate), MaxInFlight: 4, Duration: 2 * time.Second, Tick: time.Second,
				Drain: 5 * time.Second, Clock: clock,
			})
			tk := clock.ticker(t)
			clock.step(t, tk)
			clock.step(t, tk)
			tk.waitStopped(t)
			s.waitEntered(t, 4)
			drain := clock.ticker(t)
			if drain.period != 5*time.Second {
				t.Fatalf("after the duration the run waits %s, want --drain 5s", drain.period)
			}
			clock.step(t, drain)
			sum := await(t, done)

			if sum.Sent != 4 || sum.Dropped != tc.wantDropped || sum.Canceled != 4 || sum.OK != 0 || sum.Interrupted {
				t.Errorf("sent %d dropped %d canceled %d ok %d interrupted %v; want 4 sent (the bound), %d dropped, the 4 held canceled by the drain",
					sum.Sent, sum.Dropped, sum.Canceled, sum.OK, sum.Interrupted, tc.wantDropped)
			}
			if got := s.maxConcurrent(); got != 4 {
				t.Errorf("the server held %d requests at once, want --max-in-flight 4", got)
			}
		})
	}
}

func TestInterruptEndsAnEndlessHugeRate(t *testing.T) {
	s := newSim(t, nil)
	clock := newFakeClock()
	ctx, interrupt := context.WithCancel(t.Context())
	done := runAsync(ctx, Config{
		URL: s.url, Model: DefaultModel, Prompt: "hi",
		Schedule: Constant(1e15), MaxInFlight: 3, Tick: time.Second, Clock: clock,
	})
	clock.step(t, clock.ticker(t))
	s.waitEntered(t, 3)
	interrupt() // what SIGINT does in Main
	sum := await(t, done)
	if !sum.Interrupted || sum.Sent != 3 || sum.Canceled != 3 || sum.Dropped != 1e15-3 {
		t.Errorf("interrupted %v sent %d canceled %d dropped %d; want an interrupted run, 3 sent and canceled, the rest of 1e15 dropped",
			sum.Interrupted, sum.Sent, sum.Canceled, sum.Dropped)
	}
}

func TestBeginUpToNeverExceedsTheBound(t *testing.T) {
	rec := NewRecorder()
	for _, step := range []struct {
		due, wantStarted, wantInFlight, wantDropped int64
	}{
		{due: 2, wantStarted: 2, wantInFlight: 2, wantDropped: 0},
		{due: 10, wantStarted: 3, wantInFlight: 5, wantDropped: 7},
		{due: math.MaxInt64, wantStarted: 0, wantInFlight: 5, wantDropped: math.MaxInt64},
		{due: 1, wantStarted: 0, wantInFlight: 5, wantDropped: math.MaxInt64},
	} {
		if got := rec.beginUpTo(step.due, 5); got != step.wantStarted {
			t.Errorf("beginUpTo(%d, 5) started %d, want %d", step.due, got, step.wantStarted)
		}
		if p := rec.Progress(); p.InFlight != step.wantInFlight || p.Dropped != step.wantDropped {
			t.Errorf("after %d due: in flight %d dropped %d, want %d and %d", step.due, p.InFlight, p.Dropped, step.wantInFlight, step.wantDropped)
		}
	}
}

func TestDueBySaturates(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int64
	}{
		{0, 0}, {2.5, 5}, {1e12, 2e12}, {1e300, math.MaxInt64}, {math.MaxFloat64, math.MaxInt64},
	} {
		if got := dueBy(Constant(tc.rate), 2*time.Second); got != tc.want {
			t.Errorf("due after 2s at %g req/s = %d, want %d", tc.rate, got, tc.want)
		}
	}
}

func TestSummarySurvivesNonFiniteGaugesAndHugeTokenCounts(t *testing.T) {
	rec := NewRecorder()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec.markStart(start)
	for range 3 {
		rec.tryBegin(10)
		rec.finish(result{latency: time.Second, outputTokens: math.MaxInt})
	}
	rec.setMetrics([]MetricsSample{
		{URL: "http://a/metrics", Running: Gauge(math.NaN()), Waiting: Gauge(math.Inf(1)), KVCacheUsage: Gauge(math.Inf(-1))},
		{URL: "http://b/metrics", Running: 2, Waiting: 0, KVCacheUsage: 0.5},
	})
	rec.markEnd(start.Add(time.Second), false)
	sum := rec.Summary()

	if sum.OutputTokens != math.MaxInt64 || !(sum.OutputTokensPerSecond > 0) {
		t.Errorf("output tokens %d at %g/s after three answers of MaxInt tokens; want the total to stop at %d, never negative",
			sum.OutputTokens, sum.OutputTokensPerSecond, int64(math.MaxInt64))
	}
	out, err := json.Marshal(sum)
	if err != nil {
		t.Fatalf("the JSON summary fails on NaN/Inf gauges: %v", err)
	}
	var decoded struct {
		Metrics []map[string]any `json:"metrics"`
	}
	if err := json.Unmarshal(out, &decoded); err != nil {
		t.Fatal(err)
	}
	a, b := decoded.Metrics[0], decoded.Metrics[1]
	for _, key := range []string{"num_requests_running", "num_requests_waiting", "kv_cache_usage_perc"} {
		if v, ok := a[key]; !ok || v != nil {
			t.Errorf("%s of NaN/Inf = %v (present %v), want null", key, v, ok)
		}
	}
	if b["num_requests_running"] != 2.0 || b["kv_cache_usage_perc"] != 0.5 {
		t.Errorf("finite gauges %v, want running 2 and kv 0.5 as numbers", b)
	}

	var text bytes.Buffer
	sum.WriteText(&text)
	for _, want := range []string{"NaN", "+Inf", "9223372036854775807 tokens"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, text.String())
		}
	}
}

func TestScrapedNaNGaugeIsNullInJSON(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running NaN\n" +
			"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting +Inf\n" +
			"# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc 0.25\n"))
	}))
	t.Cleanup(ts.Close)
	got := Scrape(t.Context(), http.DefaultClient, ts.URL)
	if got.Error != "" || !math.IsNaN(float64(got.Running)) || !math.IsInf(float64(got.Waiting), 1) {
		t.Fatalf("Scrape = %+v, want running NaN and waiting +Inf read without error", got)
	}
	out, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"num_requests_running":null,"num_requests_waiting":null,"kv_cache_usage_perc":0.25`; !strings.Contains(string(out), want) {
		t.Errorf("JSON %s, want it to contain %s", out, want)
	}
}

func TestImpossibleUsageIsAnInvalidResponse(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"negative completion tokens", `{"choices":[{}],"usage":{"completion_tokens":-5}}`, "negative usage.completion_tokens (-5)"},
		{"completion tokens past int64", `{"choices":[{}],"usage":{"completion_tokens":1e30}}`, "not a chat completion"},
		{"no usage", `{"choices":[{}]}`, "without choices and usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(ts.Close)
			client, err := newChatClient(Config{URL: ts.URL, Model: DefaultModel, Prompt: "hi"}.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			res := client.do(t.Context())
			if res.errClass != errInvalidResponse || !strings.Contains(res.errBody, tc.want) {
				t.Errorf("result %+v, want %s mentioning %q", res, errInvalidResponse, tc.want)
			}
		})
	}
}
