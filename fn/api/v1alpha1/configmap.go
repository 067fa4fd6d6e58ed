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
	{"clusterResources", "spec.clusterResources"},
	{"adapterImage", "spec.adapter.image"},
	{"adapterHardening", "spec.adapter.hardening"},
	{"adapterExternalMetrics", "spec.adapter.externalMetrics"},
	{"gcpServiceAccount", "spec.adapter.gcpServiceAccount"},
	{"gpuSource", "spec.gpu.source"},
	{"sloPercentile", "spec.slo.percentile"},
	{"sloTTFT", "spec.slo.ttft"},
	{"sloTPOT", "spec.slo.tpot"},
	{"sloProfileRef", "spec.slo.profileRef"},
}

// FromConfigMapData builds a config from a ConfigMap's flat string data. Errors
// name the key (data.KEY), the value and the fix; unknown keys are errors.
func FromConfigMapData(data map[string]string) (*VLLMHPAConfig, []FieldError) {
	c := &VLLMHPAConfig{}
	c.APIVersion, c.Kind = APIVersion, Kind
	var errs []FieldError
	fail := func(key, value, format string, args ...any) {
		errs = append(errs, FieldError{Field: "data." + key, Value: value, Message: "data." + key + " " + fmt.Sprintf(format, args...)})
	}
	int32Of := func(key, v string) *int32 {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			fail(key, v, "(%q) is not a whole number; write e.g. %s=3", v, key)
			return nil
		}
		return ptr(int32(n))
	}
	known := map[string]bool{}
	for _, k := range ConfigMapKeys {
		known[k.Key] = true
	}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		v := data[key]
		if !known[key] {
			fail(key, v, "is not a known key; use one of: %s", strings.Join(configMapKeyNames(), ", "))
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
			metric(c).TargetAverageValue = ptr(Quantity(v))
		case "metricLabels":
			sel, err := parseSelector(v)
			if err != nil {
				fail(key, v, "(%q) %v; write labels as k=v,k2=v2", v, err)
			}
			metric(c).Labels = sel
		case "podSelector":
			sel, err := parseSelector(v)
			if err != nil {
				fail(key, v, "(%q) %v; write labels as k=v,k2=v2", v, err)
			}
			s.PodSelector = sel
		case "scrapePort":
			port := intstr.Parse(strings.TrimSpace(v))
			scrape(c).Port = &port
		case "scrapePath":
			scrape(c).Path = v
		case "scrapeInterval":
			scrape(c).Interval = v
		case "clusterResources":
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				fail(key, v, "(%q) is not a boolean; write true or false", v)
			}
			s.ClusterResources = &b
		case "adapterHardening":
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				fail(key, v, "(%q) is not a boolean; write true or false", v)
			}
			adapter(c).Hardening = &b
		case "adapterExternalMetrics":
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				fail(key, v, "(%q) is not a boolean; write true or false", v)
			}
			adapter(c).ExternalMetrics = &b
		case "adapterImage":
			adapter(c).Image = v
		case "gcpServiceAccount":
			adapter(c).GCPServiceAccount = v
		case "sloPercentile":
			if n := int32Of(key, v); n != nil {
				slo(c).Percentile = ptr(SLOPercentile(*n))
			}
		case "sloTTFT", "sloTPOT":
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				fail(key, v, "(%q) is not a duration; write e.g. %s=500ms", v, key)
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
	return c, errs
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

// ConfigMapField returns the ConfigMap key path (data.KEY) that sets a config
// field, or the field itself when no key sets it.
func ConfigMapField(field string) string {
	for _, k := range ConfigMapKeys {
		if field == k.Field || strings.HasPrefix(field, k.Field+".") {
			return "data." + k.Key
		}
	}
	return field
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
