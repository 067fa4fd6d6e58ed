package loadgen

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/vllmsim"
)

func TestRateIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		name     string
		schedule Schedule
		duration time.Duration
		wantSent int64
	}{
		{"5 req/s for 10s", Constant(5), 10 * time.Second, 50},
		{"0.3 req/s for 10s", Constant(0.3), 10 * time.Second, 3},
		{"linear ramp 1..10 over 10s", mustRamp(t, "1..10:10s"), 10 * time.Second, 55},
		{"steps 2 then 0", mustRamp(t, "2:5s,0:5s"), 10 * time.Second, 10},
		{"duration past the ramp holds its last value", mustRamp(t, "4:5s"), 10 * time.Second, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			s.releaseAll()
			clock := newFakeClock()
			const tick = 100 * time.Millisecond
			done := runAsync(t.Context(), Config{
				URL: s.url, Model: DefaultModel, Prompt: "hi", MaxTokens: 4,
				Schedule: tc.schedule, MaxInFlight: 1000, Duration: tc.duration, Tick: tick, Clock: clock,
			})
			tk := clock.ticker(t)
			for range int(tc.duration / tick) {
				clock.step(t, tk)
			}
			sum := await(t, done)

			if sum.Sent != tc.wantSent || sum.OK != tc.wantSent || sum.Dropped != 0 || sum.ErrorTotal != 0 {
				t.Errorf("sent %d ok %d dropped %d errors %d, want %d sent and ok", sum.Sent, sum.OK, sum.Dropped, sum.ErrorTotal, tc.wantSent)
			}
			wantRate := float64(tc.wantSent) / tc.duration.Seconds()
			if sum.DurationSeconds != tc.duration.Seconds() || sum.RequestsPerSecond != wantRate {
				t.Errorf("duration %gs at %g req/s, want %gs at %g", sum.DurationSeconds, sum.RequestsPerSecond, tc.duration.Seconds(), wantRate)
			}
			if sum.OutputTokensPerSecond != 4*wantRate {
				t.Errorf("output tokens/s = %g, want %g (max_tokens 4)", sum.OutputTokensPerSecond, 4*wantRate)
			}
		})
	}
}

