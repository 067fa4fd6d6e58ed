// Package metricsserver is a stand-in for the Custom Metrics Stackdriver
// Adapter, and for GKE's managed metrics adapter (managed.go): an aggregated API server for custom.metrics.k8s.io (v1beta1,
// v1beta2) and external.metrics.k8s.io, built on
// sigs.k8s.io/custom-metrics-apiserver, that answers the same metric names
// (prometheus.googleapis.com|<metric>|gauge) from series held in memory
// instead of Cloud Monitoring. It listens on 127.0.0.1 only.
package metricsserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
)

// Options configure the server.
type Options struct {
	// Kubeconfig is used to list pods and to delegate authentication and
	// authorization of the aggregator's requests to the kube-apiserver.
	Kubeconfig string
	// Port is the HTTPS port on 127.0.0.1.
	Port int
	// CertDir receives the self-signed serving certificate.
	CertDir string
	// Gauges holds one source per Prometheus gauge name, e.g.
	// "vllm:num_requests_running".
	Gauges *Registry
}

// Server is a running metrics server.
type Server struct {
	done chan struct{}
	err  error
}

// Start serves until ctx is cancelled and returns once /healthz answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	config, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	adapter := &basecmd.AdapterBase{Name: "vllm-hpa-e2e-metrics", FlagSet: pflag.NewFlagSet("metricsserver", pflag.ContinueOnError)}
	err = adapter.Flags().Parse([]string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(opts.Port),
		"--cert-dir=" + opts.CertDir,
		"--lister-kubeconfig=" + opts.Kubeconfig,
		"--authentication-kubeconfig=" + opts.Kubeconfig,
		"--authorization-kubeconfig=" + opts.Kubeconfig,
	})
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	metrics := &podMetrics{client: client, dynamic: dyn, sources: opts.Gauges}
	adapter.WithCustomMetrics(metrics)
	adapter.WithExternalMetrics(metrics)

	s := &Server{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = adapter.Run(ctx)
	}()
	return s, s.waitHealthy(ctx, "https://127.0.0.1:"+strconv.Itoa(opts.Port)+"/healthz")
}

// Wait blocks until the server has stopped and returns its error.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

func (s *Server) waitHealthy(ctx context.Context, url string) error {
	// The certificate is self-signed, as the real adapter's is; the
	// APIService says insecureSkipTLSVerify for the same reason.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		select {
		case <-s.done:
			return fmt.Errorf("metrics server stopped: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("metrics server not healthy within 60s: %v", err)
		}
	}
}
