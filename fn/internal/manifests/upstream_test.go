package manifests_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// upstreamManifest is Google's production manifest of the adapter,
// GoogleCloudPlatform/k8s-stackdriver
// custom-metrics-stackdriver-adapter/deploy/production/adapter_new_resource_model.yaml,
// kept beside the repository (../shared/upstream, as the GMP CRDs are) or where
// VLLMHPA_UPSTREAM_DIR says.
const upstreamManifest = "adapter_new_resource_model.yaml"

// delta is a difference from upstream's manifest that the function makes on
// purpose. path is a field path in JSON names, or "" for a whole object only one
// side has.
type delta struct {
	object   string // Kind namespace/name, or Kind name for cluster-scoped kinds
	path     string
	hardened bool // only in the hardened shape (spec.adapter.hardening: true)
	why      string
}

const adapterDeployment = "Deployment custom-metrics/custom-metrics-stackdriver-adapter"

// intendedDeltas is every difference between the generated adapter stack and
// upstream's manifest. A difference not listed here fails TestAdapterMatchesUpstream,
// and so does an entry that no longer matches a difference.
var intendedDeltas = []delta{
	{adapterDeployment, "spec.template.spec.containers[0].image", false,
		"the tag: upstream's production manifests moved to v0.16.10-gke.0 (k8s-stackdriver PR #1245) after this copy"},
	{adapterDeployment, "spec.template.spec.containers[0].imagePullPolicy", false,
		"IfNotPresent: the image is pinned to a tag or digest, so a node need not ask the registry on every start"},
	{adapterDeployment, "spec.template.spec.containers[0].resources.limits.memory", false,
		"512Mi: valid for GKE Autopilot as written (upstream's 200Mi is below its 1:1 vCPU:GiB ratio)"},
	{adapterDeployment, "spec.template.spec.containers[0].resources.requests.memory", false, "as the limit"},
	{adapterDeployment, "spec.template.spec.containers[0].resources.limits.ephemeral-storage", false,
		"set, or GKE Autopilot adds 1Gi; room for the certificate and the rotated container log"},
	{adapterDeployment, "spec.template.spec.containers[0].resources.requests.ephemeral-storage", false, "as the limit"},
	{"APIService v1beta1.external.metrics.k8s.io", "", false,
		"external metrics only on request (spec.adapter.externalMetrics): registering them takes the API from KEDA"},
	{"ClusterRole external-metrics-reader", "", false, "as the external metrics APIService"},
	{"ClusterRoleBinding external-metrics-reader", "", false, "as the external metrics APIService"},

	// Hardening: the Pod Security Standards "restricted" level and port 10250.
	{adapterDeployment, "spec.template.spec.containers[0].command", true, "--secure-port=10250 --cert-dir=/tmp"},
	{adapterDeployment, "spec.template.spec.containers[0].ports", true, "the unprivileged serving port 10250, named https"},
	{adapterDeployment, "spec.template.spec.containers[0].readinessProbe.httpGet.port", true, "the named port"},
	{adapterDeployment, "spec.template.spec.containers[0].securityContext", true, "no privilege escalation, no capabilities, read-only root"},
	{adapterDeployment, "spec.template.spec.containers[0].volumeMounts", true, "the certificate's emptyDir"},
	{adapterDeployment, "spec.template.spec.volumes", true, "the certificate's emptyDir"},
	{adapterDeployment, "spec.template.spec.securityContext", true, "non-root user 65532, seccomp RuntimeDefault"},
	{"Service custom-metrics/custom-metrics-stackdriver-adapter", "spec.ports[0].targetPort", true, "the named port"},
	{"NetworkPolicy custom-metrics/custom-metrics-stackdriver-adapter", "", true, "the adapter's traffic, limited"},
}

// TestAdapterMatchesUpstream compares the generated adapter stack, object by
// object and field by field, with upstream's manifest, in both shapes.
func TestAdapterMatchesUpstream(t *testing.T) {
	upstream := readUpstream(t)
	for _, hardened := range []bool{false, true} {
		t.Run(fmt.Sprintf("hardening=%t", hardened), func(t *testing.T) {
			ours := objectMaps(t, builtAdapter(hardened, false))
			unlisted, stale := checkDeltas(diffStacks(upstream, ours), hardened)
			for _, d := range unlisted {
				t.Errorf("differs from upstream and is not an intended delta: %s", d)
			}
			for _, d := range stale {
				t.Errorf("intended delta %s %s (%s) no longer differs; remove it from intendedDeltas", d.object, d.path, d.why)
			}
		})
	}
}

