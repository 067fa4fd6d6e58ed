package vllmsim

import (
	"context"
	"sync"
	"testing"
)

// A client leaving the queue at the moment a slot is handed to it must not
// keep that slot: afterwards nothing runs and nothing waits.
func TestSchedulerNeverLeaksASlotWhenAQueuedClientLeaves(t *testing.T) {
	var (
		mu      sync.Mutex
		running int
		waiting int
		queued  = make(chan struct{}, 1)
	)
	s := newScheduler(1, func(r, w int) {
		mu.Lock()
		defer mu.Unlock()
		running, waiting = r, w
		if w == 1 {
			select {
			case queued <- struct{}{}:
			default:
			}
		}
	})
	for i := range 2000 {
		if err := s.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, leave := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() { result <- s.acquire(ctx) }()
		<-queued
		leave()     // the queued client goes away...
		s.release() // ...while the running one hands it the slot
		if err := <-result; err == nil {
			s.release() // it got the slot before noticing: it ran
		}
		mu.Lock()
		r, w := running, waiting
		mu.Unlock()
		if r != 0 || w != 0 {
			t.Fatalf("iteration %d: after both clients are gone running=%d waiting=%d, want 0 and 0", i, r, w)
		}
	}
}
