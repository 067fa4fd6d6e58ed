package vllmsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// waitLimit bounds every wait so a broken server fails the test instead of hanging it.
const waitLimit = 30 * time.Second

// loadLog records the scheduler's running/waiting counts and lets a test wait for a state.
type loadLog struct {
	mu      sync.Mutex
	running int
	waiting int
	changed chan struct{} // closed and replaced on every change
}

func newLoadLog() *loadLog { return &loadLog{changed: make(chan struct{})} }

func (l *loadLog) observe(running, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running, l.waiting = running, waiting
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *loadLog) waitFor(t *testing.T, running, waiting int) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		l.mu.Lock()
		r, w, changed := l.running, l.waiting, l.changed
		l.mu.Unlock()
		if r == running && w == waiting {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("scheduler never reached running=%d waiting=%d; last running=%d waiting=%d", running, waiting, r, w)
		}
	}
}

// gate holds the engine before each step until the test releases it: one
// value on release lets one step run, closing it lets every step run.
type gate struct{ release chan struct{} }

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) sleep(ctx context.Context, _ time.Duration) error {
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newTestServer(t *testing.T, mutate func(*Config)) (*httptest.Server, *loadLog) {
	t.Helper()
	log := newLoadLog()
	cfg := DefaultConfig()
	cfg.RequestOverhead, cfg.RequestOverheadPerSeq = 0, 0
	cfg.OnSchedule = log.observe
	mutate(&cfg)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, log
}

type reply struct {
	status int
	body   []byte
	err    error
}

func post(ctx context.Context, url, body string) reply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, err: err}
}

func postAsync(ctx context.Context, url, body string) <-chan reply {
	c := make(chan reply, 1)
	go func() { c <- post(ctx, url, body) }()
	return c
}

func chatBody(content string, maxTokens int) string {
	return `{"model":"google/gemma-3-1b-it","messages":[{"role":"user","content":"` + content + `"}],"max_tokens":` + itoa(maxTokens) + `}`
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// scrape reads /metrics the way Prometheus does and returns the value of each
// series of name, keyed by its finished_reason label (empty for gauges).
func scrape(t *testing.T, baseURL, name string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v", err)
	}
	family, ok := families[name]
	if !ok {
		t.Fatalf("/metrics has no %s", name)
	}
	out := map[string]float64{}
	for _, m := range family.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["model_name"] != "google/gemma-3-1b-it" || labels["engine"] != "0" {
			t.Fatalf("%s has labels %v, want model_name=google/gemma-3-1b-it engine=0", name, labels)
		}
		switch family.GetType() {
		case dto.MetricType_GAUGE:
			out[labels["finished_reason"]] = m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			out[labels["finished_reason"]] = m.GetCounter().GetValue()
		default:
			t.Fatalf("%s has type %s; vLLM exports it as a gauge or counter", name, family.GetType())
		}
	}
	return out
}

func TestGaugesFollowTheBatchModel(t *testing.T) {
	g := newGate()
	ts, log := newTestServer(t, func(c *Config) {
		c.MaxNumSeqs = 2
		c.MaxModelLen = 8
		c.KVCacheTokens = 12
		c.Sleep = g.sleep
	})

	var replies []<-chan reply
	for range 5 {
		replies = append(replies, postAsync(t.Context(), ts.URL+"/v1/chat/completions", chatBody("one two three", 4)))
	}
	log.waitFor(t, 2, 3)

	// Two prompts of 3 tokens in a cache of 12.
	want := map[string]float64{"vllm:num_requests_running": 2, "vllm:num_requests_waiting": 3, "vllm:kv_cache_usage_perc": 0.5}
	for name, v := range want {
		if got := scrape(t, ts.URL, name)[""]; got != v {
			t.Errorf("while 5 requests are held with max-num-seqs 2: %s = %g, want %g", name, got, v)
		}
	}

	close(g.release)
	for _, c := range replies {
		if r := <-c; r.err != nil || r.status != http.StatusOK {
			t.Fatalf("held request ended with status %d, err %v: %s", r.status, r.err, r.body)
		}
	}
	for _, name := range []string{"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"} {
		if got := scrape(t, ts.URL, name)[""]; got != 0 {
			t.Errorf("after all requests finished: %s = %g, want 0", name, got)
		}
	}
	success := scrape(t, ts.URL, "vllm:request_success_total")
	if success["length"] != 5 || success["stop"] != 0 || success["abort"] != 0 {
		t.Errorf("vllm:request_success_total by finished_reason = %v, want length 5, stop 0, abort 0", success)
	}
	if got := scrape(t, ts.URL, "vllm:generation_tokens_total")[""]; got != 5*4 {
		t.Errorf("vllm:generation_tokens_total = %g, want 20 (5 requests x max_tokens 4)", got)
	}
	if got := scrape(t, ts.URL, "vllm:prompt_tokens_total")[""]; got != 5*3 {
		t.Errorf("vllm:prompt_tokens_total = %g, want 15 (5 prompts of 3 words)", got)
	}
}

