// Package loadgen drives OpenAI chat-completions load at a vLLM server, open
// loop (a request rate) or closed loop (a number of workers), optionally along
// a ramp, and summarises what came back.
package loadgen

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"
)

// Defaults of a run; the vllm-loadgen flags use them.
const (
	DefaultURL         = "http://localhost:8081"
	DefaultModel       = "google/gemma-3-1b-it"
	DefaultPrompt      = "Explain Quantum Computing in simple terms."
	DefaultMaxInFlight = 64
	DefaultTimeout     = 2 * time.Minute
	DefaultTick        = 10 * time.Millisecond
	DefaultDrain       = 10 * time.Second
)

// Config describes a run.
type Config struct {
	// URL is the server's base URL, without a trailing slash; requests go to URL/v1/chat/completions.
	URL    string
	Model  string
	Prompt string
	// MaxTokens is sent as max_tokens; 0 leaves the output length to the server.
	MaxTokens int
	// Schedule is the level over time: requests per second, or workers when ClosedLoop.
	Schedule   Schedule
	ClosedLoop bool
	// MaxInFlight bounds requests awaiting an answer. An open-loop request due
	// while the bound is reached is dropped (counted, not sent, not queued).
	MaxInFlight int
	// Duration ends the run; 0 runs until ctx ends.
	Duration time.Duration
	// Drain bounds how long requests still in flight when Duration ends may
	// finish; then they are canceled (counted as canceled). Default 10s.
	Drain time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
	// Tick is how often the schedule is read; default 10ms.
	Tick   time.Duration
	Clock  Clock
	Client *http.Client
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = RealClock{}
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.MaxInFlight // reuse a connection per request in flight
		c.Client = &http.Client{Transport: t}
	}
	return c
}

// Run sends load as cfg describes until cfg.Duration has passed or ctx ends,
// and records every outcome in rec. At the end of the duration it waits up to
// cfg.Drain for the requests in flight; when ctx ends it cancels them. Whatever
// the rate, at most cfg.MaxInFlight requests are outstanding and the work per
// tick is bounded: requests due beyond the bound are counted as dropped at once.
func Run(ctx context.Context, cfg Config, rec *Recorder) (Summary, error) {
	cfg = cfg.withDefaults()
	client, err := newChatClient(cfg)
	if err != nil {
		return Summary{}, err
	}
	// Requests outlive ctx by design: at the end of the duration they finish;
	// only an interruption (ctx ending) cancels them.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()

	var requests sync.WaitGroup
	send := func() result {
		res := client.do(reqCtx)
		rec.finish(res)
		return res
	}
	var p pacer
	if cfg.ClosedLoop {
		p = &workerPool{sched: cfg.Schedule, limit: cfg.MaxInFlight, start: func(stop <-chan struct{}) {
			requests.Go(func() {
				closedLoop(cfg.Clock, stop, reqCtx.Done(), func() string {
					rec.tryBegin(cfg.MaxInFlight) // never refused: workers <= MaxInFlight
					return send().errClass
				})
			})
		}}
	} else {
		p = &ratePacer{sched: cfg.Schedule, launch: func(due int64) {
			for range rec.beginUpTo(due, cfg.MaxInFlight) {
				requests.Go(func() { send() })
			}
		}}
	}

	start := cfg.Clock.Now()
	rec.markStart(start)
	ticker := cfg.Clock.NewTicker(cfg.Tick)
	p.advance(0)
	interrupted := false
pace:
	for {
		select {
		case <-ctx.Done():
			interrupted = true
			break pace
		case now := <-ticker.C():
			elapsed := now.Sub(start)
			end := cfg.Duration > 0 && elapsed >= cfg.Duration
			if end {
				elapsed = cfg.Duration
			}
			p.advance(elapsed)
			if end {
				break pace
			}
		}
	}
	ticker.Stop()
	p.stop()

	// An interruption (ctx ended) cancels the requests in flight at once; at
	// the end of the duration they get cfg.Drain to finish.
	drained := make(chan struct{})
	go func() {
		requests.Wait()
		close(drained)
	}()
	if interrupted {
		cancelRequests()
		<-drained
	} else {
		drain := cfg.Clock.NewTicker(cfg.Drain)
		select {
		case <-drained:
		case <-ctx.Done():
			interrupted = true
			cancelRequests()
			<-drained
		case <-drain.C():
			cancelRequests()
			<-drained
		}
		drain.Stop()
	}
	rec.markEnd(cfg.Clock.Now(), interrupted)
	return rec.Summary(), nil
}

// pacer turns the schedule into requests as time passes.
type pacer interface {
	advance(elapsed time.Duration)
	stop()
}

// transportBackoff is how long a closed-loop worker waits after a request
// could not reach the server, so that a dead endpoint is not hammered.
const transportBackoff = 100 * time.Millisecond

// closedLoop is one closed-loop worker: it sends the next request as soon as
// the last one ends, until stop or done closes, and waits transportBackoff
// after a request that could not reach the server. send returns the request's
// error class.
func closedLoop(clock Clock, stop, done <-chan struct{}, send func() string) {
	for {
		select {
		case <-stop:
			return
		case <-done:
			return
		default:
		}
		if send() == errTransport {
			pause(clock, stop, done)
		}
	}
}

func pause(clock Clock, stop <-chan struct{}, done <-chan struct{}) {
	t := clock.NewTicker(transportBackoff)
	defer t.Stop()
	select {
	case <-t.C():
	case <-stop:
	case <-done:
	}
}

// ratePacer makes requests due so that by elapsed time t, ceil(∫ rate) have
// been due: exact for any schedule, whatever the tick. It hands launch the
// count due since the last tick, in one call, so a rate of 1e12 costs no more
// per tick than a rate of 1.
type ratePacer struct {
	sched  Schedule
	due    int64
	launch func(due int64)
}

func (p *ratePacer) advance(elapsed time.Duration) {
	if target := dueBy(p.sched, elapsed); target > p.due {
		p.launch(target - p.due)
		p.due = target
	}
}

// dueBy is how many requests the schedule makes due by elapsed, saturating at
// math.MaxInt64 for rates no run could send.
func dueBy(s Schedule, elapsed time.Duration) int64 {
	// The epsilon keeps float error from making a whole request due early.
	c := math.Ceil(s.Cumulative(elapsed) - 1e-9)
	switch {
	case !(c > 0): // also NaN
		return 0
	case c >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(c)
}

func (p *ratePacer) stop() {}

// workerPool keeps round(level) closed-loop workers running, at most limit.
type workerPool struct {
	sched Schedule
	limit int
	stops []chan struct{}
	start func(stop <-chan struct{})
}

func (w *workerPool) advance(elapsed time.Duration) {
	target := min(int(math.Round(w.sched.At(elapsed))), w.limit)
	for len(w.stops) < target {
		stop := make(chan struct{})
		w.stops = append(w.stops, stop)
		w.start(stop)
	}
	for len(w.stops) > target {
		// A stopped worker finishes its request in flight first.
		close(w.stops[len(w.stops)-1])
		w.stops = w.stops[:len(w.stops)-1]
	}
}

func (w *workerPool) stop() {
	for _, stop := range w.stops {
		close(stop)
	}
	w.stops = nil
}

func (r *Recorder) markStart(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start = t
}

func (r *Recorder) markEnd(t time.Time, interrupted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end = t
	r.interrupted = interrupted
}