// TestDriftCheckCatchesAnUnlistedChange shows the comparison can fail: an
// operator: Exists toleration, a changed probe and an extra rule are each reported.
func TestDriftCheckCatchesAnUnlistedChange(t *testing.T) {
	upstream := readUpstream(t)
	objs := builtAdapter(false, false)
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			o.Spec.Template.Spec.Tolerations[0] = corev1.Toleration{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
			o.Spec.Template.Spec.Containers[0].ReadinessProbe.TimeoutSeconds = 1
		case *rbacv1.ClusterRole:
			o.Rules = append(o.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
		}
	}
	unlisted, _ := checkDeltas(diffStacks(upstream, objectMaps(t, objs)), false)
	want := []string{
		"ClusterRole custom-metrics-resource-reader rules",
		adapterDeployment + " spec.template.spec.containers[0].readinessProbe.timeoutSeconds",
		adapterDeployment + " spec.template.spec.tolerations[0].operator",
		adapterDeployment + " spec.template.spec.tolerations[0].value",
	}
	var got []string
	for _, d := range unlisted {
		got = append(got, d.where())
	}
	if !slices.Equal(got, want) {
		t.Errorf("unlisted differences %q, want %q", got, want)
	}
}

// TestExternalMetricsOnRequest: with spec.adapter.externalMetrics the stack has
// upstream's external metrics objects, unchanged.
func TestExternalMetricsOnRequest(t *testing.T) {
	upstream := readUpstream(t)
	ours := objectMaps(t, builtAdapter(false, true))
	for _, id := range []string{"APIService v1beta1.external.metrics.k8s.io", "ClusterRole external-metrics-reader", "ClusterRoleBinding external-metrics-reader"} {
		if !reflect.DeepEqual(ours[id], upstream[id]) {
			t.Errorf("%s with externalMetrics: true differs from upstream's:\n%v\n%v", id, ours[id], upstream[id])
		}
	}
}

// TestUpstreamTolerations ports upstream's check of its manifests
// (custom-metrics-stackdriver-adapter/yaml_test.go, checkTolerations) to the
// generated Deployment in both shapes, and to upstream's manifest itself: GKE
// Autopilot admits an adapter that tolerates the GPU and TPU taints only with
// operator Equal and value "present".
func TestUpstreamTolerations(t *testing.T) {
	var deployments []*appsv1.Deployment
	for _, hardened := range []bool{false, true} {
		for _, o := range builtAdapter(hardened, false) {
			if d, ok := o.(*appsv1.Deployment); ok {
				deployments = append(deployments, d)
			}
		}
	}
	var fromUpstream appsv1.Deployment
	if err := json.Unmarshal(mustJSON(t, readUpstream(t)[adapterDeployment]), &fromUpstream); err != nil {
		t.Fatal(err)
	}
	deployments = append(deployments, &fromUpstream)
	for i, d := range deployments {
		gpu, tpu := false, false
		for _, tol := range d.Spec.Template.Spec.Tolerations {
			if tol.Key == "nvidia.com/gpu" && tol.Operator == "Equal" && tol.Value == "present" && tol.Effect == "NoSchedule" {
				gpu = true
			}
			if tol.Key == "cloud.google.com/gke-tpu" && tol.Operator == "Equal" && tol.Value == "present" && tol.Effect == "NoSchedule" {
				tpu = true
			}
			if tol.Operator == corev1.TolerationOpExists {
				t.Errorf("deployment %d: toleration %+v uses operator Exists, which Autopilot refuses for a pod that requests no GPU", i, tol)
			}
		}
		if !gpu {
			t.Errorf("deployment %d is missing the GPU toleration", i)
		}
		if !tpu {
			t.Errorf("deployment %d is missing the TPU toleration", i)
		}
	}
}

// finding is one difference between upstream's object and ours.
type finding struct {
	object, path     string
	upstream, ours   any
	onlyUs, onlyThem bool
}

func (f finding) where() string {
	if f.path == "" {
		return f.object
	}
	return f.object + " " + f.path
}

func (f finding) String() string {
	switch {
	case f.onlyUs:
		return f.object + " is generated, and upstream has no such object"
	case f.onlyThem:
		return f.object + " is in upstream's manifest and not generated"
	}
	return fmt.Sprintf("%s: upstream %v, generated %v", f.where(), f.upstream, f.ours)
}