func mustRamp(t *testing.T, s string) Schedule {
	t.Helper()
	r, err := ParseRamp(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInFlightBoundDropsInsteadOfQueueing(t *testing.T) {
	s := newSim(t, nil) // requests wait until released
	clock := newFakeClock()
	const tick = 100 * time.Millisecond
	done := runAsync(t.Context(), Config{
		URL: s.url, Model: DefaultModel, Prompt: "hi",
		Schedule: Constant(100), MaxInFlight: 4, Duration: time.Second, Tick: tick, Clock: clock,
	})
	tk := clock.ticker(t)
	for range 10 {
		clock.step(t, tk)
	}
	tk.waitStopped(t) // every due request has been sent or dropped
	s.waitEntered(t, 4)
	s.releaseAll()
	sum := await(t, done)

	if sum.Sent != 4 || sum.Dropped != 96 || sum.OK != 4 {
		t.Errorf("sent %d dropped %d ok %d; want 4 sent (the bound) and 96 dropped of 100 due", sum.Sent, sum.Dropped, sum.OK)
	}
	if got := s.maxConcurrent(); got != 4 {
		t.Errorf("the server held at most %d requests at once, want exactly --max-in-flight 4", got)
	}
}

func TestInFlightBoundHoldsWhileRequestsComplete(t *testing.T) {
	s := newSim(t, nil)
	clock := newFakeClock()
	const tick = 100 * time.Millisecond
	done := runAsync(t.Context(), Config{
		URL: s.url, Model: DefaultModel, Prompt: "hi",
		Schedule: Constant(50), MaxInFlight: 3, Duration: 2 * time.Second, Tick: tick, Clock: clock,
	})
	tk := clock.ticker(t)
	for range 20 {
		clock.step(t, tk)
		s.releaseN(2) // some requests finish between ticks, so slots free up and fill again
	}
	s.releaseAll()
	sum := await(t, done)

	if got := s.maxConcurrent(); got > 3 {
		t.Errorf("the server held %d requests at once, more than --max-in-flight 3", got)
	}
	if sum.Sent+sum.Dropped != 100 || sum.OK != sum.Sent {
		t.Errorf("sent %d + dropped %d != 100 due, or ok %d != sent", sum.Sent, sum.Dropped, sum.OK)
	}
}

func TestClosedLoopKeepsConcurrencyWorkersBusy(t *testing.T) {
	s := newSim(t, nil)
	clock := newFakeClock()
	ctx, interrupt := context.WithCancel(t.Context())
	done := runAsync(ctx, Config{
		URL: s.url, Model: DefaultModel, Prompt: "hi",
		Schedule: Constant(3), ClosedLoop: true, MaxInFlight: 3, Clock: clock,
	})
	s.waitEntered(t, 3)
	s.releaseN(3) // each worker sends its next request when answered
	s.waitEntered(t, 6)
	interrupt()
	sum := await(t, done)

	if sum.Sent != 6 || sum.OK != 3 || sum.Canceled != 3 || !sum.Interrupted {
		t.Errorf("sent %d ok %d canceled %d interrupted %v; want 6 sent, 3 ok, 3 canceled by the interruption",
			sum.Sent, sum.OK, sum.Canceled, sum.Interrupted)
	}
	if got := s.maxConcurrent(); got != 3 {
		t.Errorf("the server held at most %d requests at once, want --concurrency 3", got)
	}
}

func TestClosedLoopFollowsARamp(t *testing.T) {
	s := newSim(t, nil)
	clock := newFakeClock()
	ctx, interrupt := context.WithCancel(t.Context())
	done := runAsync(ctx, Config{
		URL: s.url, Model: DefaultModel, Prompt: "hi",
		Schedule: mustRamp(t, "1:1s,4:1s"), ClosedLoop: true, MaxInFlight: 8, Tick: time.Second, Clock: clock,
	})
	tk := clock.ticker(t)
	s.waitEntered(t, 1)
	clock.step(t, tk) // at 1s the ramp asks for 4 workers
	s.waitEntered(t, 4)
	interrupt()
	sum := await(t, done)
	if sum.Sent != 4 || s.maxConcurrent() != 4 {
		t.Errorf("sent %d, server held %d at once; want 4 workers after the step", sum.Sent, s.maxConcurrent())
	}
}

func TestErrorsAreCountedByStatusWithTheFirstBody(t *testing.T) {
	s := newSim(t, func(c *vllmsim.Config) {
		c.FailRate = 0.5
		c.FailStatus = 503
	})
	s.releaseAll()
	clock := newFakeClock()
	done := runAsync(t.Context(), Config{
		URL: s.url, Model: DefaultModel, Prompt: "hi",
		Schedule: Constant(10), MaxInFlight: 100, Duration: time.Second, Tick: time.Second, Clock: clock,
	})
	clock.step(t, clock.ticker(t))
	sum := await(t, done)

	if sum.Sent != 10 || sum.OK != 5 || sum.ErrorTotal != 5 || sum.Errors["503"] != 5 || len(sum.Errors) != 1 {
		t.Errorf("sent %d ok %d errors %v; want 5 ok and 5 under \"503\"", sum.Sent, sum.OK, sum.Errors)
	}
	if body := sum.ErrorBodies["503"]; !strings.Contains(body, "simulated failure") {
		t.Errorf("first 503 body = %q, want the server's error message", body)
	}
}

func TestWrongModelAndDeadServerAreErrors(t *testing.T) {
	s := newSim(t, nil)
	s.releaseAll()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more

	for _, tc := range []struct {
		name, url, model, class, body string
	}{
		{"unknown model", s.url, "no-such-model", "404", "does not exist"},
		{"nothing listening", dead, DefaultModel, errTransport, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			done := runAsync(t.Context(), Config{
				URL: tc.url, Model: tc.model, Prompt: "hi",
				Schedule: Constant(3), MaxInFlight: 10, Duration: time.Second, Tick: time.Second, Clock: clock,
			})
			clock.step(t, clock.ticker(t))
			sum := await(t, done)
			if sum.Errors[tc.class] != 3 || sum.OK != 0 {
				t.Errorf("errors %v ok %d, want 3 under %q", sum.Errors, sum.OK, tc.class)
			}
			if !strings.Contains(sum.ErrorBodies[tc.class], tc.body) {
				t.Errorf("first %s error %q does not mention %q", tc.class, sum.ErrorBodies[tc.class], tc.body)
			}
		})
	}
}

func TestSummaryOfRecordedOutcomes(t *testing.T) {
	rec := NewRecorder()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec.markStart(start)
	for i := 1; i <= 100; i++ {
		rec.tryBegin(1000)
		rec.finish(result{latency: time.Duration(i) * time.Millisecond, outputTokens: 10})
	}
	long := strings.Repeat("x", 500)
	for _, r := range []result{
		{errClass: "500", errBody: long},
		{errClass: "500", errBody: "second body is not kept"},
		{errClass: errTimeout, errBody: "no answer"},
		{canceled: true},
	} {
		rec.tryBegin(1000)
		rec.finish(r)
	}
	rec.markEnd(start.Add(10*time.Second), false)
	s := rec.Summary()

	if s.Sent != 104 || s.OK != 100 || s.ErrorTotal != 3 || s.Canceled != 1 || s.Errors["500"] != 2 || s.Errors["timeout"] != 1 {
		t.Errorf("counts %+v", s)
	}
	if s.P50Ms != 50 || s.P90Ms != 90 || s.P99Ms != 99 {
		t.Errorf("p50/p90/p99 = %g/%g/%g ms, want 50/90/99", s.P50Ms, s.P90Ms, s.P99Ms)
	}
	if s.RequestsPerSecond != 10 || s.OutputTokensPerSecond != 100 || s.OutputTokens != 1000 {
		t.Errorf("%g req/s, %g tokens/s, %d tokens; want 10, 100, 1000", s.RequestsPerSecond, s.OutputTokensPerSecond, s.OutputTokens)
	}
	if want := strings.Repeat("x", maxErrorBody) + "..."; s.ErrorBodies["500"] != want {
		t.Errorf("first 500 body kept as %q, want the first body cut to %d bytes", s.ErrorBodies["500"], maxErrorBody)
	}
	if p := rec.Progress(); p != (Progress{Sent: 104, OK: 100, Errors: 3}) {
		t.Errorf("progress %+v", p)
	}
}

func TestClosedLoopDoesNotHammerADeadServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	clock := newFakeClock()
	rec := NewRecorder()
	ctx, interrupt := context.WithCancel(t.Context())
	done := make(chan Summary, 1)
	go func() {
		s, _ := Run(ctx, Config{URL: dead, Model: DefaultModel, Prompt: "hi",
			Schedule: Constant(1), ClosedLoop: true, MaxInFlight: 1, Clock: clock}, rec)
		done <- s
	}()
	clock.ticker(t) // the run's own ticker
	for attempt := int64(1); attempt <= 3; attempt++ {
		backoff := clock.ticker(t) // the worker pauses after a refused connection...
		if got := rec.Progress().Sent; got != attempt {
			t.Fatalf("%d requests sent before the clock moved, want %d: the worker does not wait", got, attempt)
		}
		clock.step(t, backoff) // ...until the backoff has passed
	}
	clock.ticker(t)
	interrupt()
	sum := await(t, done)
	if sum.Errors[errTransport] != 4 {
		t.Errorf("errors %v, want 4 transport errors", sum.Errors)
	}
}
