package whatif

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/yaml"
)

// Backend is how a Pods metric reaches the HPA.
type Backend string

const (
	// BackendAdapter: GMP scrapes the pods, Cloud Monitoring ingests the
	// samples, the Custom Metrics Stackdriver Adapter queries them.
	BackendAdapter Backend = "adapter"
	// BackendGKE: GKE's managed metrics adapter reads the pods' endpoint
	// itself (AutoscalingMetric); no Cloud Monitoring round trip.
	BackendGKE Backend = "gke"
)

// AdapterMetricPrefix marks a metric served by the Stackdriver adapter from
// Managed Prometheus: prometheus.googleapis.com|<name>|gauge.
const AdapterMetricPrefix = "prometheus.googleapis.com|"

// Setup is what the simulator takes from rendered manifests.
type Setup struct {
	// Source names where it came from (a file name, or stdin).
	Source string
	HPA    *autoscalingv2.HorizontalPodAutoscaler
	// Gauges are the Prometheus gauge names behind each HPA metric, in spec order.
	Gauges  []string
	Backend Backend
	// BackendFrom says how the backend was chosen, for the report.
	BackendFrom string
	// ScrapeInterval is the vLLM scrape interval (0: not found in the manifests).
	ScrapeInterval time.Duration
	// RuleInterval is the GPU recording rule's interval (0: none).
	RuleInterval time.Duration
	// MaxNumSeqs is --max-num-seqs of the target's vLLM container (0: not found).
	MaxNumSeqs int
	// Grace is the target's terminationGracePeriodSeconds (0: not found).
	Grace time.Duration
}

type object struct {
	apiVersion, kind, name, namespace string
	raw                               []byte
}

// readObjects splits a YAML stream (or a ResourceList) into objects.
func readObjects(source string, r io.Reader) ([]object, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var out []object
	for i := 0; ; i++ {
		var node yamlv3.Node
		if err := dec.Decode(&node); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: document %d is not YAML: %v", source, i+1, err)
		}
		raw, err := yamlv3.Marshal(&node)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", source, i+1, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Items []any `json:"items"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			// Not an object (a bare list or scalar): not ours to read.
			continue
		}
		if head.Kind == "ResourceList" || head.Kind == "List" {
			for _, item := range head.Items {
				itemRaw, err := yaml.Marshal(item)
				if err != nil {
					return nil, fmt.Errorf("%s: %s item: %v", source, head.Kind, err)
				}
				objs, err := readObjects(source, bytes.NewReader(itemRaw))
				if err != nil {
					return nil, err
				}
				out = append(out, objs...)
			}
			continue
		}
		if head.Kind == "" {
			continue
		}
		out = append(out, object{head.APIVersion, head.Kind, head.Metadata.Name, head.Metadata.Namespace, raw})
	}
	return out, nil
}

