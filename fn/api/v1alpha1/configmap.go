package v1alpha1

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// ConfigMapKey is one flat key of a ConfigMap functionConfig (what
// `kpt fn eval -- key=value` and a Kptfile's configMap: produce) and the config
// field it sets.
type ConfigMapKey struct {
	Key   string
	Field string
}

// ConfigMapKeys lists every key a ConfigMap functionConfig may hold.
var ConfigMapKeys = []ConfigMapKey{
	{"name", "metadata.name"},
	{"namespace", "metadata.namespace"},
	{"strategy", "spec.strategy"},
	{"backend", "spec.backend"},
	{"targetKind", "spec.scaleTargetRef.kind"},
	{"targetName", "spec.scaleTargetRef.name"},
	{"minReplicas", "spec.minReplicas"},
	{"maxReplicas", "spec.maxReplicas"},
	{"metric", "spec.metric.name"},
	{"targetAverageValue", "spec.metric.targetAverageValue"},
	{"metricLabels", "spec.metric.labels"},
	{"podSelector", "spec.podSelector"},
	{"scrapePort", "spec.scrape.port"},
	{"scrapePath", "spec.scrape.path"},
	{"scrapeInterval", "spec.scrape.interval"},
	{"scrapeMonitoring", "spec.scrape.monitoring"},
	{"clusterResources", "spec.clusterResources"},
	{"adapterImage", "spec.adapter.image"},
	{"adapterHardening", "spec.adapter.hardening"},
	{"adapterExternalMetrics", "spec.adapter.externalMetrics"},
	{"gcpServiceAccount", "spec.adapter.gcpServiceAccount"},
	{"workloadIdentityProjectID", "spec.adapter.workloadIdentity.projectID"},
	{"workloadIdentityProjectNumber", "spec.adapter.workloadIdentity.projectNumber"},
	{"workloadIdentityNamespace", "spec.adapter.workloadIdentity.namespace"},
	{"gpuSource", "spec.gpu.source"},
	{"sloPercentile", "spec.slo.percentile"},
	{"sloTTFT", "spec.slo.ttft"},
	{"sloTPOT", "spec.slo.tpot"},
	{"sloProfileRef", "spec.slo.profileRef"},
}

// FromConfigMapData builds a config from a ConfigMap's flat string data. Errors
// are about data.KEY; unknown keys are errors.
func FromConfigMapData(data map[string]string) (*VLLMHPAConfig, field.ErrorList) {
	c := &VLLMHPAConfig{}
	c.APIVersion, c.Kind = APIVersion, Kind
	dataPath := field.NewPath("data")
	var allErrs field.ErrorList
	int32Of := func(key, v string) *int32 {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			allErrs = append(allErrs, field.Invalid(dataPath.Child(key), v, fmt.Sprintf("is not a whole number; write e.g. %s=3", key)))
			return nil
		}
		return ptr.To(int32(n))
	}
	boolOf := func(key, v string) *bool {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			allErrs = append(allErrs, field.Invalid(dataPath.Child(key), v, "is not a boolean; write true or false"))
		}
		return &b
	}
	selectorOf := func(key, v string) map[string]string {
		sel, err := parseSelector(v)
		if err != nil {
			allErrs = append(allErrs, field.Invalid(dataPath.Child(key), v, err.Error()+"; write labels as k=v,k2=v2"))
		}
		return sel
	}
	known := map[string]bool{}
	for _, k := range ConfigMapKeys {
		known[k.Key] = true
	}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		v := data[key]
		if !known[key] {
			allErrs = append(allErrs, field.Forbidden(dataPath.Child(key), "is not a known key; use one of: "+strings.Join(configMapKeyNames(), ", ")))
			continue
		}
		s := &c.Spec
		switch key {
		case "name":
			c.Name = v
		case "namespace":
			c.Namespace = v
		case "strategy":
			s.Strategy = Strategy(v)
		case "backend":
			s.Backend = Backend(v)
		case "targetKind":
			s.ScaleTargetRef.Kind = v
		case "targetName":
			s.ScaleTargetRef.Name = v
		case "minReplicas":
			s.MinReplicas = int32Of(key, v)
		case "maxReplicas":
			if n := int32Of(key, v); n != nil {
				s.MaxReplicas = *n
			}
		case "metric":
			metric(c).Name = v
		case "targetAverageValue":
			metric(c).TargetAverageValue = ptr.To(Quantity(v))
		case "metricLabels":
			metric(c).Labels = selectorOf(key, v)
		case "podSelector":
			s.PodSelector = selectorOf(key, v)
		case "scrapePort":
			port := intstr.Parse(strings.TrimSpace(v))
			scrape(c).Port = &port
		case "scrapePath":
			scrape(c).Path = v
		case "scrapeInterval":
			scrape(c).Interval = v
		case "scrapeMonitoring":
			scrape(c).Monitoring = boolOf(key, v)
		case "clusterResources":
			s.ClusterResources = boolOf(key, v)
		case "adapterHardening":
			adapter(c).Hardening = boolOf(key, v)
		case "adapterExternalMetrics":
			adapter(c).ExternalMetrics = boolOf(key, v)
		case "adapterImage":
			adapter(c).Image = v
		case "gcpServiceAccount":
			adapter(c).GCPServiceAccount = v
		case "workloadIdentityProjectID":
			workloadIdentity(c).ProjectID = v
		case "workloadIdentityProjectNumber":
			workloadIdentity(c).ProjectNumber = v
		case "workloadIdentityNamespace":
			workloadIdentity(c).Namespace = v
		case "sloPercentile":
			if n := int32Of(key, v); n != nil {
				slo(c).Percentile = ptr.To(SLOPercentile(*n))
			}
		case "sloTTFT", "sloTPOT":
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				allErrs = append(allErrs, field.Invalid(dataPath.Child(key), v, fmt.Sprintf("is not a duration; write e.g. %s=500ms", key)))
				continue
			}
			if key == "sloTTFT" {
				slo(c).TTFT = &metav1.Duration{Duration: d}
			} else {
				slo(c).TPOT = &metav1.Duration{Duration: d}
			}
		case "sloProfileRef":
			slo(c).ProfileRef = v
		case "gpuSource":
			if c.Spec.GPU == nil {
				c.Spec.GPU = &GPU{}
			}
			c.Spec.GPU.Source = GPUSource(v)
		}
	}
	return c, allErrs
}

