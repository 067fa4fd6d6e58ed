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
	// endpoints says, per namespace, where each pod's process serves: the
	// managed adapter stand-in scrapes the pods there.
	endpoints map[string]func() map[string]string
	// last holds, per GKE metric name, the per-pod values last served.
	last map[string]map[string]float64
}

// SetPodEndpoints tells the managed adapter stand-in where the pods of a
// namespace serve (pod name to base URL); nil forgets the namespace.
func (r *Registry) SetPodEndpoints(namespace string, f func() map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.endpoints == nil {
		r.endpoints = map[string]func() map[string]string{}
	}
	if f == nil {
		delete(r.endpoints, namespace)
		return
	}
	r.endpoints[namespace] = f
}

func (r *Registry) podEndpoints(namespace string) map[string]string {
	r.mu.RLock()
	f := r.endpoints[namespace]
	r.mu.RUnlock()
	if f == nil {
		return nil
	}
	return f()
}

// LastRead returns the per-pod values last served for a GKE metric name.
func (r *Registry) LastRead(metric string) map[string]float64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string]float64{}
	for pod, v := range r.last[metric] {
		out[pod] = v
	}
	return out
}

func (r *Registry) read(metric string, values map[string]float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]map[string]float64{}
	}
	r.last[metric] = values
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
