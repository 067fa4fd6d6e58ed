package processor

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/reconcile"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/workload"
)

// checkWorkload reports what must agree between a valid, prepared config and
// its workload.
func checkWorkload(p *prepared) fn.Results {
	src, c, w := p.src, p.config, p.workload
	if c.Spec.Strategy == v1alpha1.StrategyGPU && !w.RequestsGPU() {
		return fn.Results{src.Result(fn.Error, field.Invalid(strategyPath, string(c.Spec.Strategy), fmt.Sprintf(
			"no container of %s requests nvidia.com/gpu, so DCGM has nothing to report for its pods; "+
				"add an nvidia.com/gpu request and limit to the vLLM container, or use strategy vllm", w.Describe())))}
	}
	if c.Spec.Strategy != v1alpha1.StrategyVLLM {
		return nil
	}
	var results fn.Results
	if missing := unmatched(c.Spec.PodSelector, w.PodLabels); len(missing) > 0 {
		results = append(results, src.Result(fn.Error, field.Invalid(podSelectorPath, v1alpha1.FormatSelector(c.Spec.PodSelector), fmt.Sprintf(
			"does not select the pods of %s (their labels: %s; missing %s), so %s would scrape nothing; "+
				"use labels of the pod template, or remove it to take them from the workload",
			w.Describe(), v1alpha1.FormatSelector(w.PodLabels), strings.Join(missing, ", "), scrapeObject(c)))))
	}
	vllm := w.VLLMContainer()
	if vllm == nil {
		return results
	}
	port := *c.Spec.Scrape.Port
	if !servesPort(w, vllm, port) {
		results = append(results, src.Result(fn.Warning, field.Invalid(scrapePortPath, port.String(), fmt.Sprintf(
			"is neither a port of container %s in %s nor its --port; %s would find no target; "+
				"use the container port's name or number", vllm.Name, w.Describe(), scrapeObject(c)))))
	}
	for _, m := range c.ScaledMetrics() {
		if m.Name == v1alpha1.DefaultVLLMMetric && m.TargetAverageValue != nil {
			results = append(results, checkMaxNumSeqs(p, vllm, m)...)
		}
	}
	return results
}

// checkMaxNumSeqs refuses a vllm:num_requests_running target the gauge can never
// exceed: vLLM runs at most --max-num-seqs requests at once. Without the flag the
// limit is vLLM's default for the GPU, read from the workload's accelerator; where
// the GPU cannot be told, a target above the smaller default is a warning. A
// target derived from an SLO is checked the same way; the result names the SLO.
func checkMaxNumSeqs(p *prepared, vllm *corev1.Container, m v1alpha1.ScaledMetric) fn.Results {
	w := p.workload
	raw := string(*m.TargetAverageValue)
	target := resource.MustParse(raw)
	atOrAbove := func(n int) bool { return target.Cmp(*resource.NewQuantity(int64(n), resource.DecimalSI)) >= 0 }
	// A derived target is reported at the SLO it came from: that is what to change.
	result := func(sev fn.Severity, format string, args ...any) fn.Results {
		if m.SLO != nil {
			return fn.Results{p.src.Note(sev, m.SLOPath, raw, fmt.Sprintf("derives %s %s, which ", m.Path.Child("targetAverageValue"), raw)+fmt.Sprintf(format, args...))}
		}
		return fn.Results{p.src.Result(sev, field.Invalid(m.Path.Child("targetAverageValue"), raw, fmt.Sprintf(format, args...)))}
	}
	limit, source := 0, ""
	if v, ok := w.VLLMFlag("--max-num-seqs"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil
		}
		limit, source = n, fmt.Sprintf("--max-num-seqs (%d) of container %s in %s", n, vllm.Name, w.Describe())
	} else {
		accelerators := w.Accelerators()
		known := len(accelerators) > 0
		for _, a := range accelerators {
			n, ok := workload.DefaultMaxNumSeqs(a)
			known = known && ok
			if limit == 0 || n < limit {
				limit = n
			}
		}
		if !known {
			if !atOrAbove(workload.SmallGPUMaxNumSeqs) {
				return nil
			}
			gpu := "selects no " + workload.AcceleratorLabel + " in nodeSelector or required node affinity"
			if len(accelerators) > 0 {
				gpu = "selects " + workload.AcceleratorLabel + " " + strings.Join(accelerators, ", ") + ", which the function does not know"
			}
			return result(fn.Warning,
				"may be out of reach: container %s in %s sets no --max-num-seqs and its pod template %s, "+
					"so vLLM's default cannot be told: %d on GPUs of 70 GiB or more other than A100 (H100, H200, B200), %d on others, where %s never exceeds %d; "+
					"set --max-num-seqs, select the GPU with %s, or use a target below %d",
				vllm.Name, w.Describe(), gpu, workload.LargeGPUMaxNumSeqs, workload.SmallGPUMaxNumSeqs,
				v1alpha1.DefaultVLLMMetric, workload.SmallGPUMaxNumSeqs, workload.AcceleratorLabel, workload.SmallGPUMaxNumSeqs)
		}
		source = fmt.Sprintf("vLLM's default --max-num-seqs (%d) on %s, which container %s in %s runs on without setting the flag",
			limit, strings.Join(accelerators, ", "), vllm.Name, w.Describe())
	}
	if !atOrAbove(limit) {
		return nil
	}
	fix := fmt.Sprintf("use a target below %d (e.g. %d), or scale on vllm:num_requests_waiting", limit, max(1, limit*3/4))
	if m.SLO != nil {
		fix = fmt.Sprintf("the profile was measured on a server that ran more requests at once: profile the workload as it is deployed, or write a target below %d instead of the SLO", limit)
	}
	return result(fn.Error,
		"is at or above %s: %s never exceeds %d, "+
			"so the HorizontalPodAutoscaler would never scale up; %s",
		source, v1alpha1.DefaultVLLMMetric, limit, fix)
}

