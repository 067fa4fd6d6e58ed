package metricsserver

import (
	"context"
	"sync"
)

// Registry holds the sources by Prometheus metric name; sources can be
// swapped while the server runs.
type Registry struct {
	mu      sync.RWMutex
	sources map[string]Source
	// requests counts, per gauge, the requests the server answered from its
	// source, so that a test can wait for the HPA to have read a change.
	requests map[string]int
}

// Served returns how many requests the server has answered for the gauge.
func (r *Registry) Served(name string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.requests[name]
}

func (r *Registry) served(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.requests == nil {
		r.requests = map[string]int{}
	}
	r.requests[name]++
}

// Set makes src the source of the gauge name; a nil src removes it.
func (r *Registry) Set(name string, src Source) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sources == nil {
		r.sources = map[string]Source{}
	}
	if src == nil {
		delete(r.sources, name)
		return
	}
	r.sources[name] = src
}

func (r *Registry) get(name string) (Source, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	src, ok := r.sources[name]
	return src, ok
}

func (r *Registry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.sources))
	for name := range r.sources {
		names = append(names, name)
	}
	return names
}

// Static is a Source whose series the caller sets.
type Static struct {
	mu     sync.Mutex
	series []Series
}

// Set replaces the series.
func (s *Static) Set(series []Series) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series = append([]Series(nil), series...)
}

// Series returns the series last set.
func (s *Static) Series(context.Context) ([]Series, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Series(nil), s.series...), nil
}