func TestWaitingRequestsRunInArrivalOrder(t *testing.T) {
	g := newGate()
	ts, log := newTestServer(t, func(c *Config) {
		c.MaxNumSeqs = 1
		c.Sleep = g.sleep
	})

	// Request i has a prompt of i words, which its usage reports; each needs one step.
	replies := make(chan reply, 4)
	for i := 1; i <= 4; i++ {
		go func() {
			replies <- post(t.Context(), ts.URL+"/v1/chat/completions", chatBody(strings.Repeat("w ", i), 1))
		}()
		log.waitFor(t, 1, i-1)
	}
	for i := 1; i <= 4; i++ {
		g.release <- struct{}{} // one step: it completes the one request running
		r := <-replies
		var body struct{ Usage usage }
		if err := json.Unmarshal(r.body, &body); r.status != http.StatusOK || err != nil {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if body.Usage.PromptTokens != i {
			t.Fatalf("step %d answered the request that arrived %d-th, want arrival order", i, body.Usage.PromptTokens)
		}
	}
}

func TestClientThatLeavesFreesItsPlace(t *testing.T) {
	g := newGate()
	ts, log := newTestServer(t, func(c *Config) {
		c.MaxNumSeqs = 1
		c.Sleep = g.sleep
	})

	running := postAsync(t.Context(), ts.URL+"/v1/chat/completions", chatBody("a", 1))
	log.waitFor(t, 1, 0)
	ctx, cancel := context.WithCancel(t.Context())
	queued := postAsync(ctx, ts.URL+"/v1/chat/completions", chatBody("b", 1))
	log.waitFor(t, 1, 1)

	cancel()
	<-queued
	log.waitFor(t, 1, 0)

	close(g.release)
	if r := <-running; r.status != http.StatusOK {
		t.Fatalf("running request: status %d: %s", r.status, r.body)
	}
	log.waitFor(t, 0, 0)
	success := scrape(t, ts.URL, "vllm:request_success_total")
	if success["abort"] != 1 || success["length"] != 1 {
		t.Errorf("vllm:request_success_total = %v, want abort 1 (the client that left) and length 1", success)
	}
}

func TestFailRateFailsThatShareOfRequests(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rate       float64
		status     int
		wantFailed int
	}{
		{"none", 0, 500, 0},
		{"half", 0.5, 500, 5},
		{"a tenth", 0.1, 500, 1},
		{"all with 503", 1, 503, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := newTestServer(t, func(c *Config) {
				c.TimePerToken = 0
				c.FailRate = tc.rate
				c.FailStatus = tc.status
			})
			failed := 0
			for range 10 {
				r := post(t.Context(), ts.URL+"/v1/chat/completions", chatBody("hi", 1))
				switch r.status {
				case http.StatusOK:
				case tc.status:
					failed++
					var e errorResponse
					if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != tc.status || e.Error.Message == "" {
						t.Fatalf("failure body %s is not an OpenAI error with code %d", r.body, tc.status)
					}
				default:
					t.Fatalf("status %d, want 200 or %d: %s", r.status, tc.status, r.body)
				}
			}
			if failed != tc.wantFailed {
				t.Errorf("%d of 10 requests failed with --fail-rate %g, want %d", failed, tc.rate, tc.wantFailed)
			}
		})
	}
}

