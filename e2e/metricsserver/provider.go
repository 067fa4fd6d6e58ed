package metricsserver

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// Series is one time series as Cloud Monitoring stores it after Google
// Cloud Managed Service for Prometheus ingests it: the Prometheus labels,
// including the target labels namespace and pod, and the latest value.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Source returns the current series of one Prometheus metric.
type Source interface {
	Series(ctx context.Context) ([]Series, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) ([]Series, error)

// Series calls f.
func (f SourceFunc) Series(ctx context.Context) ([]Series, error) { return f(ctx) }

// managedPrefix and the kind suffix are how the Stackdriver adapter spells a
// Prometheus metric ingested by Managed Service for Prometheus:
// prometheus.googleapis.com|<prometheus name>|<kind>.
const managedPrefix = "prometheus.googleapis.com"

// gaugeKind is the only kind the sources hold; vLLM and DCGM export gauges,
// and Cloud Monitoring stores a gauge under ".../gauge" only.
const gaugeKind = "gauge"

// ParseMetricName splits an adapter metric name into the Prometheus metric
// name and its kind, or reports that the name is not one the adapter serves
// for Managed Service for Prometheus.
func ParseMetricName(name string) (prometheusName, kind string, err error) {
	parts := strings.Split(name, "|")
	if len(parts) != 3 || parts[0] != managedPrefix || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("metric %q is not of the form %s|<prometheus metric>|<kind>", name, managedPrefix)
	}
	return parts[1], parts[2], nil
}

var podsResource = schema.GroupResource{Resource: "pods"}

// podMetrics serves per-pod values the way the Custom Metrics Stackdriver
// Adapter does: a pod's value is the sum of every series whose namespace and
// pod labels name it, and pods without series are left out.
type podMetrics struct {
	client kubernetes.Interface
	// dynamic reads AutoscalingMetric objects for GKE metric names (managed.go).
	dynamic dynamic.Interface
	sources *Registry
}

var (
	_ provider.CustomMetricsProvider   = (*podMetrics)(nil)
	_ provider.ExternalMetricsProvider = (*podMetrics)(nil)
)

func (p *podMetrics) source(info provider.CustomMetricInfo) (Source, error) {
	if info.GroupResource != podsResource {
		return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	name, kind, err := ParseMetricName(info.Metric)
	if err != nil || kind != gaugeKind {
		return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	src, ok := p.sources.get(name)
	if !ok {
		return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	p.sources.served(name)
	return src, nil
}

// MetricLabelPrefix is how a Pods metric's selector names a metric label for
// the Stackdriver adapter: it allows only metric.labels.<name> keys (and
// reducer) for custom metrics, and turns each into a Cloud Monitoring filter
// on the metric's labels (GoogleCloudPlatform/k8s-stackdriver,
// custom-metrics-stackdriver-adapter/pkg/adapter/translator/query_builder.go,
// allowedCustomMetricsLabelPrefixes and filterForSelector).
const MetricLabelPrefix = "metric.labels."

// resourceLabels are the labels Managed Service for Prometheus keeps on the
// prometheus_target monitored resource rather than on the metric, so that a
// metric.labels.<name> filter never sees them.
var resourceLabels = map[string]bool{"project_id": true, "location": true, "cluster": true, "namespace": true, "job": true, "instance": true}

// metricLabelSelector turns a Pods metric's selector into one over a series'
// metric labels, refusing what the adapter refuses: keys without the
// metric.labels. prefix, and DoesNotExist, which Cloud Monitoring filters cannot
// express. The adapter's reducer key is not reproduced here and is refused too.
func metricLabelSelector(sel labels.Selector) (labels.Selector, error) {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("Label selector is impossible to match: %s", sel))
	}
	out := labels.NewSelector()
	for _, r := range reqs {
		name, ok := strings.CutPrefix(r.Key(), MetricLabelPrefix)
		switch {
		case r.Key() == "reducer":
			return nil, apierrors.NewBadRequest("this stand-in does not apply the adapter's reducer")
		case !ok:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("Label %s is not allowed", r.Key()))
		case r.Operator() == selection.DoesNotExist:
			return nil, apierrors.NewBadRequest("Label selector with operator DoesNotExist is not allowed")
		}
		req, err := labels.NewRequirement(name, r.Operator(), r.Values().List())
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out = out.Add(*req)
	}
	return out, nil
}

