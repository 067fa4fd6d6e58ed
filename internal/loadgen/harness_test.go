package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/vllmsim"
)

// waitLimit bounds every wait so a broken generator fails the test instead of hanging it.
const waitLimit = 30 * time.Second

// fakeClock moves only when the test steps it. Its tickers are unbuffered, so
// a step returns once the run has taken the tick.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers chan *fakeTicker
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), tickers: make(chan *fakeTicker, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) Ticker {
	t := &fakeTicker{clock: c, period: d, c: make(chan time.Time), stopped: make(chan struct{})}
	c.tickers <- t
	return t
}

type fakeTicker struct {
	clock    *fakeClock
	period   time.Duration
	c        chan time.Time
	stopOnce sync.Once
	stopped  chan struct{}
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }
func (t *fakeTicker) Stop()               { t.stopOnce.Do(func() { close(t.stopped) }) }

// waitStopped returns once the run has stopped tk, i.e. handled its last tick.
func (tk *fakeTicker) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-tk.stopped:
	case <-time.After(waitLimit):
		t.Fatal("the run never stopped its ticker")
	}
}

// ticker returns the next ticker the code under test creates.
func (c *fakeClock) ticker(t *testing.T) *fakeTicker {
	t.Helper()
	select {
	case tk := <-c.tickers:
		return tk
	case <-time.After(waitLimit):
		t.Fatal("the run never created a ticker")
		return nil
	}
}

// step moves the clock one period of tk forward and delivers the tick.
func (c *fakeClock) step(t *testing.T, tk *fakeTicker) {
	t.Helper()
	c.mu.Lock()
	c.now = c.now.Add(tk.period)
	now := c.now
	c.mu.Unlock()
	select {
	case tk.c <- now:
	case <-time.After(waitLimit):
		t.Fatalf("the run stopped taking ticks at %s", now)
	}
}

// sim is an in-process vllm-sim behind a door that holds every generation
// request until the test releases it, and that records the most requests it
// held at once. Past the door the stand-in answers at once (all its times are
// zero) unless the test configures it otherwise.
type sim struct {
	url     string
	release chan struct{}

	mu       sync.Mutex
	held     int // requests at the door or inside the stand-in
	maxHeld  int
	entered  int // requests that reached the door
	inEngine int // running + waiting inside the stand-in
	changed  chan struct{}
}

func newSim(t *testing.T, mutate func(*vllmsim.Config)) *sim {
	t.Helper()
	s := &sim{release: make(chan struct{}, 10_000), changed: make(chan struct{})}
	cfg := vllmsim.DefaultConfig()
	cfg.TimePerToken, cfg.TimePerTokenPerSeq, cfg.PrefillTimePerToken = 0, 0, 0
	cfg.RequestOverhead, cfg.RequestOverheadPerSeq = 0, 0
	cfg.OnSchedule = s.observe
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := vllmsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// Read the body first: only then does the server notice a client that leaves.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !s.hold(r.Context()) {
				return
			}
			defer s.leave()
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// hold waits at the door for a release; false when the client left first.
func (s *sim) hold(ctx context.Context) bool {
	s.mu.Lock()
	s.entered++
	s.held++
	s.maxHeld = max(s.maxHeld, s.held)
	s.notifyLocked()
	s.mu.Unlock()
	select {
	case <-s.release:
		return true
	case <-ctx.Done():
		s.leave()
		return false
	}
}

func (s *sim) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held--
	s.notifyLocked()
}

func (s *sim) observe(running, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inEngine = running + waiting
	s.notifyLocked()
}

func (s *sim) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// releaseAll lets every held and future request through.
func (s *sim) releaseAll() { close(s.release) }

// releaseN lets n requests through.
func (s *sim) releaseN(n int) {
	for range n {
		s.release <- struct{}{}
	}
}

func (s *sim) maxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxHeld
}

// waitFor returns once cond holds for the sim's counts.
func (s *sim) waitFor(t *testing.T, what string, cond func(s *sim) bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		s.mu.Lock()
		ok, changed := cond(s), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("never %s: entered %d held %d in the engine %d", what, s.entered, s.held, s.inEngine)
		}
	}
}

// waitEntered returns once n requests have reached the server.
func (s *sim) waitEntered(t *testing.T, n int) {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("%d requests reached the server", n), func(s *sim) bool { return s.entered >= n })
}

// stallEngine is a vllmsim.Config.Sleep that never lets a step end: requests
// stay inside the stand-in, running or waiting, until their clients leave.
func stallEngine(ctx context.Context, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// runAsync starts Run and returns a channel with its summary.
func runAsync(ctx context.Context, cfg Config) <-chan Summary {
	out := make(chan Summary, 1)
	go func() {
		s, err := Run(ctx, cfg, NewRecorder())
		if err != nil {
			panic(err)
		}
		out <- s
	}()
	return out
}

func await(t *testing.T, c <-chan Summary) Summary {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(waitLimit):
		t.Fatal("the run did not end")
		return Summary{}
	}
}