// ConfigMapObject returns c, built from data, as a JSON object that holds only
// the fields data sets, so that the config's schema sees a key left out as
// missing rather than as zero. Errors are about data.KEY (see ConfigMapField).
func ConfigMapObject(c *VLLMHPAConfig, data map[string]string) map[string]any {
	var full map[string]any
	if b, err := json.Marshal(c); err == nil {
		_ = json.Unmarshal(b, &full)
	}
	obj := map[string]any{"apiVersion": c.APIVersion, "kind": c.Kind, "metadata": map[string]any{},
		"spec": map[string]any{"scaleTargetRef": map[string]any{}}}
	for _, k := range ConfigMapKeys {
		if _, set := data[k.Key]; !set {
			continue
		}
		parts := strings.Split(k.Field, ".")
		from, to := full, obj
		for _, p := range parts[:len(parts)-1] {
			from, _ = from[p].(map[string]any)
			if _, ok := to[p].(map[string]any); !ok {
				to[p] = map[string]any{}
			}
			to = to[p].(map[string]any)
		}
		if v, ok := from[parts[len(parts)-1]]; ok {
			to[parts[len(parts)-1]] = v
		}
	}
	return obj
}

// ConfigMapField returns the path of the ConfigMap key (data.KEY) that sets
// the config field at path (spec.scrape.port, or spec.podSelector.app inside
// a key's value), or path itself when no key sets it. Paths are compared
// element by element, as field.Path writes them.
func ConfigMapField(path string) string {
	for _, k := range ConfigMapKeys {
		if path == k.Field || strings.HasPrefix(path, k.Field+".") || strings.HasPrefix(path, k.Field+"[") {
			return field.NewPath("data", k.Key).String()
		}
	}
	return path
}

// FormatSelector writes labels as the ConfigMap form's podSelector and
// metricLabels keys take them, k=v,k2=v2 sorted by key: what parseSelector reads.
func FormatSelector(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

func parseSelector(v string) (map[string]string, error) {
	sel := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("has %q without '='", pair)
		}
		k = strings.TrimSpace(k)
		if _, dup := sel[k]; dup {
			return nil, fmt.Errorf("gives the label %q twice", k)
		}
		sel[k] = strings.TrimSpace(val)
	}
	return sel, nil
}

func metric(c *VLLMHPAConfig) *Metric {
	if c.Spec.Metric == nil {
		c.Spec.Metric = &Metric{}
	}
	return c.Spec.Metric
}

func scrape(c *VLLMHPAConfig) *Scrape {
	if c.Spec.Scrape == nil {
		c.Spec.Scrape = &Scrape{}
	}
	return c.Spec.Scrape
}

func adapter(c *VLLMHPAConfig) *Adapter {
	if c.Spec.Adapter == nil {
		c.Spec.Adapter = &Adapter{}
	}
	return c.Spec.Adapter
}

func workloadIdentity(c *VLLMHPAConfig) *WorkloadIdentity {
	a := adapter(c)
	if a.WorkloadIdentity == nil {
		a.WorkloadIdentity = &WorkloadIdentity{}
	}
	return a.WorkloadIdentity
}

func slo(c *VLLMHPAConfig) *SLO {
	if c.Spec.SLO == nil {
		c.Spec.SLO = &SLO{}
	}
	return c.Spec.SLO
}

func configMapKeyNames() []string {
	names := make([]string, len(ConfigMapKeys))
	for i, k := range ConfigMapKeys {
		names[i] = k.Key
	}
	return names
}