// checkDeltas splits findings into those no intended delta of the shape covers
// and lists the intended deltas of the shape that covered none.
func checkDeltas(findings []finding, hardened bool) (unlisted []finding, stale []delta) {
	used := map[int]bool{}
	for _, f := range findings {
		covered := false
		for i, d := range intendedDeltas {
			if d.hardened && !hardened || d.object != f.object {
				continue
			}
			if d.path == f.path || d.path != "" && (strings.HasPrefix(f.path, d.path+".") || strings.HasPrefix(f.path, d.path+"[")) {
				covered, used[i] = true, true
			}
		}
		if !covered {
			unlisted = append(unlisted, f)
		}
	}
	for i, d := range intendedDeltas {
		if !used[i] && (hardened || !d.hardened) {
			stale = append(stale, d)
		}
	}
	return unlisted, stale
}

// diffStacks compares two stacks object by object, sorted by object.
func diffStacks(upstream, ours map[string]map[string]any) []finding {
	var out []finding
	for _, id := range slices.Sorted(maps.Keys(upstream)) {
		o, ok := ours[id]
		if !ok {
			out = append(out, finding{object: id, onlyThem: true})
			continue
		}
		out = append(out, diffValues(id, "", upstream[id], o)...)
	}
	for _, id := range slices.Sorted(maps.Keys(ours)) {
		if _, ok := upstream[id]; !ok {
			out = append(out, finding{object: id, onlyUs: true})
		}
	}
	return out
}

// diffValues lists the paths at which two decoded JSON values differ: maps key by
// key, lists of one length element by element, anything else as a whole.
func diffValues(object, path string, a, b any) []finding {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch a := a.(type) {
	case map[string]any:
		if b, ok := b.(map[string]any); ok {
			var out []finding
			keys := slices.Sorted(maps.Keys(a))
			for k := range b {
				if _, ok := a[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				out = append(out, diffValues(object, join(k), a[k], b[k])...)
			}
			return out
		}
	case []any:
		if b, ok := b.([]any); ok && len(a) == len(b) {
			var out []finding
			for i := range a {
				out = append(out, diffValues(object, fmt.Sprintf("%s[%d]", path, i), a[i], b[i])...)
			}
			return out
		}
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []finding{{object: object, path: path, upstream: a, ours: b}}
}

// builtAdapter is BuildAdapter for a defaulted config.
func builtAdapter(hardening, externalMetrics bool) []any {
	c := &v1alpha1.VLLMHPAConfig{Spec: v1alpha1.VLLMHPAConfigSpec{Adapter: &v1alpha1.Adapter{Hardening: &hardening, ExternalMetrics: &externalMetrics}}}
	c.Default()
	return manifests.BuildAdapter(c.Spec.Adapter)
}

// objectMaps keys typed objects by "Kind [namespace/]name", each as the JSON
// its typed value writes.
func objectMaps(t *testing.T, objs []any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		var m map[string]any
		if err := json.Unmarshal(mustJSON(t, o), &m); err != nil {
			t.Fatal(err)
		}
		out[objectID(m)] = m
	}
	return out
}

// readUpstream decodes each document of upstream's manifest into the typed value
// of its kind and back, so that both sides are written by the same types: YAML
// quoting and field order do not count, values do.
func readUpstream(t *testing.T) map[string]map[string]any {
	t.Helper()
	dir := os.Getenv("VLLMHPA_UPSTREAM_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "upstream", "k8s-stackdriver")
	}
	raw, err := os.ReadFile(filepath.Join(dir, upstreamManifest))
	if err != nil {
		t.Fatalf("upstream's adapter manifest is needed to compare with (GoogleCloudPlatform/k8s-stackdriver, custom-metrics-stackdriver-adapter/deploy/production/%s; set VLLMHPA_UPSTREAM_DIR): %v", upstreamManifest, err)
	}
	typed := map[string]func() any{
		"Namespace": func() any { return &corev1.Namespace{} }, "ServiceAccount": func() any { return &corev1.ServiceAccount{} },
		"Service": func() any { return &corev1.Service{} }, "Deployment": func() any { return &appsv1.Deployment{} },
		"ClusterRole": func() any { return &rbacv1.ClusterRole{} }, "ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
		"RoleBinding": func() any { return &rbacv1.RoleBinding{} }, "APIService": func() any { return &apiregv1.APIService{} },
	}
	var objs []any
	for _, doc := range strings.Split(string(raw), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatal(err)
		}
		newObj, ok := typed[tm.Kind]
		if !ok {
			t.Fatalf("upstream's manifest has a %s, which this comparison does not know", tm.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("upstream %s: %v", tm.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objectMaps(t, objs)
}

func objectID(m map[string]any) string {
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprint(m["kind"]) + " " + name
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
