package podsim

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
)

// Frontend spreads requests over the serving pods in turn, as the pods'
// Service would, and answers 503 while no pod serves.
type Frontend struct {
	manager *Manager
	next    atomic.Uint64
	server  *http.Server
	// URL is the front end's base URL on 127.0.0.1.
	URL string
}

// NewFrontend listens on a free port of 127.0.0.1.
func NewFrontend(m *Manager) (*Frontend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Frontend{manager: m, URL: "http://" + ln.Addr().String()}
	f.server = &http.Server{Handler: f}
	go func() { _ = f.server.Serve(ln) }()
	return f, nil
}

func (f *Frontend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoints := f.manager.Endpoints()
	if len(endpoints) == 0 {
		http.Error(w, "no pod is serving", http.StatusServiceUnavailable)
		return
	}
	names := sortedNames(endpoints)
	target, err := url.Parse(endpoints[names[f.next.Add(1)%uint64(len(names))]])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	proxy.ServeHTTP(w, r)
}

// Close stops listening.
func (f *Frontend) Close() error { return f.server.Close() }
