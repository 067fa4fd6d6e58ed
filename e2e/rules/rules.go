// Package rules reads the Prometheus configuration vllm-hpa generates for
// Managed Service for Prometheus (ClusterRules recording rules and
// ClusterPodMonitoring metric relabeling) and applies it with Prometheus's
// own code, so tests can check what GMP will record.
package rules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Recording is one recording rule of a ClusterRules or Rules object.
type Recording struct {
	Group    string
	Interval string
	Record   string
	Expr     string
}

// RecordingRules returns the recording rules of every object of kind
// (ClusterRules or Rules, group monitoring.googleapis.com) in objs.
func RecordingRules(objs []*unstructured.Unstructured, kind string) ([]Recording, error) {
	var found []Recording
	for _, obj := range objs {
		if obj.GetKind() != kind || !strings.HasPrefix(obj.GetAPIVersion(), "monitoring.googleapis.com/") {
			continue
		}
		groups, _, err := unstructured.NestedSlice(obj.Object, "spec", "groups")
		if err != nil {
			return nil, fmt.Errorf("%s %s: spec.groups: %w", kind, obj.GetName(), err)
		}
		for _, g := range groups {
			group, _ := g.(map[string]any)
			name, _ := group["name"].(string)
			interval, _ := group["interval"].(string)
			rules, _ := group["rules"].([]any)
			for _, r := range rules {
				rule, _ := r.(map[string]any)
				record, _ := rule["record"].(string)
				expr, _ := rule["expr"].(string)
				if record == "" {
					continue
				}
				found = append(found, Recording{Group: name, Interval: interval, Record: record, Expr: expr})
			}
		}
	}
	return found, nil
}

// parse uses Prometheus's default parser options, which GMP's rule
// evaluator also uses.
func parse(expr string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(expr)
}

// ScopeToNamespace returns expr as GMP evaluates it for a namespaced Rules
// object in namespace: every series selector gets namespace="<namespace>",
// and a selector that already asks for another namespace is an error. It
// rewrites the parsed expression, as GMP's operator does.
func ScopeToNamespace(expr, namespace string) (string, error) {
	ast, err := parse(expr)
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", expr, err)
	}
	var scopeErr error
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == "namespace" && (m.Type != labels.MatchEqual || m.Value != namespace) {
				scopeErr = errors.Join(scopeErr, fmt.Errorf("selector %s conflicts with namespace %q", vs, namespace))
			}
		}
		vs.LabelMatchers = append(vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, "namespace", namespace))
		return nil
	})
	if scopeErr != nil {
		return "", scopeErr
	}
	return ast.String(), nil
}

// Selectors returns the series selectors of expr, as PromQL prints them.
func Selectors(expr string) ([]string, error) {
	ast, err := parse(expr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	var sels []string
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			sels = append(sels, vs.String())
		}
		return nil
	})
	return sels, nil
}

// MetricRelabeling returns the metricRelabeling of the first endpoint of a
// PodMonitoring or ClusterPodMonitoring as Prometheus relabel configs, the
// way GMP hands them to its collectors.
func MetricRelabeling(monitoring *unstructured.Unstructured) ([]*relabel.Config, error) {
	endpoints, _, err := unstructured.NestedSlice(monitoring.Object, "spec", "endpoints")
	if err != nil || len(endpoints) == 0 {
		return nil, fmt.Errorf("%s %s has no spec.endpoints", monitoring.GetKind(), monitoring.GetName())
	}
	endpoint, _ := endpoints[0].(map[string]any)
	rules, _ := endpoint["metricRelabeling"].([]any)
	// The CRD spells the fields in camelCase; Prometheus's YAML in snake_case.
	snake := map[string]string{"sourceLabels": "source_labels", "targetLabel": "target_label"}
	var cfgs []*relabel.Config
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		promRule := map[string]any{}
		for k, v := range rule {
			if s, ok := snake[k]; ok {
				k = s
			}
			promRule[k] = v
		}
		raw, err := yaml.Marshal(promRule)
		if err != nil {
			return nil, err
		}
		cfg := &relabel.Config{}
		if err := yaml.UnmarshalStrict(raw, cfg); err != nil {
			return nil, fmt.Errorf("metricRelabeling[%d]: %w", i, err)
		}
		if err := cfg.Validate(model.UTF8Validation); err != nil {
			return nil, fmt.Errorf("metricRelabeling[%d]: %w", i, err)
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

// Relabel applies cfgs to a series' labels and reports whether it is kept.
func Relabel(lset labels.Labels, cfgs []*relabel.Config) (labels.Labels, bool) {
	lb := labels.NewBuilder(lset)
	if !relabel.ProcessBuilder(lb, cfgs...) {
		return labels.EmptyLabels(), false
	}
	return lb.Labels(), true
}