// toleranceFeatureGate is the Kubernetes feature gate behind
// spec.behavior.*.tolerance: alpha and off in 1.33 and 1.34, beta and on from
// 1.35, GA in 1.37 (kubernetes/kubernetes, pkg/features/kube_features.go).
const toleranceFeatureGate = "HPAConfigurableTolerance"

// behaviorNotes says where a config's HPA behavior needs a recent cluster.
func behaviorNotes(p *prepared) fn.Results {
	b := p.config.Spec.Behavior
	var results fn.Results
	for _, dir := range []struct {
		name  string
		rules *autoscalingv2.HPAScalingRules
	}{{"scaleUp", b.ScaleUp}, {"scaleDown", b.ScaleDown}} {
		if dir.rules == nil || dir.rules.Tolerance == nil {
			continue
		}
		value := strconv.FormatFloat(dir.rules.Tolerance.AsApproximateFloat64(), 'g', -1, 64)
		results = append(results, p.src.Note(fn.Info, behaviorPath.Child(dir.name, "tolerance"), value, fmt.Sprintf(
			"(%s) takes effect only on Kubernetes 1.35 or later, where the %s feature gate is on by default; "+
				"1.33 and 1.34 drop it unless the alpha gate is turned on, and older API servers do not know the field; "+
				"elsewhere the HorizontalPodAutoscaler keeps the cluster-wide tolerance (10%% by default)",
			value, toleranceFeatureGate)))
	}
	return results
}

// servesPort reports whether the container has the port, by name or number, or
// passes it to vLLM with --port (vLLM listens there even if it is not declared).
func servesPort(w *workload.Workload, c *corev1.Container, port intstr.IntOrString) bool {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return true
		}
	}
	if port.Type == intstr.String {
		return false
	}
	return w.VLLMIntFlag("--port", v1alpha1.DefaultScrapePort) == port.IntValue()
}

// checkDuplicateHPAs refuses two autoscalers on one workload: two configs that
// target it, or a config and an HPA of the package that this run does not
// write or remove.
func checkDuplicateHPAs(p *plan, inv *inventory.Inventory, rep *report) {
	// The package's HPAs, by the workload they scale, read once.
	scaling := map[string][]*inventory.Entry{}
	entries := inv.Entries()
	for i := range entries {
		e := &entries[i]
		if e.ID.Kind != "HorizontalPodAutoscaler" || e.ID.Group != "autoscaling" {
			continue
		}
		kind, _, _ := e.Object.NestedString("spec", "scaleTargetRef", "kind")
		name, _, _ := e.Object.NestedString("spec", "scaleTargetRef", "name")
		key := targetKey(e.ID.Namespace, kind, name)
		scaling[key] = append(scaling[key], e)
	}
	first := map[string]*v1alpha1.VLLMHPAConfig{}
	for _, pc := range p.prepared {
		src, c := pc.src, pc.config
		target := targetKey(c.Namespace, c.Spec.ScaleTargetRef.Kind, c.Spec.ScaleTargetRef.Name)
		if other, ok := first[target]; ok {
			e := field.Duplicate(targetNamePath, c.Spec.ScaleTargetRef.Name)
			e.Detail = fmt.Sprintf("config %s already autoscales %s %s/%s%s; two HorizontalPodAutoscalers on one workload fight over its replicas; keep one config per workload",
				manifests.Key(other), c.Spec.ScaleTargetRef.Kind, c.Namespace, c.Spec.ScaleTargetRef.Name, backendClash(other.Spec.Backend, c.Spec.Backend))
			rep.add("", src.Result(fn.Error, e))
			continue
		}
		first[target] = c
		for _, e := range scaling[target] {
			if e.ID.Name == c.Name || (ownedBy(e, p.keys) && !strings.EqualFold(e.Managed, "false")) {
				continue // this run's own: written or removed by it
			}
			name := c.Spec.ScaleTargetRef.Name
			dup := field.Duplicate(targetNamePath, name)
			dup.Detail = fmt.Sprintf("HorizontalPodAutoscaler %s/%s in the package already scales %s %s/%s, and this config would add %s/%s%s; two HorizontalPodAutoscalers on one workload fight over its replicas; "+
				"delete %s, or name another workload here", e.ID.Namespace, e.ID.Name, c.Spec.ScaleTargetRef.Kind, c.Namespace, name, c.Namespace, c.Name,
				backendClash(hpaBackend(e.Object), c.Spec.Backend), e.ID.Name)
			rep.add("", src.Result(fn.Error, dup))
		}
	}
}