// ReadSetup reads rendered manifests: the HPA (hpaName picks one when there
// are several), its target Deployment, the scrape that feeds it, and the
// backend (backend overrides what the manifests say).
func ReadSetup(source string, r io.Reader, hpaName string, backend Backend) (*Setup, error) {
	objs, err := readObjects(source, r)
	if err != nil {
		return nil, err
	}
	var hpas []object
	for _, o := range objs {
		if o.kind == "HorizontalPodAutoscaler" && strings.HasPrefix(o.apiVersion, "autoscaling/") {
			hpas = append(hpas, o)
		}
	}
	var names []string
	for _, o := range hpas {
		names = append(names, o.name)
	}
	sort.Strings(names)
	var chosen *object
	switch {
	case len(hpas) == 0:
		return nil, fmt.Errorf("%s holds no HorizontalPodAutoscaler; pipe in the function's rendered output (e.g. kustomize build ... | vllm-hpa-whatif ...)", source)
	case hpaName != "":
		for i := range hpas {
			if hpas[i].name == hpaName {
				chosen = &hpas[i]
			}
		}
		if chosen == nil {
			return nil, fmt.Errorf("--hpa %q: %s has no HorizontalPodAutoscaler of that name; it has: %s", hpaName, source, strings.Join(names, ", "))
		}
	case len(hpas) > 1:
		return nil, fmt.Errorf("%s holds %d HorizontalPodAutoscalers (%s); choose one with --hpa NAME", source, len(hpas), strings.Join(names, ", "))
	default:
		chosen = &hpas[0]
	}
	if chosen.apiVersion != "autoscaling/v2" {
		return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s is %s; the simulator reads autoscaling/v2", source, chosen.name, chosen.apiVersion)
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := yaml.Unmarshal(chosen.raw, h); err != nil {
		return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s: %v", source, chosen.name, err)
	}
	ns := h.Namespace
	if ns == "" {
		ns = "default"
	}
	s := &Setup{Source: source, HPA: h}

	// The backend: the metric name says adapter; an AutoscalingMetric says GKE.
	var gkeMetrics []autoscalingMetric
	for _, o := range objs {
		if o.kind == "AutoscalingMetric" {
			var am autoscalingMetric
			if err := yaml.Unmarshal(o.raw, &am); err == nil {
				gkeMetrics = append(gkeMetrics, am)
			}
		}
	}
	for i, m := range h.Spec.Metrics {
		if m.Pods == nil {
			return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s spec.metrics[%d] is a %s metric; only Pods metrics are simulated", source, h.Name, i, m.Type)
		}
		name := m.Pods.Metric.Name
		gauge, b := gaugeOf(name, gkeMetrics)
		if i == 0 {
			s.Backend, s.BackendFrom = b, "from spec.metrics[0].pods.metric.name"
		}
		s.Gauges = append(s.Gauges, gauge)
	}
	if backend != "" {
		s.Backend, s.BackendFrom = backend, "--backend"
	} else if s.Backend == "" {
		return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s metric %q is neither %s<name>|gauge (the Stackdriver adapter) nor named by an AutoscalingMetric (GKE's managed adapter); pass --backend adapter or --backend gke", source, h.Name, h.Spec.Metrics[0].Pods.Metric.Name, AdapterMetricPrefix)
	}

	// The target Deployment: vLLM's --max-num-seqs and the grace period.
	var podLabels map[string]string
	ref := h.Spec.ScaleTargetRef
	for _, o := range objs {
		if o.kind != ref.Kind || o.name != ref.Name || (o.namespace != "" && o.namespace != ns) {
			continue
		}
		var d appsv1.Deployment // StatefulSet and LeaderWorkerSet share the fields read here.
		if err := yaml.Unmarshal(o.raw, &d); err != nil {
			continue
		}
		podLabels = d.Spec.Template.Labels
		if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
			s.Grace = time.Duration(*g) * time.Second
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if n := maxNumSeqs(append(append([]string{}, c.Command...), c.Args...)); n > 0 {
				s.MaxNumSeqs = n
			}
		}
	}

	// The scrape interval: the PodMonitoring that selects the target's pods
	// (adapter path), or the GPU exporter's ClusterPodMonitoring and rules.
	gpu := len(s.Gauges) > 0 && strings.EqualFold(s.Gauges[0], "dcgm_fi_dev_gpu_util")
	for _, o := range objs {
		switch {
		case o.kind == "PodMonitoring" && !gpu && (o.namespace == "" || o.namespace == ns):
			var pm podMonitoring
			if yaml.Unmarshal(o.raw, &pm) != nil || !selects(pm.Spec.Selector.MatchLabels, podLabels) {
				continue
			}
			s.ScrapeInterval = firstInterval(pm.Spec.Endpoints)
		case o.kind == "ClusterPodMonitoring" && gpu:
			var pm podMonitoring
			if yaml.Unmarshal(o.raw, &pm) == nil {
				s.ScrapeInterval = firstInterval(pm.Spec.Endpoints)
			}
		case o.kind == "ClusterRules" && gpu:
			var cr struct {
				Spec struct {
					Groups []struct {
						Interval string `json:"interval"`
					} `json:"groups"`
				} `json:"spec"`
			}
			if yaml.Unmarshal(o.raw, &cr) == nil && len(cr.Spec.Groups) > 0 {
				if d, err := time.ParseDuration(cr.Spec.Groups[0].Interval); err == nil {
					s.RuleInterval = d
				}
			}
		}
	}
	return s, nil
}

type podMonitoring struct {
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func firstInterval(eps []struct {
	Interval string `json:"interval"`
}) time.Duration {
	for _, e := range eps {
		if d, err := time.ParseDuration(e.Interval); err == nil && d > 0 {
			return d
		}
	}
	return 0
}

// selects reports whether a matchLabels selector selects pods with labels
// (with no known pod labels, any PodMonitoring in the namespace counts).
func selects(sel, labels map[string]string) bool {
	if labels == nil {
		return true
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// autoscalingMetric is the part of GKE's AutoscalingMetric
// (autoscaling.gke.io/v1beta1) the simulator reads: which gauges it exposes,
// in the documented form spec.metrics[].pod.containers[].metrics[].gauge
// (cloud.google.com/kubernetes-engine/docs/how-to/expose-custom-metrics-autoscaling),
// which vllm-hpa's backend gke writes.
type autoscalingMetric struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Metrics []struct {
			Pod *struct {
				Containers []struct {
					Metrics []struct {
						Gauge *gkeGauge `json:"gauge"`
					} `json:"metrics"`
				} `json:"containers"`
			} `json:"pod"`
		} `json:"metrics"`
	} `json:"spec"`
}

type gkeGauge struct {
	Name                 string `json:"name"`
	PrometheusMetricName string `json:"prometheusMetricName"`
}

// metrics lists the object's gauges.
func (am autoscalingMetric) metrics() []gkeGauge {
	var all []gkeGauge
	for _, m := range am.Spec.Metrics {
		if m.Pod == nil {
			continue
		}
		for _, c := range m.Pod.Containers {
			for _, g := range c.Metrics {
				if g.Gauge != nil {
					all = append(all, *g.Gauge)
				}
			}
		}
	}
	return all
}

// gaugeOf maps an HPA metric name to the Prometheus gauge behind it and the
// backend that serves it.
func gaugeOf(name string, gke []autoscalingMetric) (string, Backend) {
	if rest, ok := strings.CutPrefix(name, AdapterMetricPrefix); ok {
		gauge, _, _ := strings.Cut(rest, "|")
		return gauge, BackendAdapter
	}
	// GKE's managed adapter serves autoscaling.gke.io|<AutoscalingMetric>|<gauge>.
	for _, am := range gke {
		for _, m := range am.metrics() {
			if m.PrometheusMetricName != "" && name == "autoscaling.gke.io|"+am.Metadata.Name+"|"+m.Name {
				return m.PrometheusMetricName, BackendGKE
			}
		}
	}
	// Not recognised: the last |- or /-separated part, with no backend.
	last := name
	if i := strings.LastIndexAny(name, "|/"); i >= 0 && i+1 < len(name) {
		last = name[i+1:]
	}
	return last, ""
}

// maxNumSeqs finds vLLM's --max-num-seqs in a container's command line.
func maxNumSeqs(args []string) int {
	for i, a := range args {
		var v string
		switch {
		case strings.HasPrefix(a, "--max-num-seqs="):
			v = strings.TrimPrefix(a, "--max-num-seqs=")
		case a == "--max-num-seqs" && i+1 < len(args):
			v = args[i+1]
		default:
			// A shell command line in one string.
			if j := strings.Index(a, "--max-num-seqs"); j >= 0 {
				f := strings.FieldsFunc(a[j+len("--max-num-seqs"):], func(r rune) bool { return r == ' ' || r == '=' })
				if len(f) > 0 {
					v = f[0]
				}
			}
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 0
}
