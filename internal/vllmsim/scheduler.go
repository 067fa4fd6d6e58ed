package vllmsim

import (
	"context"
	"slices"
	"sync"
)

// scheduler admits at most maxRunning requests at once and queues the rest in
// arrival order, as vLLM's scheduler does with --max-num-seqs.
type scheduler struct {
	mu         sync.Mutex
	maxRunning int
	running    int
	// waiting holds one channel per queued request; closing it hands that
	// request the slot of a finished one.
	waiting []chan struct{}
	changed func(running, waiting int)
}

func newScheduler(maxRunning int, changed func(running, waiting int)) *scheduler {
	return &scheduler{maxRunning: maxRunning, changed: changed}
}

// acquire blocks until the request may run or ctx ends.
func (s *scheduler) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.running < s.maxRunning && len(s.waiting) == 0 {
		s.running++
		s.notify()
		s.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	s.waiting = append(s.waiting, ready)
	s.notify()
	s.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.waiting, ready); i >= 0 {
		s.waiting = slices.Delete(s.waiting, i, i+1)
		s.notify()
	} else {
		// The slot was handed over just as the client left: pass it on.
		s.releaseLocked()
	}
	return ctx.Err()
}

// release frees a slot taken by acquire.
func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *scheduler) releaseLocked() {
	if len(s.waiting) > 0 {
		// The slot moves to the oldest waiting request; running stays the same.
		next := s.waiting[0]
		s.waiting = slices.Delete(s.waiting, 0, 1)
		close(next)
	} else {
		s.running--
	}
	s.notify()
}

func (s *scheduler) notify() {
	if s.changed != nil {
		s.changed(s.running, len(s.waiting))
	}
}
