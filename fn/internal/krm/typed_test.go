package krm_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

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
	"sigs.k8s.io/randfill"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
)

type inner struct {
	A string `json:"a,omitempty"`
	B int    `json:"b"`
}

// clash embeds nothing but names two fields alike: encoding/json keeps the
// tagged one.
type clash struct {
	X string
	Y string `json:"X"`
	C string `json:"c"`
}

type Embedded struct {
	E1       string `json:"e1"`
	Shadowed string `json:"shadowed"`
	Top      string `json:"top"`
}

type Tagged struct {
	Shadowed string `json:"shadowed"`
	T        string
}

type textKey int

func (k textKey) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("k%02d", int(k))), nil }

type ptrMarshaler struct{ v string }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(`{"via": "pointer", "list": [1, 2.5, "x"], "v": "` + p.v + `"}`), nil
}

type valueText struct{}

func (valueText) MarshalText() ([]byte, error) { return []byte("as text"), nil }

type zeroable struct{ n int }

func (z zeroable) IsZero() bool { return z.n == 1 }

// everything holds a case of each rule of encoding/json that FromTyped follows.
type everything struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Embedded
	*Tagged
	Top         string `json:"top"`
	Skipped     string `json:"-"`
	Dash        string `json:"-,"`
	unexported  string //nolint:unused // encoding/json leaves it out
	NoTag       string
	BadTag      string   `json:"bad\"tag"`
	OmitEmpty   string   `json:",omitempty"`
	OmitZeroInt int      `json:"oz,omitempty"`
	KeptStruct  inner    `json:"keptStruct,omitempty"`
	OmitStruct  inner    `json:"omitStruct,omitzero"`
	OmitMethod  zeroable `json:"omitMethod,omitzero"`
	KeepMethod  zeroable `json:"keepMethod,omitzero"`
	Quoted      int      `json:"quoted,string"`
	QuotedStr   string   `json:"quotedStr,string"`
	QuotedBool  bool     `json:"quotedBool,string"`
	NilSlice    []string
	EmptySlice  []string
	NilMap      map[string]int
	Bytes       []byte
	Array       [2]uint8
	IntKeys     map[int]string
	TextKeys    map[textKey]int
	Ptr         *inner
	NilPtr      *inner
	Iface       any
	NilIface    any
	PtrMarshal  ptrMarshaler
	Text        valueText
	Floats      []float64
	Float32     float32
	Uint        uint64
	Invalid     string
	Looks       []string
	Time        metav1.Time
	NoTime      metav1.Time `json:"noTime,omitempty"`
	Duration    metav1.Duration
	Quantity    resource.Quantity
	Port        intstr.IntOrString
	PortName    intstr.IntOrString
	Raw         runtime.RawExtension
	Clash       clash
	Status      inner `json:"status"`
}

func everythingValue() everything {
	return everything{
		APIVersion: "example.com/v1", Kind: "Everything",
		Embedded: Embedded{E1: "e1", Shadowed: "hidden", Top: "hidden"},
		Tagged:   &Tagged{Shadowed: "hidden too", T: "t"},
		Top:      "top", Skipped: "skipped", Dash: "dash", unexported: "x", NoTag: "no tag", BadTag: "bad",
		KeepMethod: zeroable{n: 2}, OmitMethod: zeroable{n: 1},
		Quoted: 42, QuotedStr: "q", QuotedBool: true,
		EmptySlice: []string{}, Bytes: []byte("hello\x00"), Array: [2]uint8{1, 2},
		IntKeys:  map[int]string{10: "ten", 9: "nine", -1: "minus"},
		TextKeys: map[textKey]int{3: 3, 1: 1},
		Ptr:      &inner{A: "a"}, Iface: map[string]any{"z": 1, "a": []any{true, nil, "s"}},
		PtrMarshal: ptrMarshaler{v: "v"},
		Floats:     []float64{0, 5, 0.1, 1e21, 1e20, 1e-7, 1e-6, -2.5, 123456789, math.MaxFloat64, math.SmallestNonzeroFloat64},
		Float32:    0.1, Uint: math.MaxUint64,
		Invalid:  "a\xffb\xc0",
		Looks:    []string{"4", "true", "null", "~", "0x1F", "1e3", "", " lead", "yes", "a: b", "- x", "#c", "multi\nline\n"},
		Time:     metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
		Duration: metav1.Duration{Duration: 90 * time.Second},
		Quantity: resource.MustParse("250m"), Port: intstr.FromInt32(8080), PortName: intstr.FromString("metrics"),
		Raw:    runtime.RawExtension{Raw: []byte(`{"b": [1, {"c": null}], "a": "x"}`)},
		Clash:  clash{X: "untagged", Y: "tagged", C: "c"},
		Status: inner{B: 1},
	}
}

// TestFromTypedFollowsEncodingJSON checks each rule on a struct that holds all
// of them, reached through a pointer (addressable, as the builders pass their
// objects) and as a plain value.
func TestFromTypedFollowsEncodingJSON(t *testing.T) {
	v := everythingValue()
	for name, obj := range map[string]any{"pointer": &v, "value": v} {
		got, err := krm.FromTyped(obj)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := viaYAMLParser(t, obj); got.String() != want {
			t.Errorf("%s: differs from encoding/json read by the YAML parser:\n--- got\n%s\n--- want\n%s", name, got.String(), want)
		}
	}
}

// TestFromTypedRandomObjects compares FromTyped with encoding/json on random
// objects of every kind the function builds, whose types reach most of
// k8s.io/api's core types. The seed is fixed, so a failure repeats.
func TestFromTypedRandomObjects(t *testing.T) {
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
			r.Raw = []byte(fmt.Sprintf(`{"n": %d}`, c.Intn(100)))
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
	for i := range 40 {
		for _, obj := range []any{
			&appsv1.Deployment{}, &autoscalingv2.HorizontalPodAutoscaler{}, &corev1.Service{},
			&corev1.ServiceAccount{}, &corev1.Namespace{}, &rbacv1.ClusterRole{}, &rbacv1.RoleBinding{},
			&networkingv1.NetworkPolicy{}, &apiregv1.APIService{},
			&gmp.PodMonitoring{}, &gmp.ClusterPodMonitoring{}, &gmp.ClusterRules{},
		} {
			f.Fill(obj)
			got, err := krm.FromTyped(obj)
			if _, jsonErr := json.Marshal(obj); jsonErr != nil || err != nil {
				if (jsonErr == nil) != (err == nil) {
					t.Fatalf("round %d, %T: FromTyped error %v, encoding/json error %v", i, obj, err, jsonErr)
				}
				continue
			}
			if want := viaYAMLParser(t, obj); got.String() != want {
				t.Fatalf("round %d, %T differs from encoding/json read by the YAML parser:\n--- got\n%s\n--- want\n%s", i, obj, got.String(), want)
			}
		}
	}
}