func TestUsageCountsPromptWordsAndMaxTokens(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) {
		c.TimePerToken = 0
		c.MaxTokensDefault = 7
	})
	for _, tc := range []struct {
		name, path, body   string
		prompt, completion int
	}{
		{"chat with max_tokens", "/v1/chat/completions",
			`{"model":"google/gemma-3-1b-it","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Explain Quantum Computing in simple terms."}],"max_tokens":5}`, 8, 5},
		{"chat without max_tokens uses the default", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":[{"type":"text","text":"two words"}]}]}`, 2, 7},
		{"chat max_completion_tokens wins", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"max_completion_tokens":9}`, 1, 9},
		{"completion with a string prompt", "/v1/completions",
			`{"model":"google/gemma-3-1b-it","prompt":"San Francisco is a","max_tokens":2}`, 4, 2},
		{"completion with token ids", "/v1/completions", `{"prompt":[1,2,3]}`, 3, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t.Context(), ts.URL+tc.path, tc.body)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var body struct {
				Choices []struct {
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
				Usage usage `json:"usage"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			want := usage{PromptTokens: tc.prompt, CompletionTokens: tc.completion, TotalTokens: tc.prompt + tc.completion}
			if body.Usage != want {
				t.Errorf("usage = %+v, want %+v", body.Usage, want)
			}
			if len(body.Choices) != 1 || body.Choices[0].FinishReason != "length" {
				t.Errorf("choices = %+v, want one choice with finish_reason length", body.Choices)
			}
		})
	}
}

