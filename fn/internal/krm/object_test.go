package krm_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/randfill"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// everyObject is every object the function builds, for both strategies.
func everyObject(t testing.TB) []any {
	t.Helper()
	var configs []*v1alpha1.VLLMHPAConfig
	for _, s := range []v1alpha1.Strategy{v1alpha1.StrategyVLLM, v1alpha1.StrategyGPU} {
		c := &v1alpha1.VLLMHPAConfig{}
		c.Name, c.Namespace = "model-"+string(s), "default"
		c.Spec.Strategy = s
		c.Spec.ScaleTargetRef.Name = "vllm-" + string(s)
		c.Spec.MaxReplicas = 5
		c.Spec.PodSelector = map[string]string{"app": "vllm-" + string(s)}
		c.Default()
		configs = append(configs, c)
	}
	var out []any
	for _, o := range manifests.Build(configs) {
		out = append(out, o.Value)
	}
	if len(out) == 0 {
		t.Fatal("manifests.Build built nothing")
	}
	return out
}

func fromTyped(t *testing.T, v any) string {
	t.Helper()
	o, err := krm.FromTyped(v)
	if err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	return o.String()
}

// TestFromTypedKeepsStructOrder: fields come in the struct's order, as kubectl
// prints them (scaleTargetRef before minReplicas, name before namespace), with
// apiVersion ahead of kind; map keys are sorted, as encoding/json writes them.
func TestFromTypedKeepsStructOrder(t *testing.T) {
	minReplicas, window := int32(1), int32(300)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "gemma", Namespace: "default", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "vllm"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    5,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window},
			},
		},
	}
	want := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: gemma
  namespace: default
  labels:
    a: "1"
    b: "2"
spec:
  scaleTargetRef:
    kind: Deployment
    name: vllm
    apiVersion: apps/v1
  minReplicas: 1
  maxReplicas: 5
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
`
	if got := fromTyped(t, hpa); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestFromTypedLeavesOutServerFields: status, creationTimestamp and the empty
// structs typed values always carry (a Namespace's spec, a Deployment's
// strategy) are not written.
func TestFromTypedLeavesOutServerFields(t *testing.T) {
	ns := &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: "custom-metrics", CreationTimestamp: metav1.Now()},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	want := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: custom-metrics\n"
	if got := fromTyped(t, ns); got != want {
		t.Errorf("Namespace: got:\n%s\nwant:\n%s", got, want)
	}
	replicas := int32(2)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
	}
	if got := fromTyped(t, d); strings.Contains(got, "strategy") || strings.Contains(got, "status") || !strings.Contains(got, "replicas: 2") {
		t.Errorf("Deployment: want replicas and no strategy or status, got:\n%s", got)
	}
}

// TestFromTypedKeepsTrickyScalars covers values whose YAML form depends on the
// node's tag: strings that read as other types stay quoted, numbers stay bare,
// escapes and line breaks survive.
func TestFromTypedKeepsTrickyScalars(t *testing.T) {
	v := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"data": map[string]any{
			"int": "4", "bool": "true", "null": "null", "float": "0.5", "empty": "",
			"escapes": "a\"b\\c", "colon": "vllm:num_requests_running",
			"multiline": "line one\nline two\n",
		},
		"numbers": []any{0, -3, 2.5, 1e21, 1e-7, uint64(math.MaxUint64), 1234567890123, true, false, nil},
	}
	want := `apiVersion: v1
data:
  bool: "true"
  colon: vllm:num_requests_running
  empty: ""
  escapes: a"b\c
  float: "0.5"
  int: "4"
  multiline: |
    line one
    line two
  "null": "null"
