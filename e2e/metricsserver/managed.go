package metricsserver

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// This file stands in for GKE's managed metrics adapter (backend gke): for
// autoscaling.gke.io|<AutoscalingMetric>|<gauge> it reads the AutoscalingMetric
// from the API server, scrapes the endpoint of every pod it selects itself,
// when the HPA asks, and serves the gauge's value per pod. Nothing goes
// through a collector or Cloud Monitoring: that is the backend's point. How
// often GKE's own agent scrapes is not published, so reading on request is the
// fastest it could be. KWOK pods have no reachable IP: the test says where each
// pod's process listens (Registry.SetPodEndpoints), as it does for the
// collector, and the AutoscalingMetric's path is used on that address.

// GKEMetricPrefix starts every metric name GKE's managed adapter serves.
const GKEMetricPrefix = "autoscaling.gke.io"

// autoscalingMetrics is the resource of AutoscalingMetric objects.
var autoscalingMetrics = schema.GroupVersionResource{Group: "autoscaling.gke.io", Version: "v1beta1", Resource: "autoscalingmetrics"}

// ParseGKEMetricName splits autoscaling.gke.io|<AutoscalingMetric>|<gauge>.
func ParseGKEMetricName(name string) (object, gauge string, ok bool) {
	parts := strings.Split(name, "|")
	if len(parts) != 3 || parts[0] != GKEMetricPrefix || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// autoscalingMetric holds the documented fields of an AutoscalingMetric.
type autoscalingMetric struct {
	Spec struct {
		Metrics []struct {
			Pod *struct {
				Selector   metav1.LabelSelector `json:"selector"`
				Containers []struct {
					Endpoint struct {
						Port int32  `json:"port"`
						Path string `json:"path"`
					} `json:"endpoint"`
					Metrics []struct {
						Gauge *struct {
							Name                 string `json:"name"`
							PrometheusMetricName string `json:"prometheusMetricName"`
						} `json:"gauge"`
					} `json:"metrics"`
				} `json:"containers"`
			} `json:"pod"`
		} `json:"metrics"`
	} `json:"spec"`
}

// gaugeSource is where one gauge of an AutoscalingMetric is read.
type gaugeSource struct {
	pods           labels.Selector
	path           string
	prometheusName string
}

// find returns the gauge named gauge.
func (am *autoscalingMetric) find(gauge string) (*gaugeSource, error) {
	for _, m := range am.Spec.Metrics {
		if m.Pod == nil {
			continue
		}
		for _, c := range m.Pod.Containers {
			for _, g := range c.Metrics {
				if g.Gauge == nil || g.Gauge.Name != gauge {
					continue
				}
				sel, err := metav1.LabelSelectorAsSelector(&m.Pod.Selector)
				if err != nil {
					return nil, err
				}
				path := c.Endpoint.Path
				if path == "" {
					path = "/metrics" // "The endpoint path is by default /metrics."
				}
				return &gaugeSource{pods: sel, path: path, prometheusName: g.Gauge.PrometheusMetricName}, nil
			}
		}
	}
	return nil, nil
}

// gkeLabelKey is the docs' rule for a metric label key in a filter.
var gkeLabelKey = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// gkeLabelSelector checks the HPA's selector: keys are the gauge's own label
// names, which the docs require to match ^[a-zA-Z_][a-zA-Z0-9_]* (so the
// Stackdriver adapter's metric.labels.<name> form is refused).
func gkeLabelSelector(sel labels.Selector) (labels.Selector, error) {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("label selector is impossible to match: %s", sel))
	}
	for _, r := range reqs {
		if !gkeLabelKey.MatchString(r.Key()) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("metric label key %q does not match ^[a-zA-Z_][a-zA-Z0-9_]*", r.Key()))
		}
	}
	return sel, nil
}

// managedPerPod reads the gauge from every selected pod in namespace. A pod
// whose endpoint does not answer, or has no series of the gauge matching the
// selector, has no value. A pod with several matching series has none either:
// the docs ask for a label filter that leaves one.
func (p *podMetrics) managedPerPod(ctx context.Context, namespace, metric string, metricSelector labels.Selector) (map[string]float64, error) {
	object, gauge, _ := ParseGKEMetricName(metric)
	sel, err := gkeLabelSelector(metricSelector)
	if err != nil {
		return nil, err
	}
	u, err := p.dynamic.Resource(autoscalingMetrics).Namespace(namespace).Get(ctx, object, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, provider.NewMetricNotFoundError(podsResource, metric)
	}
	if err != nil {
		return nil, err
	}
	var am autoscalingMetric
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &am); err != nil {
		return nil, err
	}
	src, err := am.find(gauge)
	if err != nil {
		return nil, err
	}
	if src == nil {
		return nil, provider.NewMetricNotFoundError(podsResource, metric)
	}
	pods, err := p.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: src.pods.String()})
	if err != nil {
		return nil, err
	}
	endpoints := p.sources.podEndpoints(namespace)
	values := map[string]float64{}
	for _, pod := range pods.Items {
		base, ok := endpoints[pod.Name]
		if !ok {
			continue
		}
		series, err := scrapeGauge(ctx, base+src.path, src.prometheusName)
		if err != nil {
			continue
		}
		var matched []float64
		for _, s := range series {
			if sel.Matches(labels.Set(s.Labels)) && !math.IsNaN(s.Value) {
				matched = append(matched, s.Value)
			}
		}
		if len(matched) == 1 {
			values[pod.Name] = matched[0]
		}
	}
	p.sources.read(metric, values)
	return values, nil
}

var scrapeClient = &http.Client{Timeout: 5 * time.Second}

// ScrapeFamilies reads a Prometheus text endpoint, as a collector scrapes it.
func ScrapeFamilies(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return families, nil
}

// scrapeGauge reads one gauge's series from a Prometheus text endpoint; a
// family of another type is not served ("Only gauge metrics are supported").
func scrapeGauge(ctx context.Context, url, name string) ([]Series, error) {
	families, err := ScrapeFamilies(ctx, url)
	if err != nil {
		return nil, err
	}
	fam, ok := families[name]
	if !ok || fam.GetType() != dto.MetricType_GAUGE {
		return nil, nil
	}
	var out []Series
	for _, m := range fam.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		out = append(out, Series{Labels: l, Value: m.GetGauge().GetValue()})
	}
	return out, nil
}