func TestRejectsWhatVLLMWouldReject(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) { c.TimePerToken = 0 })
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"other","messages":[{"role":"user","content":"hi"}]}`, 404},
		{"no messages", "POST", "/v1/chat/completions", `{"messages":[]}`, 400},
		{"not JSON", "POST", "/v1/chat/completions", `{`, 400},
		{"zero max_tokens", "POST", "/v1/completions", `{"prompt":"hi","max_tokens":0}`, 400},
		{"GET on a POST endpoint", "GET", "/v1/chat/completions", ``, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, ts.URL+tc.path, bytes.NewBufferString(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
		})
	}
}

func TestModelsAndHealth(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) { c.Model = "meta-llama/Llama-3.1-8B-Instruct" })
	resp, err := http.Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/health status %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list modelList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 || list.Data[0].ID != "meta-llama/Llama-3.1-8B-Instruct" {
		t.Errorf("/v1/models = %+v, want the one served model", list)
	}
}

func TestShutdownLetsRunningRequestsFinish(t *testing.T) {
	g := newGate()
	log := newLoadLog()
	cfg := DefaultConfig()
	cfg.RequestOverhead, cfg.RequestOverheadPerSeq = 0, 0
	cfg.Sleep = g.sleep
	cfg.OnSchedule = log.observe
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, "127.0.0.1:0", waitLimit, func(a string) { addrc <- a }) }()
	addr := <-addrc

	held := postAsync(t.Context(), "http://"+addr+"/v1/chat/completions", chatBody("hi", 2))
	log.waitFor(t, 1, 0)
	stop() // what SIGTERM does in Main
	waitUntilRefused(t, addr)
	close(g.release)

	if r := <-held; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("request in flight at shutdown: status %d, err %v", r.status, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after shutdown: %v", err)
	}
}

// waitUntilRefused returns once addr stops accepting connections, i.e. shutdown has begun.
func waitUntilRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
		runtime.Gosched()
	}
	t.Fatalf("%s still accepts connections after shutdown began", addr)
}

func TestFlagsAreTheDocumentedContract(t *testing.T) {
	o, err := ParseFlags([]string{
		"--addr", "127.0.0.1:9001", "--model", "m", "--max-num-seqs", "3", "--time-per-token", "5ms",
		"--time-per-token-per-seq", "1ms", "--prefill-time-per-token", "10us", "--max-num-batched-tokens", "512",
		"--kv-cache-tokens", "4096", "--request-overhead", "2ms", "--request-overhead-per-seq", "300us",
		"--max-tokens-default", "8", "--fail-rate", "0.25", "--fail-status", "503", "--shutdown-timeout", "1s",
		"--max-model-len", "64",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Addr: "127.0.0.1:9001", ShutdownTimeout: time.Second, Config: Config{
		Model: "m", MaxNumSeqs: 3, TimePerToken: 5 * time.Millisecond, TimePerTokenPerSeq: time.Millisecond,
		PrefillTimePerToken: 10 * time.Microsecond, MaxNumBatchedTokens: 512, KVCacheTokens: 4096,
		RequestOverhead: 2 * time.Millisecond, RequestOverheadPerSeq: 300 * time.Microsecond, MaxTokensDefault: 8, MaxModelLen: 64, FailRate: 0.25, FailStatus: 503,
	}}
	o.Config.Sleep, o.Config.OnSchedule = nil, nil
	if o.Addr != want.Addr || o.ShutdownTimeout != want.ShutdownTimeout || !sameConfig(o.Config, want.Config) {
		t.Errorf("parsed %+v, want %+v", o, want)
	}

	d, err := ParseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantDefaults := Config{
		Model: "google/gemma-3-1b-it", MaxNumSeqs: 256, TimePerToken: 5100 * time.Microsecond,
		TimePerTokenPerSeq: 40 * time.Microsecond, PrefillTimePerToken: 19 * time.Microsecond,
		MaxNumBatchedTokens: 2048, KVCacheTokens: 1_000_000, RequestOverhead: 16 * time.Millisecond,
		RequestOverheadPerSeq: 2 * time.Millisecond,
		MaxTokensDefault:      16, MaxModelLen: 32768, FailStatus: 500,
	}
	if d.Addr != "127.0.0.1:8000" || !sameConfig(d.Config, wantDefaults) {
		t.Errorf("defaults = %+v, want %+v", d.Config, wantDefaults)
	}

	for _, bad := range [][]string{
		{"--max-num-seqs", "0"},
		{"--fail-rate", "1.5"},
		{"--fail-status", "200"},
		{"--time-per-token", "-1ms"},
		{"--max-tokens-default", "0"},
		{"--max-model-len", "1"},
		{"--max-model-len", "2000000"},
		{"--max-num-batched-tokens", "100"},
		{"--kv-cache-tokens", "1000"},
		{"--prefill-time-per-token", "2s"},
		{"--request-overhead", "-1ms"},
		{"--request-overhead-per-seq", "2s"},
		{"extra"},
	} {
		if _, err := ParseFlags(bad, io.Discard); err == nil {
			t.Errorf("ParseFlags(%q) accepted a bad value", bad)
		}
	}
}

func TestRequestsBeyondTheContextGet400AndTheServerLives(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) {
		c.TimePerToken = 0
		c.MaxModelLen = 100
	})
	for _, tc := range []struct {
		name, path, body, message string
	}{
		{"max_tokens of 500000000000", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"one two three"}],"max_tokens":500000000000}`,
			"'max_tokens' or 'max_completion_tokens' is too large: 500000000000. This model's maximum context length is 100 tokens and your request has 3 input tokens (500000000000 > 100 - 3)."},
		{"max_completion_tokens past the context", "/v1/chat/completions",
			`{"messages":[{"role":"user","content":"one two three"}],"max_completion_tokens":98}`,
			"'max_tokens' or 'max_completion_tokens' is too large: 98. This model's maximum context length is 100 tokens and your request has 3 input tokens (98 > 100 - 3)."},
		{"a prompt as long as the context", "/v1/completions",
			`{"prompt":[` + strings.Repeat("7,", 99) + `7],"max_tokens":1}`,
			"This model's maximum context length is 100 tokens. However, your request has 100 input tokens. Please reduce the length of the input messages."},
		{"max_tokens past the largest integer", "/v1/completions",
			`{"prompt":"hi","max_tokens":1e30}`, "request body is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t.Context(), ts.URL+tc.path, tc.body)
			if r.err != nil || r.status != http.StatusBadRequest {
				t.Fatalf("status %d, err %v, want 400: %s", r.status, r.err, r.body)
			}
			var e errorResponse
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("400 body %s is not an OpenAI error: %v", r.body, err)
			}
			if e.Error.Code != 400 || e.Error.Type != "BadRequestError" || !strings.HasPrefix(e.Error.Message, tc.message) {
				t.Errorf("error = %+v, want code 400, type BadRequestError, message starting %q", e.Error, tc.message)
			}
		})
	}

	// The largest request that fits is served, and so is the next one.
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"one two three"}],"max_tokens":97}`,
		`{"messages":[{"role":"user","content":"one two three"}]}`,
	} {
		r := post(t.Context(), ts.URL+"/v1/chat/completions", body)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", body, r.status, r.body)
		}
	}
}

func TestDefaultOutputLengthFitsTheContext(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) {
		c.TimePerToken = 0
		c.MaxModelLen = 10
		c.MaxTokensDefault = 16
	})
	r := post(t.Context(), ts.URL+"/v1/completions", `{"prompt":"one two three"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var body struct{ Usage usage }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Usage.CompletionTokens != 7 {
		t.Errorf("completion_tokens = %d without max_tokens, want 7 (context 10 - prompt 3)", body.Usage.CompletionTokens)
	}
}

// sameConfig compares the settings of two configs, leaving out the test hooks.
func sameConfig(a, b Config) bool {
	a.Sleep, a.OnSchedule, b.Sleep, b.OnSchedule = nil, nil, nil, nil
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}
