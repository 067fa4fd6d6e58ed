package vllmsim

import (
	"context"
	"slices"
	"sync"
	"time"
)

// engine plays vLLM's continuous batching one step at a time, as vLLM's V1
// scheduler does: every step, each running sequence that has its prompt
// computed decodes one token, and sequences still in prefill get chunks of
// their prompt, all within a budget of MaxNumBatchedTokens tokens. A step lasts
//
//	TimePerToken + TimePerTokenPerSeq * (decoding sequences - 1) + PrefillTimePerToken * prompt tokens in the step
//
// so latency grows with the running batch and with the prompts that arrive
// beside it. docs/vllm-sim-model.md gives the model's grounds and calibration.
//
// A request runs (vllm:num_requests_running) once it is admitted: a slot among
// MaxNumSeqs is free and the KV cache has room for its context; otherwise it
// waits in a FIFO queue. The KV cache holds, for each running sequence, its
// context and every token it has generated since; a decode that finds the
// cache full preempts the newest running sequence, which goes back to the head
// of the queue and recomputes its context when admitted again (vLLM's
// preemption by recompute).
type engine struct {
	cfg   Config
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
	// onChange gets the counts after every change, under the engine's lock;
	// onGenerated gets the tokens each step generated.
	onChange    func(running, waiting, kvUsed int)
	onGenerated func(tokens int)
	// startLoop starts the step loop; tests that drive steps themselves clear it.
	startLoop func()

	mu      sync.Mutex
	running []*seq // in admission order: the scheduler serves them first to last
	waiting []*seq // FIFO
	kvUsed  int    // KV-cache tokens held by running sequences
	looping bool   // the step loop is alive; it ends when nothing runs
	// stopStep ends the sleep of the step in progress: called when every
	// sequence of the engine is gone, so an abandoned step does not hold the loop.
	stopStep context.CancelFunc
}

// seq is one request inside the engine.
type seq struct {
	prompt    int // prompt tokens
	maxTokens int // tokens to generate
	context   int // tokens to compute before the next output: prompt, or prompt+generated after a preemption
	prefilled int // of context
	generated int
	held      int // KV-cache tokens held
	state     seqState
	// wake receives a value when the sequence generated tokens or finished.
	wake chan struct{}
}

type seqState int

const (
	seqWaiting seqState = iota
	seqRunning
	seqFinished
	seqAborted
)

func newSeq(prompt, maxTokens int) *seq {
	return &seq{prompt: prompt, maxTokens: maxTokens, context: prompt, wake: make(chan struct{}, 1)}
}

func (s *seq) notify() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending; the reader sees the latest counts
	}
}

func newEngine(cfg Config, onChange func(running, waiting, kvUsed int), onGenerated func(tokens int)) *engine {
	e := &engine{cfg: cfg, sleep: cfg.Sleep, now: time.Now, onChange: onChange, onGenerated: onGenerated}
	e.startLoop = func() { go e.loop() }
	return e
}

// submit queues s and admits what fits; the step loop starts if it was idle.
func (e *engine) submit(s *seq) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.waiting = append(e.waiting, s)
	e.admit()
	e.changed()
	if !e.looping && len(e.running) > 0 && e.startLoop != nil {
		e.looping = true
		e.startLoop()
	}
}

// abort takes s out of the engine (its client left) and frees what it held.
// It returns false when s had already finished.
func (e *engine) abort(s *seq) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch s.state {
	case seqWaiting:
		e.waiting = slices.DeleteFunc(e.waiting, func(w *seq) bool { return w == s })
	case seqRunning:
		e.remove(s)
	default:
		return s.state == seqAborted
	}
	s.state = seqAborted
	e.admit()
	e.changed()
	if len(e.running) == 0 && e.stopStep != nil {
		e.stopStep()
	}
	return true
}

// runningCount is the size of the running batch.
func (e *engine) runningCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.running)
}

// progress reports how many tokens s has generated and whether it finished.
func (e *engine) progress(s *seq) (generated int, finished bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return s.generated, s.state == seqFinished
}

// admit moves waiting sequences, oldest first, into the running batch while a
// slot is free and the KV cache has room for their context.
func (e *engine) admit() {
	for len(e.waiting) > 0 && len(e.running) < e.cfg.MaxNumSeqs && e.kvUsed+e.waiting[0].context <= e.cfg.KVCacheTokens {
		s := e.waiting[0]
		e.waiting = e.waiting[1:]
		s.state = seqRunning
		s.held = s.context
		e.kvUsed += s.held
		e.running = append(e.running, s)
	}
}