// metricLabels are a series' labels as Cloud Monitoring keeps them on the
// metric: without the resource labels and the metric name.
func metricLabels(series map[string]string) labels.Set {
	out := labels.Set{}
	for k, v := range series {
		if !resourceLabels[k] && k != "__name__" {
			out[k] = v
		}
	}
	return out
}

// perPod sums the series of each pod in namespace that the metric selector
// matches, as the adapter does.
func (p *podMetrics) perPod(ctx context.Context, src Source, namespace string, metricSelector labels.Selector) (map[string]float64, error) {
	sel, err := metricLabelSelector(metricSelector)
	if err != nil {
		return nil, err
	}
	series, err := src.Series(ctx)
	if err != nil {
		return nil, err
	}
	sums := map[string]float64{}
	for _, s := range series {
		if s.Labels["namespace"] != namespace || s.Labels["pod"] == "" || math.IsNaN(s.Value) {
			continue
		}
		if !sel.Matches(metricLabels(s.Labels)) {
			continue
		}
		sums[s.Labels["pod"]] += s.Value
	}
	return sums, nil
}

// values returns the per-pod values of a metric: GKE's managed adapter's
// (autoscaling.gke.io|...) read from the pods, the Stackdriver adapter's from
// the sources.
func (p *podMetrics) values(ctx context.Context, info provider.CustomMetricInfo, namespace string, metricSelector labels.Selector) (map[string]float64, error) {
	if _, _, ok := ParseGKEMetricName(info.Metric); ok && info.GroupResource == podsResource && p.dynamic != nil {
		p.sources.served(info.Metric)
		return p.managedPerPod(ctx, namespace, info.Metric, metricSelector)
	}
	src, err := p.source(info)
	if err != nil {
		return nil, err
	}
	return p.perPod(ctx, src, namespace, metricSelector)
}

func (p *podMetrics) GetMetricByName(ctx context.Context, name types.NamespacedName, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	sums, err := p.values(ctx, info, name.Namespace, metricSelector)
	if err != nil {
		return nil, err
	}
	v, ok := sums[name.Name]
	if !ok {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	mv := metricValue(info.Metric, name.Namespace, name.Name, v)
	return &mv, nil
}

func (p *podMetrics) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	sums, err := p.values(ctx, info, namespace, metricSelector)
	if err != nil {
		return nil, err
	}
	pods, err := p.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	list := &custom_metrics.MetricValueList{}
	for _, pod := range pods.Items {
		if v, ok := sums[pod.Name]; ok {
			list.Items = append(list.Items, metricValue(info.Metric, namespace, pod.Name, v))
		}
	}
	return list, nil
}

func (p *podMetrics) ListAllMetrics() []provider.CustomMetricInfo {
	var infos []provider.CustomMetricInfo
	for _, name := range p.sources.names() {
		infos = append(infos, provider.CustomMetricInfo{
			GroupResource: podsResource,
			Namespaced:    true,
			Metric:        managedPrefix + "|" + name + "|" + gaugeKind,
		})
	}
	return infos
}

// External metrics are not used by vllm-hpa; they are served (empty) only so
// that a v1beta1.external.metrics.k8s.io APIService, generated with
// spec.adapter.externalMetrics: true, becomes Available.
func (p *podMetrics) GetExternalMetric(context.Context, string, labels.Selector, provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	return &external_metrics.ExternalMetricValueList{}, nil
}

func (p *podMetrics) ListAllExternalMetrics() []provider.ExternalMetricInfo { return nil }

func metricValue(metric, namespace, pod string, v float64) custom_metrics.MetricValue {
	return custom_metrics.MetricValue{
		DescribedObject: custom_metrics.ObjectReference{
			APIVersion: corev1.SchemeGroupVersion.String(),
			Kind:       "Pod",
			Namespace:  namespace,
			Name:       pod,
		},
		Metric:    custom_metrics.MetricIdentifier{Name: metric},
		Timestamp: metav1.NewTime(time.Now()),
		Value:     *resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI),
	}
}
