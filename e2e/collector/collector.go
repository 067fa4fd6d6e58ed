// Package collector stands in for Managed Service for Prometheus's
// collectors: it scrapes the pods a generated PodMonitoring selects, at the
// PodMonitoring's interval and path, labels each sample the way GMP does
// (job, namespace, pod, container), applies the endpoint's metricRelabeling
// with Prometheus's relabel code and keeps the latest samples, which is what
// the Stackdriver adapter then reads from Cloud Monitoring.
package collector

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/vllm-hpa/vllm-hpa/e2e/metricsserver"
	"github.com/vllm-hpa/vllm-hpa/e2e/rules"
)

// PodMonitoring holds the fields of a monitoring.googleapis.com/v1
// PodMonitoring that decide what is scraped.
type PodMonitoring struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     any    `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// Collector scrapes one PodMonitoring's targets.
type Collector struct {
	client   kubernetes.Interface
	job      string
	ns       string
	selector k8slabels.Selector
	path     string
	interval time.Duration
	// endpoints maps a pod name to the base URL its process serves on; KWOK
	// pods have no reachable IP, so the pod's port is found here instead.
	endpoints func() map[string]string
	// relabeling is the endpoint's metricRelabeling.
	relabeling []*relabel.Config

	// ingestion is how long after a scrape its samples become readable
	// (SetIngestionDelay); history keeps the scrapes not yet readable and the
	// newest readable one.
	ingestion time.Duration

	mu      sync.Mutex
	latest  []metricsserver.Series
	history []scrapeAt
}

// scrapeAt is one scrape's samples and when they were taken.
type scrapeAt struct {
	at     time.Time
	series []metricsserver.Series
}

// SetIngestionDelay models Cloud Monitoring's ingestion on the way from the
// collector to the Stackdriver adapter: Gauge serves a scrape's samples only d
// after the scrape (PerPod keeps showing the latest scrape). Set it before Run.
func (c *Collector) SetIngestionDelay(d time.Duration) { c.ingestion = d }

// New reads a rendered PodMonitoring; endpoints says where each pod serves.
func New(client kubernetes.Interface, obj *unstructured.Unstructured, endpoints func() map[string]string) (*Collector, error) {
	pm := &PodMonitoring{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, pm); err != nil {
		return nil, err
	}
	if len(pm.Spec.Endpoints) != 1 {
		return nil, fmt.Errorf("PodMonitoring %s has %d endpoints, want 1", pm.Metadata.Name, len(pm.Spec.Endpoints))
	}
	ep := pm.Spec.Endpoints[0]
	selector, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("PodMonitoring %s spec.selector: %w", pm.Metadata.Name, err)
	}
	// GMP's defaults for an endpoint that leaves them out.
	path, interval := "/metrics", time.Minute
	if ep.Path != "" {
		path = ep.Path
	}
	if ep.Interval != "" {
		d, err := model.ParseDuration(ep.Interval)
		if err != nil {
			return nil, fmt.Errorf("PodMonitoring %s interval %q: %w", pm.Metadata.Name, ep.Interval, err)
		}
		interval = time.Duration(d)
	}
	relabeling, err := rules.MetricRelabeling(obj)
	if err != nil {
		return nil, fmt.Errorf("PodMonitoring %s: %w", pm.Metadata.Name, err)
	}
	return &Collector{
		client: client, job: pm.Metadata.Name, ns: pm.Metadata.Namespace, selector: selector,
		path: path, interval: interval, endpoints: endpoints, relabeling: relabeling,
	}, nil
}

// Interval is the PodMonitoring's scrape interval.
func (c *Collector) Interval() time.Duration { return c.interval }

// Run scrapes every interval until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		c.scrapeAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Collector) scrapeAll(ctx context.Context) {
	pods, err := c.client.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: c.selector.String()})
	if err != nil {
		return // keep the last samples; the next interval retries
	}
	endpoints := c.endpoints()
	var all []metricsserver.Series
	for _, pod := range pods.Items {
		base, ok := endpoints[pod.Name]
		if !ok {
			continue // not serving: no target, so no series (GMP marks them stale)
		}
		target := map[string]string{"job": c.job, "namespace": c.ns, "pod": pod.Name, "instance": pod.Name}
		if len(pod.Spec.Containers) > 0 {
			target["container"] = pod.Spec.Containers[0].Name
		}
		series, err := scrape(ctx, base+c.path, target)
		if err != nil {
			continue
		}
		for _, s := range series {
			if lset, keep := rules.Relabel(labels.FromMap(s.Labels), c.relabeling); keep {
				all = append(all, metricsserver.Series{Labels: lset.Map(), Value: s.Value})
			}
		}
	}
	c.mu.Lock()
	c.latest = all
	c.history = append(c.history, scrapeAt{at: time.Now(), series: all})
	c.mu.Unlock()
}

// readable returns the samples of the newest scrape at least the ingestion
// delay old, and drops the scrapes before it. Callers hold c.mu.
func (c *Collector) readable() []metricsserver.Series {
	cutoff := time.Now().Add(-c.ingestion)
	newest := -1
	for i, h := range c.history {
		if !h.at.After(cutoff) {
			newest = i
		}
	}
	if newest < 0 {
		return nil
	}
	c.history = c.history[newest:]
	return c.history[0].series
}

// scrape reads one target's gauges and adds the target labels to each.
func scrape(ctx context.Context, url string, target map[string]string) ([]metricsserver.Series, error) {
	families, err := metricsserver.ScrapeFamilies(ctx, url)
	if err != nil {
		return nil, err
	}
	var out []metricsserver.Series
	for name, fam := range families {
		if fam.GetType() != dto.MetricType_GAUGE {
			continue
		}
		for _, m := range fam.GetMetric() {
			l := map[string]string{"__name__": name}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			for k, v := range target {
				l[k] = v // target labels win, as with honor_labels: false
			}
			out = append(out, metricsserver.Series{Labels: l, Value: m.GetGauge().GetValue()})
		}
	}
	return out, nil
}

// Gauge returns a Source of the readable samples of one gauge: the latest
// scrape's, or with an ingestion delay the newest scrape that old.
func (c *Collector) Gauge(name string) metricsserver.Source {
	return metricsserver.SourceFunc(func(context.Context) ([]metricsserver.Series, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var out []metricsserver.Series
		for _, s := range c.readable() {
			if s.Labels["__name__"] == name {
				out = append(out, s)
			}
		}
		return out, nil
	})
}

// PerPod returns the latest value of a gauge for each scraped pod, summed
// over its series, and the pod names in order.
func (c *Collector) PerPod(name string) (map[string]float64, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	values := map[string]float64{}
	for _, s := range c.latest {
		if s.Labels["__name__"] == name {
			values[s.Labels["pod"]] += s.Value
		}
	}
	pods := make([]string, 0, len(values))
	for pod := range values {
		pods = append(pods, pod)
	}
	sort.Strings(pods)
	return values, pods
}