func (e *engine) remove(s *seq) {
	e.running = slices.DeleteFunc(e.running, func(r *seq) bool { return r == s })
	e.kvUsed -= s.held
	s.held = 0
}

func (e *engine) changed() {
	if e.onChange != nil {
		e.onChange(len(e.running), len(e.waiting), e.kvUsed)
	}
}

// step is what one engine step computes.
type step struct {
	decode  []*seq
	prefill []chunk
}

type chunk struct {
	s      *seq
	tokens int
}

func (st step) prefillTokens() int {
	n := 0
	for _, c := range st.prefill {
		n += c.tokens
	}
	return n
}

// duration is the step's length under the batch model.
func (e *engine) duration(st step) time.Duration {
	d := e.cfg.TimePerToken + e.cfg.PrefillTimePerToken*time.Duration(st.prefillTokens())
	if n := len(st.decode); n > 1 {
		d += e.cfg.TimePerTokenPerSeq * time.Duration(n-1)
	}
	return d
}

// plan schedules the next step: running sequences in admission order, a
// decode for each whose context is computed, a prefill chunk for the others,
// within the token budget. A decode reserves its token's KV-cache slot,
// preempting the newest running sequences when the cache is full.
func (e *engine) plan() step {
	var st step
	budget := e.cfg.MaxNumBatchedTokens
	for i := 0; i < len(e.running) && budget > 0; {
		s := e.running[i]
		if s.prefilled < s.context {
			n := min(s.context-s.prefilled, budget)
			st.prefill = append(st.prefill, chunk{s, n})
			budget -= n
			i++
			continue
		}
		for e.kvUsed+1 > e.cfg.KVCacheTokens && e.running[len(e.running)-1] != s {
			e.preempt(e.running[len(e.running)-1])
		}
		if e.kvUsed+1 > e.cfg.KVCacheTokens {
			e.preempt(s) // the newest left: it waits for room
			continue
		}
		e.kvUsed++
		s.held++
		st.decode = append(st.decode, s)
		budget--
		i++
	}
	return st
}

// preempt sends a running sequence back to the head of the queue; when
// admitted again it recomputes its prompt and what it had generated.
func (e *engine) preempt(s *seq) {
	e.remove(s)
	s.state = seqWaiting
	s.context = s.prompt + s.generated
	s.prefilled = 0
	e.waiting = slices.Insert(e.waiting, 0, s)
}

// finish applies a step that has run: prefill chunks advance, a sequence whose
// context is complete and every decoding one gain a token, finished sequences
// leave, and waiting ones are admitted into the room they free.
func (e *engine) finish(st step) (generated int) {
	emit := func(s *seq) {
		s.generated++
		generated++
		if s.generated >= s.maxTokens {
			e.remove(s)
			s.state = seqFinished
		}
		s.notify()
	}
	for _, c := range st.prefill {
		if c.s.state != seqRunning {
			continue // aborted or preempted during the step
		}
		c.s.prefilled += c.tokens
		if c.s.prefilled == c.s.context {
			emit(c.s) // the step that completes a prompt samples its next token
		}
	}
	for _, s := range st.decode {
		if s.state == seqRunning {
			emit(s)
		}
	}
	e.admit()
	e.changed()
	return generated
}

// loop runs steps while anything runs. A step starts where the one before
// ended and lasts its duration on the wall clock: the time spent between steps
// (planning, waking the handlers) is taken from the next sleep, so a long run
// keeps the model's pace. Only a loop behind by more than a whole step (just
// started, or starved of CPU) starts the step now instead of catching up.
func (e *engine) loop() {
	var stepEnd time.Time
	for {
		e.mu.Lock()
		if len(e.running) == 0 {
			e.looping = false
			e.stopStep = nil
			e.mu.Unlock()
			return
		}
		st := e.plan()
		ctx, cancel := context.WithCancel(context.Background())
		e.stopStep = cancel
		e.mu.Unlock()

		now, d := e.now(), e.duration(st)
		if now.Sub(stepEnd) > d {
			stepEnd = now
		}
		stepEnd = stepEnd.Add(d)
		_ = e.sleep(ctx, max(0, stepEnd.Sub(now))) // ended early only when nothing is left to run
		cancel()

		e.mu.Lock()
		e.stopStep = nil
		tokens := e.finish(st)
		e.mu.Unlock()
		if e.onGenerated != nil {
			e.onGenerated(tokens)
		}
	}
}
