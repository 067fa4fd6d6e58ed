package vllmsim

import (
	"testing"
	"time"
)

// stepper drives an engine one step at a time, with no loop and no clock.
type stepper struct {
	t *testing.T
	e *engine
	// running, waiting and kvUsed are the counts after the last change.
	running, waiting, kvUsed int
}

func newStepper(t *testing.T, mutate func(*Config)) *stepper {
	t.Helper()
	cfg := DefaultConfig()
	cfg.TimePerToken = 10 * time.Millisecond
	cfg.TimePerTokenPerSeq = time.Millisecond
	cfg.PrefillTimePerToken = 100 * time.Microsecond
	mutate(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := &stepper{t: t}
	st.e = newEngine(cfg, func(r, w, kv int) { st.running, st.waiting, st.kvUsed = r, w, kv }, nil)
	st.e.startLoop = nil
	return st
}

// step plans and finishes one step and returns how long it lasted.
func (st *stepper) step() time.Duration {
	st.e.mu.Lock()
	defer st.e.mu.Unlock()
	s := st.e.plan()
	st.e.finish(s)
	return st.e.duration(s)
}

func (st *stepper) want(step int, got, want time.Duration, running, waiting, kvUsed int) {
	st.t.Helper()
	if got != want || st.running != running || st.waiting != waiting || st.kvUsed != kvUsed {
		st.t.Errorf("step %d lasted %s with running %d waiting %d kv %d after it; want %s, %d, %d, %d",
			step, got, st.running, st.waiting, st.kvUsed, want, running, waiting, kvUsed)
	}
}

func generated(e *engine, seqs ...*seq) []int {
	out := make([]int, len(seqs))
	for i, s := range seqs {
		out[i], _ = e.progress(s)
	}
	return out
}

func TestStepLengthGrowsWithTheBatchAndThePrompts(t *testing.T) {
	st := newStepper(t, func(c *Config) { c.MaxNumSeqs = 4 })
	a, b, c := newSeq(10, 3), newSeq(10, 3), newSeq(10, 3)
	for _, s := range []*seq{a, b, c} {
		st.e.submit(s)
	}
	// Step 1 computes three prompts of 10 tokens: 10ms + 30 x 100us.
	st.want(1, st.step(), 13*time.Millisecond, 3, 0, 30)
	// Steps 2 and 3 decode three requests: 10ms + 2 x 1ms; each holds one more token.
	st.want(2, st.step(), 12*time.Millisecond, 3, 0, 33)
	if got := generated(st.e, a, b, c); got[0] != 2 || got[1] != 2 || got[2] != 2 {
		t.Errorf("after two steps the requests generated %v tokens, want 2 each", got)
	}
	st.want(3, st.step(), 12*time.Millisecond, 0, 0, 0)
	for _, s := range []*seq{a, b, c} {
		if n, finished := st.e.progress(s); n != 3 || !finished {
			t.Errorf("a request generated %d tokens (finished %v), want its 3 and finished", n, finished)
		}
	}
}

func TestLongPromptsArePrefilledInChunksBesideTheDecodes(t *testing.T) {
	st := newStepper(t, func(c *Config) {
		c.MaxNumSeqs = 4
		c.MaxNumBatchedTokens = 16
	})
	a, b := newSeq(10, 2), newSeq(10, 2)
	st.e.submit(a)
	st.e.submit(b)
	// Step 1: a's prompt (10) and 6 tokens of b's, the budget.
	st.want(1, st.step(), 10*time.Millisecond+16*100*time.Microsecond, 2, 0, 20)
	if got := generated(st.e, a, b); got[0] != 1 || got[1] != 0 {
		t.Fatalf("after step 1 generated %v, want a's first token only", got)
	}
	c := newSeq(10, 1)
	st.e.submit(c)
	// Step 2: a decodes (its last token), b's 4 remaining prompt tokens, 10 of c.
	st.want(2, st.step(), 10*time.Millisecond+14*100*time.Microsecond, 1, 0, 10)
	if got := generated(st.e, a, b, c); got[0] != 2 || got[1] != 1 || got[2] != 1 {
		t.Errorf("after step 2 generated %v, want a done (2), b's first token, c done (1)", got)
	}
}

func TestAFullBatchWaitsInArrivalOrder(t *testing.T) {
	st := newStepper(t, func(c *Config) { c.MaxNumSeqs = 1 })
	seqs := []*seq{newSeq(1, 1), newSeq(2, 1), newSeq(3, 1)}
	for _, s := range seqs {
		st.e.submit(s)
	}
	if st.running != 1 || st.waiting != 2 {
		t.Fatalf("running %d waiting %d with --max-num-seqs 1, want 1 and 2", st.running, st.waiting)
	}
	for i, s := range seqs {
		st.step()
		if n, finished := st.e.progress(s); !finished || n != 1 {
			t.Fatalf("step %d did not finish request %d, which arrived %d", i+1, i+1, i+1)
		}
	}
}

// A decode that finds the KV cache full preempts the newest request, which
// recomputes its prompt and output so far once there is room again.
func TestAFullKVCachePreemptsTheNewestRequest(t *testing.T) {
	st := newStepper(t, func(c *Config) {
		c.MaxNumSeqs = 4
		c.MaxModelLen = 12
		c.KVCacheTokens = 12
	})
	a, b := newSeq(5, 4), newSeq(5, 4)
	st.e.submit(a)
	st.e.submit(b)
	st.want(1, st.step(), 11*time.Millisecond, 2, 0, 10)   // both prompts
	st.want(2, st.step(), 11*time.Millisecond, 2, 0, 12)   // both decode: the cache is full
	st.want(3, st.step(), 10*time.Millisecond, 1, 1, 7)    // a decodes; b (6 held) is preempted
	st.want(4, st.step(), 10*time.Millisecond, 1, 0, 7)    // a's last token; b comes back with 7 to recompute
	st.want(5, st.step(), 10700*time.Microsecond, 1, 0, 7) // b recomputes 5 prompt + 2 generated tokens
	st.want(6, st.step(), 10*time.Millisecond, 0, 0, 0)    // b's last token
	if got := generated(st.e, a, b); got[0] != 4 || got[1] != 4 {
		t.Errorf("generated %v, want 4 each: a preemption loses no output", got)
	}
}

func TestAbortFreesTheSlotAndTheCache(t *testing.T) {
	st := newStepper(t, func(c *Config) { c.MaxNumSeqs = 1 })
	a, b := newSeq(4, 5), newSeq(3, 5)
	st.e.submit(a)
	st.e.submit(b)
	st.e.mu.Lock()
	inFlight := st.e.plan() // a step starts with a...
	st.e.mu.Unlock()
	if !st.e.abort(a) { // ...whose client leaves during it
		t.Fatal("abort of a running request reported it finished")
	}
	st.e.mu.Lock()
	st.e.finish(inFlight)
	st.e.mu.Unlock()
	if n, _ := st.e.progress(a); n != 0 || st.running != 1 || st.waiting != 0 || st.kvUsed != 3 {
		t.Errorf("after the abort: a generated %d, running %d waiting %d kv %d; want 0, b running alone holding its 3",
			n, st.running, st.waiting, st.kvUsed)
	}
	st.e.abort(a) // the handler's context may end again: nothing more to free
	if st.running != 1 || st.kvUsed != 3 {
		t.Errorf("a second abort changed the counts: running %d kv %d", st.running, st.kvUsed)
	}
	if st.e.abort(b); st.running != 0 || st.kvUsed != 0 {
		t.Errorf("after b's abort too: running %d kv %d, want 0 and 0", st.running, st.kvUsed)
	}
}