// ownedBy reports whether a config of the run generated the entry.
func ownedBy(e *inventory.Entry, keys map[string]bool) bool {
	return slices.ContainsFunc(e.Owners, func(o string) bool { return keys[o] && manifests.Generates(o, e.ID) })
}

// checkMetricsAPIs refuses to register an API group that a server other than the
// adapter already has in the input: an API group is served by one Service per
// version, so the adapter's APIServices would silently take custom.metrics.k8s.io
// from prometheus-adapter, or external.metrics.k8s.io from KEDA, and break every
// autoscaler that relies on them. An APIService the function generated, or one that
// names the adapter's own Service, is not a conflict.
func checkMetricsAPIs(objects []manifests.Object, items fn.KubeObjects) fn.Results {
	registers := map[string]bool{}
	for _, o := range objects {
		if a, ok := o.Value.(*apiregv1.APIService); ok {
			registers[a.Spec.Group] = true
		}
	}
	var results fn.Results
	for _, item := range items {
		if item.GetKind() != "APIService" || item.GroupKind().Group != apiregv1.GroupName {
			continue
		}
		group := apiServiceGroup(item)
		if group != manifests.CustomMetricsGroup && group != manifests.ExternalMetricsGroup {
			continue
		}
		if item.GetAnnotation(reconcile.OwnerAnnotation) != "" && !strings.EqualFold(item.GetAnnotation(reconcile.ManagedAnnotation), "false") {
			continue
		}
		ns, _, _ := item.NestedString("spec", "service", "namespace")
		name, _, _ := item.NestedString("spec", "service", "name")
		if ns == manifests.AdapterNamespace && name == manifests.AdapterName {
			continue
		}
		server := "no Service (served by the API server itself)"
		if name != "" {
			server = "Service " + ns + "/" + name
		}
		if !registers[group] {
			why := "no config sets spec.adapter.externalMetrics: true"
			if group == manifests.CustomMetricsGroup {
				why = "no config emits the adapter (spec.clusterResources: false, or spec.backend: gke)"
			}
			r := config.ObjectResult(item, fn.Info, fmt.Sprintf(
				"APIService %s serves %s from %s; the function leaves that API to it, as %s",
				item.GetName(), group, server, why))
			r.Field = &fn.Field{Path: "spec.service"}
			results = append(results, r)
			continue
		}
		fix := "the Stackdriver adapter and another custom metrics server such as prometheus-adapter cannot share a cluster, and the HPA's metric names are the Stackdriver adapter's: remove that server and its APIServices from the package and the cluster"
		if group == manifests.ExternalMetricsGroup {
			fix = "set spec.adapter.externalMetrics: false (no strategy needs external metrics), or move that server's external metrics to the Stackdriver adapter"
		}
		r := config.ObjectResult(item, fn.Error, fmt.Sprintf(
			"APIService %s already serves %s from %s, which vllm-hpa did not generate; the adapter's APIServices would take %s over and break whatever relies on it; %s",
			item.GetName(), group, server, group, fix))
		r.Field = &fn.Field{Path: "spec.service"}
		results = append(results, r)
	}
	return results
}

// apiServiceGroup is an APIService's spec.group, else the group its name
// (<version>.<group>) spells.
func apiServiceGroup(item *fn.KubeObject) string {
	if g, _, _ := item.NestedString("spec", "group"); g != "" {
		return g
	}
	_, g, _ := strings.Cut(item.GetName(), ".")
	return g
}

func targetKey(ns, kind, name string) string { return ns + "/" + kind + "/" + name }

// unmatched lists the selector's labels that the pod labels lack or contradict.
func unmatched(selector, pod map[string]string) []string {
	var missing []string
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		if v, ok := pod[k]; !ok || v != selector[k] {
			missing = append(missing, k+"="+selector[k])
		}
	}
	return missing
}