kind: ConfigMap
numbers:
- 0
- -3
- 2.5
- 1e+21
- 1e-7
- 18446744073709551615
- 1234567890123
- true
- false
- null
`
	if got := fromTyped(t, v); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestFromTypedRejects: a value that is not an object, or that encoding/json
// cannot write, is an error, not an empty object.
func TestFromTypedRejects(t *testing.T) {
	for name, v := range map[string]any{
		"list":        []string{"x"},
		"nil pointer": (*appsv1.Deployment)(nil),
		"NaN":         map[string]any{"f": math.NaN()},
	} {
		if o, err := krm.FromTyped(v); err == nil {
			t.Errorf("%s: no error, got:\n%s", name, o.String())
		}
	}
}

// TestFromTypedEveryObject: each object the function builds converts, opens
// with apiVersion and kind, and carries no status.
func TestFromTypedEveryObject(t *testing.T) {
	for _, v := range everyObject(t) {
		got := fromTyped(t, v)
		if !strings.HasPrefix(got, "apiVersion: ") || !strings.Contains(got, "\nkind: ") || strings.Contains(got, "\nstatus:") {
			t.Errorf("%T:\n%s", v, got)
		}
	}
}

// TestFromTypedReadsJSONAsTheYAMLParserDoes holds FromTyped to the YAML
// parser's reading of the same JSON (which YAML is), on every object the
// function builds, on values whose quoting depends on their tags, and on random
// objects of every kind the function builds, whose types reach most of
// k8s.io/api's core types. The seed is fixed, so a failure repeats.
func TestFromTypedReadsJSONAsTheYAMLParserDoes(t *testing.T) {
	values := everyObject(t)
	values = append(values, map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"data": map[string]any{
			"int": "4", "bool": "true", "null": "null", "tilde": "~", "hex": "0x1F", "exp": "1e3", "yes": "yes",
			"escapes": "a\"b\\c\n\t<&>\u2028é", "invalid": "a\xffb", "lead": " x", "colon": "a: b", "dash": "- x",
			"comment": "#c", "multiline": "line one\nline two\n", "empty": "",
		},
		"numbers": []any{0, -3, 2.5, 1e21, 1e20, 1e-7, 1e-6, -2.5, math.MaxFloat64, math.SmallestNonzeroFloat64,
			uint64(math.MaxUint64), int64(math.MinInt64), true, false, nil},
		"nested": map[string]any{"empty": map[string]any{}, "list": []any{}, "deep": []any{[]any{map[string]any{"a": nil}}}},
	})
	f := randfill.NewWithSeed(1).NilChance(0.3).NumElements(0, 3).MaxDepth(12).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = resource.MustParse([]string{"0", "250m", "1Gi", "1.5", "100M", "2e3"}[c.Intn(6)])
		},
		func(i *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*i = intstr.FromInt32(c.Int31())
			} else {
				*i = intstr.FromString(c.String(0))
			}
		},
		func(r *runtime.RawExtension, c randfill.Continue) {
			r.Raw = []byte(fmt.Sprintf(`{"n": %d, "f": %d.5}`, c.Intn(100), c.Intn(100)))
		},
		func(fv *metav1.FieldsV1, c randfill.Continue) {
			fv.Raw = []byte(fmt.Sprintf(`{"f:n%d": {}}`, c.Intn(10)))
		},
		func(tm *metav1.Time, c randfill.Continue) {
			if c.Bool() {
				*tm = metav1.NewTime(time.Unix(c.Int63n(1<<32), 0).UTC())
			}
		},
	)
	for range 40 {
		for _, obj := range []any{
			&appsv1.Deployment{}, &autoscalingv2.HorizontalPodAutoscaler{}, &corev1.Service{},
			&corev1.ServiceAccount{}, &corev1.Namespace{}, &rbacv1.ClusterRole{}, &rbacv1.RoleBinding{},
			&networkingv1.NetworkPolicy{}, &apiregv1.APIService{},
			&gmp.PodMonitoring{}, &gmp.ClusterPodMonitoring{}, &gmp.ClusterRules{},
		} {
			f.Fill(obj)
			b, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, json.RawMessage(b))
		}
	}
	for _, v := range values {
		got, err := krm.FromTyped(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if want := viaYAMLParser(t, v); got.String() != want {
			t.Fatalf("%T differs from the YAML parser's reading:\n--- got\n%s\n--- want\n%s", v, got.String(), want)
		}
	}
}

// viaYAMLParser is FromTyped with the JSON read by the YAML parser.
func viaYAMLParser(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	node := doc.Content[0]
	blockStyle(node)
	c := node.Content
	if len(c) >= 4 && c[0].Value == "kind" && c[2].Value == "apiVersion" {
		c[0], c[1], c[2], c[3] = c[2], c[3], c[0], c[1]
	}
	rn := yaml.NewRNode(node)
	if err := rn.PipeE(yaml.Clear("status")); err != nil {
		t.Fatal(err)
	}
	if err := rn.PipeE(yaml.Lookup("metadata"), yaml.Clear("creationTimestamp")); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"spec", "strategy"}, {"spec"}} {
		field, err := rn.Pipe(yaml.Lookup(path...))
		if err != nil {
			t.Fatal(err)
		}
		if field != nil && field.YNode().Kind == yaml.MappingNode && len(field.Content()) == 0 {
			parent, _ := rn.Pipe(yaml.Lookup(path[:len(path)-1]...))
			if _, err := parent.Pipe(yaml.Clear(path[len(path)-1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fn.MoveToKubeObject(rn).String()
}

// blockStyle drops JSON's flow style and double quotes; the tags still decide
// the quoting.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// BenchmarkFromTyped converts every object of both strategies, as one run of the
// function in generator mode does.
func BenchmarkFromTyped(b *testing.B) {
	objects := everyObject(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range objects {
			if _, err := krm.FromTyped(v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
