package loadgen

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestFlagsAreTheDocumentedContract(t *testing.T) {
	o, err := ParseFlags(strings.Fields(
		"--url http://127.0.0.1:9000/ --model m --prompt hello --max-tokens 8 --rate 2.5 --max-in-flight 9 "+
			"--duration 1m --drain 3s --timeout 10s --watch-metrics http://a:8000,http://b:8000/custom --watch-interval 2s --output json --quiet"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Run.URL != "http://127.0.0.1:9000" || o.Run.Model != "m" || o.Run.Prompt != "hello" || o.Run.MaxTokens != 8 ||
		o.Run.ClosedLoop || o.Run.Schedule.At(time.Hour) != 2.5 || o.Run.MaxInFlight != 9 || o.Run.Duration != time.Minute ||
		o.Run.Timeout != 10*time.Second || o.Run.Drain != 3*time.Second || o.WatchInterval != 2*time.Second || !o.JSON || !o.Quiet {
		t.Errorf("parsed %+v", o)
	}
	if want := []string{"http://a:8000/metrics", "http://b:8000/custom"}; strings.Join(o.WatchURLs, " ") != strings.Join(want, " ") {
		t.Errorf("watch URLs %v, want %v (a bare host gets /metrics)", o.WatchURLs, want)
	}

	d, err := ParseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.Run.URL != "http://localhost:8081" || d.Run.Model != "google/gemma-3-1b-it" || d.Run.Schedule.At(0) != 1 ||
		d.Run.ClosedLoop || d.Run.MaxInFlight != 64 || d.Run.Duration != 0 || d.Run.Drain != 10*time.Second || d.WatchInterval != 5*time.Second || d.JSON {
		t.Errorf("defaults %+v", d)
	}

	c, err := ParseFlags(strings.Fields("--concurrency 4 --ramp 1:10s,4..8:20s --max-in-flight 8"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Run.ClosedLoop || c.Run.Duration != 30*time.Second || c.Run.Schedule.Max() != 8 {
		t.Errorf("closed-loop ramp parsed %+v; want closed loop, duration from the ramp (30s), peak 8", c.Run)
	}
}

func TestFlagErrorsNameTheFix(t *testing.T) {
	for _, tc := range []struct{ args, wantErr string }{
		{"--rate 2 --concurrency 3", "choose open loop (--rate) or closed loop (--concurrency)"},
		{"--rate -1", "--rate (-1)"},
		{"--concurrency 100", "raise --max-in-flight"},
		{"--concurrency 1 --ramp 1..80:1m", "asks for 80 workers"},
		{"--max-in-flight 0", "--max-in-flight (0) must be at least 1"},
		{"--ramp 5:120", "write 120s"},
		{"--url localhost:8081", "not an http(s) URL"},
		{"--watch-metrics ftp://x", "--watch-metrics"},
		{"--output yaml", "not text or json"},
		{"--duration -1s", "must not be negative"},
		{"--drain 0s", "--drain (0s) must be positive"},
		{"8081", "takes flags only"},
	} {
		_, err := ParseFlags(strings.Fields(tc.args), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseFlags(%q) = %v, want an error containing %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestHelpDocumentsRamps(t *testing.T) {
	var out bytes.Buffer
	if code := Main([]string{"--help"}, io.Discard, &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"FROM..TO:DURATION", "--ramp 1:60s,5:120s,1:60s", "-max-in-flight", "-watch-metrics"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to write from the run and read from the
// test, which can wait for some text to appear.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced on every write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.written)
	b.written = make(chan struct{})
	return b.buf.Write(p)
}

func (b *syncBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		b.mu.Lock()
		found, written := strings.Contains(b.buf.String(), text), b.written
		b.mu.Unlock()
		if found {
			return
		}
		select {
		case <-written:
		case <-deadline:
			t.Fatalf("%q never appeared in:\n%s", text, b.String())
		}
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSIGINTPrintsTheSummary(t *testing.T) {
	for _, output := range []string{"json", "text"} {
		t.Run(output, func(t *testing.T) {
			s := newSim(t, nil) // holds every request, like a slow server
			stdout, stderr := newSyncBuffer(), newSyncBuffer()
			exited := make(chan int, 1)
			go func() {
				exited <- Main([]string{"--url", s.url, "--rate", "20", "--output", output,
					"--watch-metrics", s.url, "--watch-interval", "1h"}, stdout, stderr)
			}()
			// A request reaching the server proves Main runs, so its signal handler is installed.
			s.waitEntered(t, 1)
			stderr.waitFor(t, "] metrics") // the first scrape, reported in the summary
			if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-exited:
				if code != 0 {
					t.Fatalf("exit code %d after SIGINT; stderr:\n%s", code, stderr.String())
				}
			case <-time.After(waitLimit):
				t.Fatal("vllm-loadgen did not stop on SIGINT")
			}

			if output == "text" {
				for _, want := range []string{"vllm-loadgen interrupted after", "sent ", "canceled ", "p50 ", "req/s", "last metrics:"} {
					if !strings.Contains(stdout.String(), want) {
						t.Errorf("text summary lacks %q:\n%s", want, stdout.String())
					}
				}
				return
			}
			var fields map[string]any
			if err := json.Unmarshal([]byte(stdout.String()), &fields); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
			}
			for _, key := range []string{"sent", "ok", "errors", "p50_ms", "p90_ms", "p99_ms", "requests_per_second", "output_tokens_per_second"} {
				if _, ok := fields[key]; !ok {
					t.Errorf("JSON summary lacks %q: %s", key, stdout.String())
				}
			}
			var sum Summary
			if err := json.Unmarshal([]byte(stdout.String()), &sum); err != nil {
				t.Fatal(err)
			}
			if !sum.Interrupted || sum.Sent < 1 || sum.Canceled != sum.Sent || sum.Errors == nil || len(sum.Metrics) != 1 {
				t.Errorf("summary %+v; want interrupted, every held request canceled, an errors map and the last metrics", sum)
			}
		})
	}
}

func TestSIGINTEndsAHugeRateWithItsSummary(t *testing.T) {
	s := newSim(t, nil) // holds every request
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	exited := make(chan int, 1)
	go func() {
		exited <- Main([]string{"--url", s.url, "--rate", "1e12", "--max-in-flight", "8", "--output", "json", "--quiet"}, stdout, stderr)
	}()
	s.waitEntered(t, 8) // Main runs, so its signal handler is installed
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit code %d after SIGINT; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(waitLimit):
		t.Fatal("vllm-loadgen --rate 1e12 did not stop on SIGINT")
	}
	var sum Summary
	if err := json.Unmarshal([]byte(stdout.String()), &sum); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout.String())
	}
	if !sum.Interrupted || sum.Sent != 8 || sum.Canceled != 8 || sum.Dropped < 1 {
		t.Errorf("summary %+v; want interrupted, 8 sent and canceled, the rest dropped", sum)
	}
}
